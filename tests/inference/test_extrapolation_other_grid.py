"""``gmgclim forecast --model extrapolation`` with ``--crop``, ``--coarsen`` and ``--step``.

The nowcast of a catalogued mock radar sequence (a blob moving one pixel east per 5 minutes) is
written on a coarsened or cropped grid and a 10-minute step; it must equal the in-memory nowcast
of the same grid operations and every other frame, record them in the store, and be scored
against a truth opened on that grid (no ``--truth``: the store names its entry).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened: the two wheels clash)
import pytest
import xarray as xr

from gmgclim.cli import main
from gmgclim.data.grid import apply_grid
from gmgclim.inference import extrapolation_forecast
from gmgclim.testing import write_mock_radar_catalog

pytest.importorskip("cv2", reason="pysteps' Lucas-Kanade needs opencv-python-headless")

INITS = "2020-06-01T12:20,2020-06-01T12:30"


@pytest.fixture
def radar_entry(tmp_path: Path, monkeypatch) -> xr.Dataset:
    """A catalog entry ``mock-radar`` of 14 frames 5 min apart on a 32 x 40 polar-stereographic grid."""
    catalog, radar = write_mock_radar_catalog(tmp_path)
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return radar


def _cli(capsys, *args: str) -> str:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        err = capsys.readouterr().err
        raise AssertionError(f"gmgclim {' '.join(args)} exited {exc.code}:\n{err}") from None
    return capsys.readouterr().out


def _nowcast(capsys, store: Path, *grid_args: str) -> xr.Dataset:
    _cli(
        capsys,
        "forecast", "mock-radar", "--model", "extrapolation", "--lead-steps", "2",
        "--init-times", INITS, "--output", str(store), "--no-progress", *grid_args,
    )  # fmt: skip
    return xr.open_zarr(store, decode_timedelta=True)


def test_coarsened_ten_minute_nowcast_matches_in_memory(radar_entry, tmp_path, capsys):
    store = tmp_path / "coarse.zarr"
    nowcast = _nowcast(capsys, store, "--coarsen", "y=2,x=2", "--step", "10min")
    field = nowcast["precipitation_rate"]
    assert field.shape == (2, 2, 16, 20)  # 32 x 40 in 2 x 2 blocks
    leads_min = nowcast["prediction_timedelta"].values / np.timedelta64(1, "m")
    assert leads_min.tolist() == [10.0, 20.0]
    assert json.loads(nowcast.attrs["forecast_grid"])["coarsen"] == {"y": 2, "x": 2}
    assert nowcast.attrs["forecast_entry"] == "mock-radar"
    assert nowcast.attrs["forecast_step"] == "0 days 00:10:00"

    coarse = apply_grid(radar_entry, {"coarsen": {"y": 2, "x": 2}})
    expected = extrapolation_forecast(
        coarse,
        np.array(["2020-06-01T12:20", "2020-06-01T12:30"], dtype="datetime64[ns]"),
        np.array([10, 20], dtype="timedelta64[m]"),
        step="10min",
    )
    np.testing.assert_allclose(
        field.values, expected["precipitation_rate"].values, rtol=1e-5, equal_nan=True
    )
    # the coarse grid's own y/x, not the native ones
    np.testing.assert_allclose(nowcast["x"].values, coarse["x"].values)

    # scored without --truth: the store names its entry and grid, so the truth matches its shape
    scores_path = tmp_path / "scores.nc"
    _cli(capsys, "score", str(store), "--metrics", "rmse", "--output", str(scores_path))
    with xr.open_dataset(scores_path) as scores:
        assert scores.sizes["prediction_timedelta"] == 2
        assert any("precipitation_rate" in name for name in scores.data_vars)


def test_cropped_nowcast_and_resume_refuses_another_grid(radar_entry, tmp_path, capsys):
    store = tmp_path / "crop.zarr"
    nowcast = _nowcast(capsys, store, "--crop", "y=4:28,x=8:40")
    assert nowcast["precipitation_rate"].shape == (2, 2, 24, 32)
    np.testing.assert_allclose(nowcast["y"].values, radar_entry["y"].values[4:28])
    # the same store with another grid is not silently mixed: resume refuses it
    with pytest.raises(AssertionError, match="fingerprint"):
        _nowcast(capsys, store, "--crop", "y=0:24,x=8:40")
