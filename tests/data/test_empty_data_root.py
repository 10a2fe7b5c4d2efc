"""An empty data root: one line naming the path searched, the layout expected and the download."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmgclim.cli import main
from gmgclim.data.catalog import open_entry
from gmgclim.data.gridded import expand_glob
from gmgclim.errors import DataError


def test_weatherbench_entry_on_empty_root(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GMGCLIM_DATA", str(tmp_path))
    root = tmp_path / "weatherbench1" / "5.625deg"
    with pytest.raises(DataError) as exc:
        open_entry("weatherbench1-t850")
    text = str(exc.value)
    assert "\n" not in text
    assert f"searched {root} (directory not found)" in text
    assert "expected ${GMGCLIM_DATA}/weatherbench1/5.625deg/temperature_850/*.nc" in text
    assert f"`gmgclim data download weatherbench --variable temperature_850 --to {root}`" in text

    # the root exists but lacks the directory the channels need
    (root / "temperature_850").mkdir(parents=True)
    with pytest.raises(
        DataError, match=r"\(has no geopotential_500/\*\.nc\); expected .*geopotential_500"
    ):
        open_entry("weatherbench1-5.625deg", channels=["z500"])


def test_train_on_empty_root_says_what_to_do(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("GMGCLIM_DATA", str(tmp_path / "data"))
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", "weatherbench_t850", "--set", f"output.dir={run_dir}", "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert str(tmp_path / "data" / "weatherbench1" / "5.625deg") in line
    assert "${GMGCLIM_DATA}/weatherbench1/5.625deg/temperature_850/*.nc" in line
    assert "gmgclim data download weatherbench --variable temperature_850" in line
    assert "--debug" not in err  # a real hint, not "run again with --debug"
    assert not run_dir.exists()


def test_empty_glob_names_where_it_stops(tmp_path: Path):
    with pytest.raises(DataError, match=r"\(.*radar does not exist\)"):
        expand_glob(tmp_path / "radar" / "*" / "*.nc")
    with pytest.raises(DataError, match=r"holds no \*\.nc file"):
        expand_glob(tmp_path)
