"""Synthetic global, regional and radar forecasts for the plotting tests, and no network."""

import socket

import numpy as np
import pandas as pd
import pytest
import xarray as xr


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to open a connection (cartopy must use the shipped Natural Earth files)."""

    def refuse(*args, **kwargs):
        raise OSError("network access is blocked in the plotting tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _forecast_from_truth(truth: xr.Dataset, n_init: int, leads, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = truth.time.values[:n_init]
    pieces = [truth.sel(time=inits + lead).assign_coords(time=inits) for lead in leads]
    fc = xr.concat(pieces, dim=pd.Index(leads, name="prediction_timedelta"))
    fc = fc.transpose("time", "prediction_timedelta", ...)
    for name, da in fc.data_vars.items():
        if "time" in da.dims:
            scale = noise * (1 + np.arange(len(leads)))[:, None, None]
            fc[name] = da + (rng.normal(0, 1, da.shape) * scale).astype(np.float32)
            fc[name].attrs = truth[name].attrs
    return fc


@pytest.fixture
def global_case():
    """32 x 64 global 2 m temperature-like field moving east, 6-hourly."""
    times = pd.date_range("2018-01-01", periods=12, freq="6h")
    lat = np.linspace(-87.1875, 87.1875, 32)
    lon = np.arange(64) * 5.625
    t = np.arange(times.size)[:, None, None]
    la, lo = np.deg2rad(lat)[None, :, None], np.deg2rad(lon)[None, None, :]
    field = 288 - 30 * np.sin(la) ** 2 + 6 * np.cos(3 * lo - 0.3 * t) * np.cos(la)
    attrs = {"units": "K", "long_name": "2 metre temperature"}
    truth = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), field.astype(np.float32), attrs)},
        coords={"time": times, "latitude": lat, "longitude": lon},
    )
    leads = pd.to_timedelta([6, 24, 48], "h").values
    return _forecast_from_truth(truth, 4, leads, noise=0.8), truth


@pytest.fixture
def uk_case():
    """0.25 deg UK/Ireland grid in canonical [0, 360) longitudes (crossing 0 deg E)."""
    times = pd.date_range("2019-03-01", periods=10, freq="1h")
    lat = np.arange(50.0, 58.01, 0.25)
    lon = np.sort(np.arange(-10.0, 2.01, 0.25) % 360)
    signed = np.where(lon >= 180, lon - 360, lon)
    t = np.arange(times.size)[:, None, None]
    field = (
        278
        + 3 * np.sin(np.deg2rad(40 * signed[None, None, :] - 5 * t))
        - 0.4 * (lat[None, :, None] - 50)
    )
    attrs = {"units": "K", "long_name": "2 metre temperature"}
    truth = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), field.astype(np.float32), attrs)},
        coords={"time": times, "latitude": lat, "longitude": lon},
    )
    leads = pd.to_timedelta([1, 3], "h").values
    return _forecast_from_truth(truth, 5, leads, noise=0.3), truth


@pytest.fixture
def radar_case():
    """KNMI-like polar stereographic 1 km grid (coarsened to 5 km), rain blobs, NaN outside."""
    times = pd.date_range("2010-08-26T00:00", periods=8, freq="5min")
    x = np.arange(0.5, 700, 5.0)
    y = np.arange(-3650.5, -4415, -5.0)
    xx, yy = np.meshgrid(x, y)
    frames = []
    for k in range(times.size):
        cx, cy = 250 + 12 * k, -4000 + 6 * k
        rain = 8 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 60.0**2))
        rain += 3 * np.exp(-((xx - cx - 200) ** 2 + (yy - cy + 150) ** 2) / (2 * 40.0**2))
        frames.append(np.where(rain > 0.05, rain, 0.0))
    data = np.array(frames, dtype=np.float32)
    covered = (xx - 350) ** 2 + (yy + 4030) ** 2 < 330**2
    data[:, ~covered] = np.nan
    crs_attrs = {
        "grid_mapping_name": "polar_stereographic",
        "straight_vertical_longitude_from_pole": 0.0,
        "latitude_of_projection_origin": 90.0,
        "standard_parallel": 60.0,
        "false_easting": 0.0,
        "false_northing": 0.0,
        "semi_major_axis": 6378137.0,
        "semi_minor_axis": 6356752.0,
    }
    attrs = {"units": "mm h-1", "long_name": "precipitation rate", "grid_mapping": "crs"}
    truth = xr.Dataset(
        {
            "precipitation_rate": (("time", "y", "x"), data, attrs),
            "crs": ((), np.int32(0), crs_attrs),
        },
        coords={
            "time": times,
            "y": ("y", y, {"units": "km", "standard_name": "projection_y_coordinate"}),
            "x": ("x", x, {"units": "km", "standard_name": "projection_x_coordinate"}),
        },
    )
    leads = pd.to_timedelta([5, 10, 15], "min").values
    fc = _forecast_from_truth(truth, 4, leads, noise=0.0)
    fc["precipitation_rate"] = fc["precipitation_rate"].shift(x=2).clip(min=0)
    fc["precipitation_rate"].attrs = attrs
    return fc, truth
