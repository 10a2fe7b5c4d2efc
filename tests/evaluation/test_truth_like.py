"""Interop: a forecast store and ``gmgclim data prepare ENTRY --like STORE`` read as they are.

The grid is a regional box that crosses the Greenwich meridian (the quickstart's longitudes,
350.125 .. 359.625 and 0.125 .. 1.625 E, at 0.5 deg): the store and its truth have ascending
longitudes in -180 .. 180, both are zarr v2 with consolidated metadata, and a minimal
WeatherBench-2-style evaluation written here (cell-area weights from latitude bounds half a grid
step beyond the edge rows, truth at ``init + lead``, RMSE = sqrt of the init-time mean of the
spatially weighted MSE) gives ``gmgclim score``'s RMSE.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from gmgclim.data.task import Task
from gmgclim.inference import Forecaster, write_forecast_zarr

ENTRY = "mock-uk-t2m"
LAT = 50.375 + 0.5 * np.arange(16)
LON = np.concatenate([350.125 + 0.5 * np.arange(20), 0.125 + 0.5 * np.arange(4)])
SIGNED = np.where(LON >= 180.0, LON - 360.0, LON)  # -9.875 .. 1.625
INITS = pd.to_datetime(["2019-03-02T00", "2019-03-02T12", "2019-03-03T00"]).values


class Persistence(torch.nn.Module):
    """The last input frame at every lead time."""

    def forward(self, inputs, targets=None, teacher_forcing_mask=None, context=None):
        return inputs[:, -1:].expand(-1, 2, -1, -1, -1)


@pytest.fixture
def uk_catalog(tmp_path: Path, monkeypatch) -> Path:
    """A 2 m temperature entry on the box, stored in canonical (0 .. 360, sorted) longitudes."""
    rng = np.random.default_rng(3)
    times = pd.date_range("2019-03-01", periods=16, freq="6h")
    t = np.arange(times.size)[:, None, None]
    lat, lon = np.deg2rad(LAT)[None, :, None], np.deg2rad(SIGNED)[None, None, :]
    field = 280 + 3 * np.sin(6 * lon - 0.7 * t) * np.cos(4 * lat) - 0.3 * (LAT[None, :, None] - 50)
    field = field + rng.normal(0, 0.5, field.shape)
    ds = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), field.astype(np.float32), {"units": "K"})},
        coords={"time": times, "latitude": LAT, "longitude": LON},
    ).sortby("longitude")
    path = tmp_path / "uk_t2m.nc"
    ds.to_netcdf(path)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "entries:\n"
        f"  {ENTRY}:\n"
        "    description: mock 2 m temperature on a box crossing 0 E\n"
        "    driver: netcdf\n"
        f"    location: {path}\n"
        "    variables: [2m_temperature]\n"
        "    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return catalog


def _persistence_store(path: Path) -> Path:
    task = Task(entry=ENTRY, channels=("t2m",), step="6h", input_steps=2, output_steps=2)
    forecaster = Forecaster(Persistence(), mean=[280.0], std=[2.0], task=task)
    write_forecast_zarr(forecaster, None, path, init_times=INITS, progress=False)
    return path


def _cli(*args: str) -> None:
    from gmgclim.cli import main

    try:
        main(list(args))
    except SystemExit as exc:  # pragma: no cover - shows the one-line error
        raise AssertionError(f"gmgclim {' '.join(args)} exited {exc.code}") from None


def _open_strictly(path: Path) -> xr.Dataset:
    """Open a store as a WeatherBench-2-style tool would; any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_zarr(path)


def _zarr_format(path: Path) -> int:
    return 3 if (path / "zarr.json").exists() else 2


