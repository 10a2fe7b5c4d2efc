"""A tiny, deterministic training task on the bundled ERA5 UK sample (an 8 x 8 crop, 2 -> 2 frames)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_recipe(run_dir: Path, **training) -> dict:
    """A recipe that trains a 2-layer, 8-channel GMG in well under a second per step on CPU."""
    recipe = {
        "data": {
            "entry": "era5-uk-t2m",
            "channels": ["t2m"],
            "step": "1h",
            "input_steps": 2,
            "output_steps": 2,
            "splits": {
                "train": {"start": "2019-03-01", "end": "2019-03-03"},
                "valid": {"start": "2019-03-04", "end": "2019-03-04"},
                "test": {"start": "2019-03-05", "end": "2019-03-05"},
            },
            "grid": {"crop": {"latitude": [10, 18], "longitude": [20, 28]}},
        },
        "model": {
            "name": "gmg",
            "config": {
                "patch_size": 2,
                "num_hidden": [8],
                "filter_size": 3,
                "att_hidden": 4,
                "multiscale_kernels": [1, 3],
            },
        },
        "training": {
            "max_steps": 6,
            "batch_size": 2,
            "lr": 3.0e-3,
            "schedule": "cosine",
            "warmup_steps": 2,
            "grad_clip": 1.0,
            "checkpoint_every": 3,
            "validate_every": 3,
            "validate_batches": 2,
            "log_every": 1,
            "loss": {"latitude_weighted": True},
            "device": "cpu",
            "seed": 1,
        },
        "output": {"dir": str(run_dir), "tensorboard": False},
    }
    recipe["training"].update(training)
    return recipe


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["GMGCLIM_NUM_THREADS"] = "1"
    return env


TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One intra-op thread: tiny models gain nothing from more, and a busy machine loses a lot."""
    monkeypatch.setenv("GMGCLIM_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny(tmp_path):
    """Factory: ``tiny(name, **training)`` -> path of a tiny recipe file with run dir tmp/name."""

    def make(name: str, **training) -> Path:
        return write_recipe(tmp_path / f"{name}.yaml", tiny_recipe(tmp_path / name, **training))

    return make
