"""Outputs never replace what gmgclim did not write (issue 15).

``-o``/``--to``/``output.dir`` onto a regular file, a foreign directory or store, ``.`` or the run
directory is refused with exit 2 and one line naming the path; nothing is deleted or changed.
``--overwrite`` replaces only a gmgclim forecast store; an unfinished one still resumes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from safety_helpers import error_line, tiny_recipe, write_recipe

from gmgclim.errors import OutputPathError
from gmgclim.outputs import (
    MARKER_FILE,
    STORE_ATTR,
    check_output_path,
    gmgclim_kind,
    remove_stale_temporaries,
)
from gmgclim.testing import mock_gridded_dataset


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes): what must survive a refusal."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _foreign_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.txt").write_text("three years of work\n")
    return folder


def _foreign_zarr(tmp_path: Path) -> Path:
    path = tmp_path / "era5.zarr"
    mock_gridded_dataset(periods=3, n_lat=4, n_lon=8).to_zarr(path, zarr_format=2)
    return path


FORECAST_TARGETS = ["run_dir", "cwd", "file", "foreign_dir", "foreign_zarr", "symlink_to_file"]


def _target(kind: str, tmp_path: Path, run: Path, monkeypatch) -> tuple[str, Path]:
    """(the -o argument, the folder whose files must survive)."""
    if kind == "run_dir":
        return str(run), run
    if kind == "cwd":
        here = tmp_path / "project"
        here.mkdir()
        (here / "recipe.yaml").write_text("data: {}\n")
        monkeypatch.chdir(here)
        return ".", here
    if kind == "file":
        path = tmp_path / "forecasts.zarr"
        path.write_text("not a store\n")
        return str(path), tmp_path
    if kind == "foreign_dir":
        return str(_foreign_dir(tmp_path)), tmp_path
    if kind == "foreign_zarr":
        return str(_foreign_zarr(tmp_path)), tmp_path
    if kind == "symlink_to_file":
        real = tmp_path / "real.txt"
        real.write_text("keep\n")
        os.symlink(real, tmp_path / "link.zarr")
        return str(tmp_path / "link.zarr"), tmp_path
    raise AssertionError(kind)


@pytest.mark.parametrize("overwrite", [False, True], ids=["resume", "overwrite"])
@pytest.mark.parametrize("kind", FORECAST_TARGETS)
def test_forecast_refuses_what_gmgclim_did_not_write(
    kind, overwrite, cli, run_copy, tmp_path, monkeypatch
):
    run = run_copy
    arg, keep = _target(kind, tmp_path, run, monkeypatch)
    before, run_before = _snapshot(keep), _snapshot(run)
    args = ["forecast", str(run), "-o", arg, "--no-progress"]
    code, out, err = cli(*args, *(["--overwrite"] if overwrite else []))
    assert code == 2, (out, err)
    line = error_line(err)
    assert arg in line and "expected a new path or an existing gmgclim forecast store" in line
    assert _snapshot(keep) == before
    assert _snapshot(run) == run_before


@pytest.mark.parametrize("kind", ["file", "foreign_dir", "foreign_zarr", "cwd"])
def test_extrapolation_forecast_refuses_foreign_paths(kind, cli, run_copy, tmp_path, monkeypatch):
    arg, keep = _target(kind, tmp_path, run_copy, monkeypatch)
    before = _snapshot(keep)
    code, _, err = cli("forecast", "era5-uk-t2m", "--model", "extrapolation", "-o", arg)
    assert code == 2
    assert arg in error_line(err)
    assert _snapshot(keep) == before


def test_forecast_store_is_marked_resumed_and_replaced(cli, run_copy, tmp_path):
    store = tmp_path / "fc.zarr"
    code, out, err = cli("forecast", str(run_copy), "-o", str(store), "--no-progress")
    assert code == 0, err
    assert gmgclim_kind(store) == "forecast"
    assert xr.open_zarr(store).attrs[STORE_ATTR]["kind"] == "forecast"
    first = xr.open_zarr(store).load()
    code, out, _ = cli("forecast", str(run_copy), "-o", str(store), "--no-progress")
    assert code == 0 and "0 written now" in out
    code, out, _ = cli("forecast", str(run_copy), "-o", str(store), "--overwrite", "--no-progress")
    assert code == 0 and "0 already there" in out
    xr.testing.assert_equal(first, xr.open_zarr(store).load())  # history differs


def test_an_empty_directory_is_used(cli, run_copy, tmp_path):
    store = tmp_path / "empty.zarr"
    store.mkdir()
    code, _, err = cli("forecast", str(run_copy), "-o", str(store), "--no-progress")
    assert code == 0, err
    assert gmgclim_kind(store) == "forecast"


def test_a_legacy_forecast_store_without_the_marker_still_resumes(cli, run_copy, tmp_path):
    store = tmp_path / "old.zarr"
    assert cli("forecast", str(run_copy), "-o", str(store), "--no-progress")[0] == 0
    import zarr

    group = zarr.open_group(store, mode="r+", zarr_format=2)
    del group.attrs[STORE_ATTR]
    zarr.consolidate_metadata(str(store))
    assert gmgclim_kind(store) == "forecast"  # recognised by its init_written coordinate
    code, out, _ = cli("forecast", str(run_copy), "-o", str(store), "--no-progress")
    assert code == 0 and "0 written now" in out


def test_run_directory_carries_its_marker(run_copy):
    assert (run_copy / MARKER_FILE).is_file()
    assert gmgclim_kind(run_copy) == "run"


@pytest.mark.parametrize("kind", ["file", "foreign_dir", "cwd", "forecast_store"])
def test_training_refuses_an_output_dir_it_did_not_write(kind, cli, tmp_path, monkeypatch):
    if kind == "file":
        target = tmp_path / "run"
        target.write_text("a file\n")
        arg, keep = str(target), tmp_path
    elif kind == "foreign_dir":
        arg, keep = str(_foreign_dir(tmp_path)), tmp_path
    elif kind == "forecast_store":
        store = tmp_path / "fc.zarr"
        (store / "init_written").mkdir(parents=True)
        (store / ".zgroup").write_text('{"zarr_format": 2}')
        (store / ".zattrs").write_text("{}")
        arg, keep = str(store), tmp_path
    else:
        here = tmp_path / "project"
        here.mkdir()
        (here / "notes.txt").write_text("mine\n")
        monkeypatch.chdir(here)
        arg, keep = ".", here
    recipe = write_recipe(tmp_path / "r.yaml", tiny_recipe(Path("unused")))
    before = _snapshot(keep)
    code, _, err = cli("train", str(recipe), "--set", f"output.dir={arg}", "--no-progress")
    assert code == 2
    line = error_line(err)
    assert "output.dir" in line and arg in line and "gmgclim run directory" in line
    assert _snapshot(keep) == before


@pytest.mark.parametrize("kind", ["file", "foreign_dir", "forecast_store", "cwd"])
def test_prepare_zarr_refuses_foreign_paths(kind, tmp_path, monkeypatch):
    from gmgclim.data.gridded import prepare_zarr

    ds = mock_gridded_dataset(periods=3, n_lat=4, n_lon=8)
    if kind == "file":
        target = tmp_path / "x.zarr"
        target.write_text("a file\n")
    elif kind == "foreign_dir":
        target = _foreign_dir(tmp_path)
    elif kind == "forecast_store":
        target = tmp_path / "fc.zarr"
        (target / "init_written").mkdir(parents=True)
        (target / ".zgroup").write_text('{"zarr_format": 2}')
        (target / ".zattrs").write_text("{}")
    else:
        monkeypatch.chdir(tmp_path)
        target = Path(".")
    before = _snapshot(tmp_path)
    with pytest.raises(OutputPathError, match=f"--to {target}"):
        prepare_zarr(ds, target)
    assert _snapshot(tmp_path) == before


def test_prepare_zarr_replaces_its_own_store(tmp_path):
    from gmgclim.data.gridded import prepare_zarr

    ds = mock_gridded_dataset(periods=3, n_lat=4, n_lon=8)
    path = prepare_zarr(ds, tmp_path / "p.zarr")
    assert gmgclim_kind(path) == "prepared"
    prepare_zarr(ds.isel(time=slice(0, 2)), path)
    assert xr.open_zarr(path, consolidated=False).sizes["time"] == 2


def test_check_output_path_rules(tmp_path):
    assert check_output_path(tmp_path / "new", "forecast") is False
    assert check_output_path("s3://bucket/fc.zarr", "forecast") is False
    with pytest.raises(OutputPathError, match="a regular file"):
        (tmp_path / "f").write_text("x")
        check_output_path(tmp_path / "f", "forecast", "-o")


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "fc.zarr"
    dead = tmp_path / ".fc.zarr.tmp-999999999-abcd1234"
    legacy = tmp_path / ".fc.zarr.tmp-deadbeef"
    live = tmp_path / f".fc.zarr.tmp-{os.getpid()}-abcd1234"
    for folder in (dead, legacy, live):
        (folder / "sub").mkdir(parents=True)
    other = tmp_path / ".other.zarr.tmp-999999999"
    other.write_text("not ours\n")
    removed = remove_stale_temporaries(target)
    assert sorted(removed) == sorted([dead, legacy])
    assert live.exists() and other.exists()
    assert np.all([not dead.exists(), not legacy.exists()])