def _wb2_style_rmse(forecast: xr.DataArray, truth: xr.DataArray) -> np.ndarray:
    """sqrt(mean over init of the cell-area weighted spatial MSE), per lead time."""
    lat = forecast["latitude"].values.astype(np.float64)
    step = np.diff(lat)
    edges = np.concatenate(
        [[lat[0] - step[0] / 2], (lat[1:] + lat[:-1]) / 2, [lat[-1] + step[-1] / 2]]
    )
    edges = np.deg2rad(np.clip(edges, -90.0, 90.0))
    weights = np.sin(edges[1:]) - np.sin(edges[:-1])
    weights = xr.DataArray(weights / weights.mean(), dims="latitude")
    out = []
    for lead in forecast["prediction_timedelta"].values:
        fc = forecast.sel(prediction_timedelta=lead)
        valid = fc["time"].values + lead
        tr = truth.sel(time=valid).assign_coords(time=fc["time"].values)
        mse = ((fc - tr) ** 2 * weights).mean(["latitude", "longitude"])
        out.append(float(np.sqrt(mse.mean("time"))))
    return np.asarray(out)


def test_store_and_prepared_truth_read_as_they_are(uk_catalog, tmp_path):
    from gmgclim.metrics import select_score

    store = _persistence_store(tmp_path / "forecast.zarr")
    truth_path = tmp_path / "truth.zarr"
    _cli("data", "prepare", ENTRY, "--like", str(store), "-o", str(truth_path))

    fc, truth = _open_strictly(store), _open_strictly(truth_path)
    assert _zarr_format(store) == _zarr_format(truth_path) == 2
    assert (store / ".zmetadata").exists() and (truth_path / ".zmetadata").exists()
    # one monotonic convention: -180 .. 180 for a box crossing 0 E, the same in both stores
    np.testing.assert_allclose(fc["longitude"].values, SIGNED, atol=1e-9)
    np.testing.assert_array_equal(truth["longitude"].values, fc["longitude"].values)
    assert fc.sel(longitude=slice(-2.0, 1.0)).sizes["longitude"] == 6
    # the truth holds exactly the forecast's valid times
    valid = np.unique(INITS[:, None] + fc["prediction_timedelta"].values[None, :])
    np.testing.assert_array_equal(truth["time"].values, valid)
    assert json.loads(fc.attrs["forecast_task"])["entry"] == ENTRY

    expected = _wb2_style_rmse(fc["2m_temperature"], truth["2m_temperature"])
    scores_path = tmp_path / "scores.nc"
    _cli("score", str(store), "--metrics", "rmse", "-o", str(scores_path), "--no-progress")
    with xr.open_dataset(scores_path) as scores:
        rmse = select_score(scores.load(), "2m_temperature", "rmse").sel(model="Persistence")
    assert np.all(expected > 0.5)
    np.testing.assert_allclose(np.asarray(rmse.values, np.float64), expected, rtol=1e-6)


def test_stores_of_earlier_versions_still_score(uk_catalog, tmp_path):
    """A store written with 0 .. 360 longitudes (350 .. 359.6, 0.1 .. 1.6) meets the new truth."""
    from gmgclim.evaluation import score_store

    store = _persistence_store(tmp_path / "new.zarr")
    old = xr.open_zarr(store).load()
    old = old.assign_coords(longitude=("longitude", LON, old["longitude"].attrs))
    old.to_zarr(tmp_path / "old.zarr", zarr_format=2, consolidated=True)
    new = score_store(store, metrics=["rmse"]).scores["2m_temperature"]
    before = score_store(tmp_path / "old.zarr", metrics=["rmse"]).scores["2m_temperature"]
    np.testing.assert_allclose(before.values, new.values, rtol=1e-12)


def test_prepare_like_refuses_another_grid(uk_catalog, tmp_path, capsys):
    from gmgclim.cli import main

    store = _persistence_store(tmp_path / "forecast.zarr")
    shifted = xr.open_zarr(store).load()
    shifted = shifted.assign_coords(latitude=shifted["latitude"].values + 0.25)
    shifted.to_zarr(tmp_path / "shifted.zarr", zarr_format=2, consolidated=True)
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "data",
                "prepare",
                ENTRY,
                "--like",
                str(tmp_path / "shifted.zarr"),
                "-o",
                str(tmp_path / "t.zarr"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "grids differ" in err and "latitude" in err
