"""Monotonic longitudes after apply_grid: -180 .. 180 for a box crossing 0 E, else 0 .. 360."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from gmgclim.data.grid import apply_grid, monotonic_longitude

# the quickstart store's grid in canonical order: 0.125 .. 1.625 E, then 350.125 .. 359.625 E
QUICKSTART_LON = np.concatenate([0.125 + 0.5 * np.arange(4), 350.125 + 0.5 * np.arange(20)])


def _box(lon: np.ndarray) -> xr.Dataset:
    lat = 50.125 + 0.25 * np.arange(4)
    data = np.arange(lat.size * lon.size, dtype=np.float32).reshape(1, lat.size, lon.size)
    return xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), data, {"units": "K"})},
        coords={
            "time": [np.datetime64("2019-03-01", "ns")],
            "latitude": lat,
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )


def test_quickstart_box_becomes_ascending_in_minus_180_180():
    out = apply_grid(_box(QUICKSTART_LON), None)
    lon = out["longitude"].values
    assert lon[0] == pytest.approx(-9.875) and lon[-1] == pytest.approx(1.625)
    assert np.all(np.diff(lon) > 0)
    assert out["longitude"].attrs["units"] == "degrees_east"
    # the same cells, only rolled: 350.125 E is the first column now
    np.testing.assert_array_equal(
        out["t2m"].values[0, :, 0], _box(QUICKSTART_LON)["t2m"].values[0, :, 4]
    )


@pytest.mark.parametrize(
    ("grid", "first", "last"),
    [
        ({"crop": {"longitude": [0, 20]}}, 350.125, 359.625),  # west of 0 E only: 0 .. 360
        ({"crop": {"longitude": [20, 24]}}, 0.125, 1.625),  # east of 0 E only
        ({"coarsen": {"longitude": 2}}, -9.625, 1.375),
    ],
)
def test_crops_and_coarsening_stay_ascending(grid, first, last):
    lon = apply_grid(_box(QUICKSTART_LON), grid)["longitude"].values
    assert np.all(np.diff(lon) > 0)
    assert (lon[0], lon[-1]) == (pytest.approx(first), pytest.approx(last))


@pytest.mark.parametrize(
    "lon",
    [np.arange(0.0, 360.0, 22.5), 10.0 + 0.5 * np.arange(20), 350.0 + 0.5 * np.arange(18)],
)
def test_grids_not_crossing_0e_keep_0_360(lon):
    np.testing.assert_array_equal(apply_grid(_box(lon), None)["longitude"].values, lon)


def test_a_box_wider_than_180_degrees_keeps_unwrapped_ascending_values():
    lon = np.concatenate([np.arange(0.0, 40.0, 10.0), np.arange(100.0, 360.0, 10.0)])
    out = monotonic_longitude(apply_grid(_box(lon), None))["longitude"].values
    assert out[0] == 100.0 and out[-1] == 390.0 and np.all(np.diff(out) > 0)
