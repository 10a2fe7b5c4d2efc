"""Checkpoints: weights_only round trip, atomic writes, clear errors for missing or corrupt files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from gmgclim.errors import CheckpointError
from gmgclim.models import checkpoint as ckpt_mod
from gmgclim.models.checkpoint import (
    Checkpoint,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from gmgclim.training.rng import capture_rng_state, restore_rng_state


def _checkpoint(step: int = 3, size: int = 4) -> Checkpoint:
    return Checkpoint(
        model_name="gmg",
        model_config={"in_channels": 1, "num_hidden": [8, 8]},
        task={"channels": ["t2m"], "step": "6h", "input_steps": 2, "output_steps": 3},
        normalization={"channels": ["t2m"], "mean": [280.0], "std": [5.0]},
        model_state={"weight": torch.full((size,), float(step))},
        optimizer_state={"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]},
        step=step,
        rng_state=capture_rng_state(),
        recipe={"training": {"lr": 0.1}},
    )


def test_round_trip_with_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoints" / "latest.pt", _checkpoint())
    loaded = load_checkpoint(path)
    assert loaded.step == 3 and loaded["model_name"] == "gmg"
    assert torch.equal(loaded.model_state["weight"], torch.full((4,), 3.0))
    assert loaded.task["step"] == "6h"
    assert loaded.gmgclim_version
    # the run directory form finds checkpoints/latest.pt
    assert load_checkpoint(tmp_path).step == 3
    assert find_checkpoint(tmp_path) == path
    assert find_checkpoint(tmp_path, "best") is None
    assert [p.name for p in path.parent.iterdir()] == ["latest.pt"]  # no temp file left


def test_rng_state_round_trip(tmp_path):
    import random

    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 (the checkpoint saves the legacy global state)
    random.seed(1)
    save_checkpoint(tmp_path / "c.pt", _checkpoint())
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    restore_rng_state(load_checkpoint(tmp_path / "c.pt").rng_state)
    assert torch.equal(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.rand(3), expected[1])  # noqa: NPY002
    assert random.random() == expected[2]


def test_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(CheckpointError, match="no checkpoint in run directory"):
        load_checkpoint(tmp_path)
    path = save_checkpoint(tmp_path / "c.pt", _checkpoint())
    data = path.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.pt cannot be read"):
        load_checkpoint(tmp_path / "truncated.pt")
    (tmp_path / "noise.pt").write_bytes(os.urandom(1000))
    with pytest.raises(CheckpointError, match=r"noise\.pt"):
        load_checkpoint(tmp_path / "noise.pt")
    torch.save({"weights": torch.ones(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="lacks fields"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = _checkpoint().to_dict()
    payload["recipe"] = Evil()
    torch.save(payload, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(tmp_path / "evil.pt")


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "latest.pt", _checkpoint(step=1))

    def broken_save(obj, fh):
        fh.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_mod.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _checkpoint(step=2))
    monkeypatch.undo()
    assert load_checkpoint(path).step == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt"]


WRITER = textwrap.dedent(
    """
    import sys, torch
    from gmgclim.models.checkpoint import Checkpoint, save_checkpoint
    path = sys.argv[1]
    step = 0
    while True:
        step += 1
        save_checkpoint(path, Checkpoint("gmg", {}, {}, {}, {"w": torch.full((500_000,), float(step))}, step=step))
        print(step, flush=True)
    """
)


def test_sigkill_during_writes_never_corrupts(tmp_path):
    """Kill a process that rewrites a 2 MB checkpoint in a loop at random moments; it stays whole."""
    path = tmp_path / "latest.pt"
    rng = np.random.default_rng(0)
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip()  # at least one checkpoint written
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = load_checkpoint(path)
        assert loaded.step >= 1
        assert torch.all(loaded.model_state["w"] == float(loaded.step))
