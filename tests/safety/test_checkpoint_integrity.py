"""Checkpoints are verified on load and a broken one falls back to the other of its run (issue 15).

Each broken file gives a CheckpointError (CLI: exit 2, one line) naming the file, never torch's
advice to load with ``weights_only=False``; a run whose ``latest.pt`` is broken forecasts and
resumes from ``best.pt`` (and back) with a one-line note on stderr.
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safety_helpers import error_line, tiny_recipe, write_recipe

from gmgclim.errors import CheckpointError
from gmgclim.models.checkpoint import (
    HASH_FIELD,
    load_checkpoint,
    save_checkpoint,
    weights_sha256,
)


def _weight_offset(path: Path) -> tuple[int, int]:
    """(file offset, size) of the largest tensor's bytes in a torch zip checkpoint."""
    with zipfile.ZipFile(path) as archive:
        info = max(
            (i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size
        )
    with open(path, "rb") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def _flip(path: Path, n_bytes: int = 64) -> None:
    offset, size = _weight_offset(path)
    data = bytearray(path.read_bytes())
    for i in range(min(n_bytes, size)):
        data[offset + i] ^= 0xFF
    path.write_bytes(bytes(data))


def _break(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "tail_cut":
        path.write_bytes(data[:-10])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif how == "bit_flip":
        _flip(path)
    elif how == "text":
        path.write_text("this is not a checkpoint\n")
    else:
        raise AssertionError(how)


BREAKS = ["empty", "truncated", "tail_cut", "garbage", "bit_flip", "text"]


@pytest.mark.parametrize("how", BREAKS)
def test_a_broken_checkpoint_is_an_error_naming_the_file(how, run_copy, tmp_path):
    path = tmp_path / "lonely.pt"
    path.write_bytes((run_copy / "checkpoints" / "latest.pt").read_bytes())
    _break(path, how)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "cannot be read" in message
    assert "weights_only" not in message and "likely succeed" not in message
    assert "\n" not in message


@pytest.mark.parametrize("how", ["empty", "bit_flip", "truncated"])
def test_cli_forecast_of_a_broken_file_exits_2_with_one_line(how, cli, run_copy, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes((run_copy / "checkpoints" / "latest.pt").read_bytes())
    _break(path, how)
    code, _, err = cli("forecast", str(path), "-o", str(tmp_path / "fc.zarr"), "--no-progress")
    assert code == 2
    assert str(path) in error_line(err)
    assert not (tmp_path / "fc.zarr").exists()


def test_flipped_weights_with_a_valid_crc_fail_the_stored_hash(run_copy, tmp_path):
    ckpt = load_checkpoint(run_copy / "checkpoints" / "latest.pt")
    payload = ckpt.to_dict()
    path = save_checkpoint(tmp_path / "c.pt", payload)
    # rewrite with changed weights but the old hash: a valid zip whose weights are wrong
    raw = torch.load(path, weights_only=True)
    name = next(iter(raw["model_state"]))
    raw["model_state"][name] = raw["model_state"][name] + 1.0
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match=r"c\.pt cannot be read: its weights do not match"):
        load_checkpoint(path)


def test_the_hash_is_stored_and_old_checkpoints_without_it_load(run_copy, tmp_path):
    raw = torch.load(run_copy / "checkpoints" / "latest.pt", weights_only=True)
    assert raw[HASH_FIELD] == weights_sha256(raw["model_state"])
    del raw[HASH_FIELD]
    torch.save(raw, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt").step == raw["step"]


def test_pickled_code_is_refused_without_torch_advice(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model_state": {}, "payload": Path("x")}, path)  # a class: needs full pickle
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "evil.pt" in str(info.value) and "weights_only" not in str(info.value)


@pytest.mark.parametrize("broken", ["latest.pt", "best.pt"])
def test_load_falls_back_to_the_other_checkpoint_with_a_note(broken, run_copy):
    _break(run_copy / "checkpoints" / broken, "bit_flip")
    notes: list[str] = []
    ckpt = load_checkpoint(run_copy / "checkpoints" / broken, note=notes.append)
    assert ckpt.model_state
    assert len(notes) == 1 and broken in notes[0] and "using" in notes[0]


def test_both_broken_names_both(run_copy):
    for name in ("latest.pt", "best.pt"):
        _break(run_copy / "checkpoints" / name, "empty")
    with pytest.raises(CheckpointError, match=r"latest\.pt.*best\.pt"):
        load_checkpoint(run_copy)


def test_forecast_falls_back_from_a_broken_best_to_latest(cli, run_copy, tmp_path):
    _break(run_copy / "checkpoints" / "best.pt", "truncated")
    code, _, err = cli("forecast", str(run_copy), "-o", str(tmp_path / "f.zarr"), "--no-progress")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "best.pt" in notes[0] and "latest.pt" in notes[0]


def test_training_resume_falls_back_and_removes_stale_temporaries(cli, run_copy, tmp_path):
    checkpoints = run_copy / "checkpoints"
    stale = checkpoints / ".latest.pt.tmp-999999999"
    stale.write_bytes(b"half a checkpoint")
    _break(checkpoints / "latest.pt", "empty")
    recipe = write_recipe(tmp_path / "r.yaml", tiny_recipe(run_copy, max_steps=3))
    code, _, err = cli("train", str(recipe), "--no-progress")
    assert code == 0, err
    assert any(line.startswith("note:") and "latest.pt" in line for line in err.splitlines())
    assert not stale.exists()
    assert load_checkpoint(checkpoints / "latest.pt", fallback=False).step == 3
