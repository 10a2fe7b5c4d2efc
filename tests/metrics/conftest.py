"""Small synthetic truths and forecasts for the metric tests (in memory and dask-backed)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr


def make_truth(
    n_times: int = 48,
    n_lat: int = 8,
    n_lon: int = 16,
    freq: str = "6h",
    start: str = "2018-01-01",
    seed: int = 0,
    levels: list[int] | None = None,
) -> xr.Dataset:
    """Random-walk fields on a regular global grid, dims (time, [level], latitude, longitude)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=n_times, freq=freq)
    lat = np.linspace(-90 + 90 / n_lat, 90 - 90 / n_lat, n_lat)
    lon = np.arange(n_lon) * 360.0 / n_lon
    shape = (n_times, *([len(levels)] if levels else []), n_lat, n_lon)
    walk = np.cumsum(rng.normal(0.0, 1.0, shape), axis=0) + 280.0
    dims = ("time", *(["level"] if levels else []), "latitude", "longitude")
    coords = {"time": times, "latitude": lat, "longitude": lon}
    if levels:
        coords["level"] = levels
    da = xr.DataArray(walk.astype(np.float32), dims=dims, coords=coords, attrs={"units": "K"})
    return xr.Dataset({"t2m": da})


def make_forecast(truth: xr.Dataset, n_init: int, leads_h: list[int], seed: int = 1) -> xr.Dataset:
    """Truth at valid time plus noise: dims (time=init, prediction_timedelta, ...)."""
    rng = np.random.default_rng(seed)
    inits = truth.time.values[:n_init]
    leads = pd.to_timedelta(leads_h, "h").values
    pieces = []
    for lead in leads:
        valid = truth.sel(time=inits + lead).assign_coords(time=inits)
        pieces.append(valid)
    fc = xr.concat(pieces, dim=pd.Index(leads, name="prediction_timedelta"))
    fc = fc.transpose("time", "prediction_timedelta", ...)
    noise = rng.normal(0.0, 1.0, fc["t2m"].shape) * (1 + np.arange(len(leads)))[:, None, None]
    fc["t2m"] = fc["t2m"] + noise.astype(np.float32)
    fc["t2m"].attrs = {"units": "K"}
    return fc


@pytest.fixture(params=["numpy", "dask"])
def backend(request):
    """Run a test with in-memory and with dask-backed inputs."""
    return request.param


def as_backend(ds, backend: str):
    """Chunk like real stores (one time per chunk) for the dask backend."""
    return ds.chunk({"time": 1}) if backend == "dask" else ds


@pytest.fixture
def mock():
    """Builders of the synthetic stores above (conftest modules cannot be imported by name)."""

    class Builders:
        truth = staticmethod(make_truth)
        forecast = staticmethod(make_forecast)
        as_backend = staticmethod(as_backend)

    return Builders
