"""Shared fixtures of the model tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_single_thread():
    """Seed torch and run single-threaded.

    The models' tiny test sizes gain nothing from threads, and on a busy 2-core machine
    oversubscribed OpenMP threads make them 20x slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
