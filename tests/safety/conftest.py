"""Shared pieces of the safety tests: one tiny trained run, and the CLI run in-process.

The run is trained once per session (2 steps of a 1-layer ConvLSTM on an 8 x 8 crop of the bundled
ERA5 UK sample, about a second on CPU); tests copy it before they break anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safety_helpers import tiny_recipe, write_recipe


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One intra-op thread: tiny models gain nothing from more, and a busy machine loses a lot."""
    monkeypatch.setenv("GMGCLIM_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A finished tiny run directory (checkpoints/latest.pt and best.pt); do not modify it."""
    from gmgclim.config import load_recipe
    from gmgclim.training import train

    base = tmp_path_factory.mktemp("safety_run")
    recipe = write_recipe(base / "tiny.yaml", tiny_recipe(base / "run"))
    return train(load_recipe(recipe), progress=False)


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A private copy of the trained run directory, free to break."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


@pytest.fixture
def cli(capsys):
    """``cli(*args)`` runs ``gmgclim ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from gmgclim.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main([*args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
