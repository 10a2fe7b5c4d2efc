"""A `gmgclim train` that fails before its first checkpoint leaves no half-made run folder behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gmgclim.cli import main
from gmgclim.training.run_dir import discard_failed_run, missing_dirs


def _tiny(tiny, run_dir: Path) -> tuple[Path, dict]:
    """The tiny training recipe (tests/training/conftest.py) with ``output.dir: run_dir``."""
    path = tiny("recipe")
    recipe = yaml.safe_load(path.read_text())
    recipe["output"]["dir"] = str(run_dir)
    return path, recipe


def _train_fails(recipe: dict, path: Path, capsys) -> str:
    """Run ``gmgclim train`` on ``recipe``; it must exit 2 with a one-line error. Returns it."""
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    with pytest.raises(SystemExit) as exc:
        main(["train", str(path), "--no-progress"])
    assert exc.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    return errors[0]


def test_unknown_entry_leaves_no_run_dir(tiny, tmp_path: Path, capsys):
    path, recipe = _tiny(tiny, tmp_path / "runs" / "unknown")
    recipe["data"]["entry"] = "no-such-entry"
    error = _train_fails(recipe, path, capsys)
    assert "no-such-entry" in error
    assert not (tmp_path / "runs").exists()


def test_empty_split_leaves_no_run_dir(tiny, tmp_path: Path, capsys):
    path, recipe = _tiny(tiny, tmp_path / "runs" / "empty")
    recipe["data"]["splits"]["valid"] = {"start": "2019-03-04T00", "end": "2019-03-04T01"}
    error = _train_fails(recipe, path, capsys)
    assert "data.splits.valid" in error and "no complete window" in error
    # the run directory and the parent this run created are gone
    assert not (tmp_path / "runs").exists()


def test_existing_run_dir_is_kept(tiny, tmp_path: Path, capsys):
    run_dir = tmp_path / "existing"
    run_dir.mkdir()
    path, recipe = _tiny(tiny, run_dir)
    recipe["data"]["splits"]["valid"] = {"start": "2019-03-04T00", "end": "2019-03-04T01"}
    _train_fails(recipe, path, capsys)
    assert run_dir.is_dir()


def _half_made_run(run_dir: Path) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / ".gmgclim").write_text(json.dumps({"kind": "run"}))
    (run_dir / "recipe.yaml").write_text("data: {}\n")
    (run_dir / "metrics.csv").write_text("step,epoch,split,metric,value\n")
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "latest.pt.tmp").write_bytes(b"")


def test_discard_removes_only_what_a_run_writes(tmp_path: Path):
    run_dir = tmp_path / "a" / "run"
    created = missing_dirs(run_dir)
    assert created == [run_dir.absolute(), (tmp_path / "a").absolute()]
    _half_made_run(run_dir)
    discard_failed_run(created)
    assert not (tmp_path / "a").exists()

    # a file the run did not write keeps the directory (and its parents)
    created = missing_dirs(run_dir)
    _half_made_run(run_dir)
    (run_dir / "notes.txt").write_text("mine")
    discard_failed_run(created)
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]


def test_discard_keeps_a_run_with_a_checkpoint(tmp_path: Path):
    run_dir = tmp_path / "run"
    created = missing_dirs(run_dir)
    _half_made_run(run_dir)
    (run_dir / "checkpoints" / "best.pt").write_bytes(b"x")
    discard_failed_run(created)
    assert (run_dir / "recipe.yaml").is_file()
    assert missing_dirs(run_dir) == []
