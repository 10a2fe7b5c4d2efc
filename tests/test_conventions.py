"""Tests for gmgclim.conventions: canonicalize / validate on the bundled real samples and on
hand-made datasets."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.conventions import canonicalize, validate
from gmgclim.data.catalog import sample_data_dir

UK = sample_data_dir() / "era5_t2m_uk_2019-03" / "era5_t2m_uk_2019-03.nc"
KNMI = sample_data_dir() / "knmi_radar_nl25_5min_2010-08-26" / "knmi_rad_nl25_rap_5min_20100826.nc"


@pytest.mark.parametrize("chunks", [None, {}])
def test_uk_sample_wraps_and_flips(chunks):
    raw = xr.open_dataset(UK, chunks=chunks)
    ds = canonicalize(raw)
    validate(ds)
    da = ds["2m_temperature"]
    assert da.dtype == np.float32 and da.attrs["units"] == "K"
    assert da.attrs["standard_name"] == "air_temperature" and da.attrs["source_name"] == "t2m"
    assert (chunks is not None) == (da.chunks is not None)  # stays lazy when dask-backed
    lat = ds["latitude"].values
    lon = ds["longitude"].values
    assert lat[0] == 50.0 and lat[-1] == 58.0 and np.all(np.diff(lat) > 0)
    # -10..2 E wraps to 350..359.75 and 0..2, sorted: 9 columns 0..2 then 40 columns 350..359.75
    np.testing.assert_allclose(lon[:9], np.arange(0, 2.25, 0.25))
    np.testing.assert_allclose(lon[9:], np.arange(350, 360, 0.25))
    # the data moved with their coordinates: (58 N, 10 W) -> (58 N, 350 E); (50 N, 2 E) stays
    for src_lon, dst_lon in [(-10.0, 350.0), (2.0, 2.0), (-0.25, 359.75)]:
        np.testing.assert_array_equal(
            raw["t2m"].sel(latitude=58.0, longitude=src_lon).isel(time=slice(0, 5)).values,
            da.sel(latitude=58.0, longitude=dst_lon).isel(time=slice(0, 5)).values,
        )
    np.testing.assert_array_equal(
        raw["t2m"].isel(time=100, latitude=-1, longitude=0).values,
        da.isel(time=100, latitude=0).sel(longitude=350.0).values,
    )


def test_knmi_accumulation_becomes_rate():
    raw = xr.open_dataset(KNMI)
    ds = canonicalize(raw, source="knmi")
    rate = ds["precipitation_rate"]
    assert rate.attrs["units"] == "mm h-1"
    frame = raw["precip_5min"].isel(time=40).values
    # 5-minute accumulation in mm times 12 = mm per hour
    np.testing.assert_allclose(rate.isel(time=40).values, frame * 12, rtol=1e-6)
    assert np.isnan(rate.isel(time=40).values).mean() == pytest.approx(0.744, abs=0.001)


def test_weatherbench1_names_and_pa_levels():
    ds = xr.Dataset(
        {"t": (("time", "plev", "lat", "lon"), np.ones((2, 2, 3, 4), np.float64), {"units": "K"})},
        coords={
            "time": pd.date_range("2000", periods=2, freq="6h"),
            "plev": ("plev", [85000.0, 50000.0], {"units": "Pa"}),
            "lat": [30.0, 0.0, -30.0],
            "lon": [-90.0, 0.0, 90.0, 180.0],
        },
    )
    out = canonicalize(ds)
    validate(out)
    assert list(out["temperature"].dims) == ["time", "level", "latitude", "longitude"]
    assert out["level"].values.tolist() == [500, 850]  # sorted ascending
    assert out["latitude"].values.tolist() == [-30.0, 0.0, 30.0]
    assert out["longitude"].values.tolist() == [0.0, 90.0, 180.0, 270.0]
    assert out["temperature"].dtype == np.float32


def test_units_mismatch_raises():
    ds = xr.Dataset({"t2m": (("time",), np.ones(2, np.float32), {"units": "degC"})})
    with pytest.raises(ValueError, match=r"'t2m' has units 'degC'; expected one of \['K'\]"):
        canonicalize(ds)


def test_unmapped_variables_are_listed():
    ds = xr.Dataset({"foo": (("lat",), np.ones(2, np.float32))}, coords={"lat": [0.0, 1.0]})
    assert canonicalize(ds).attrs["gmgclim_unmapped_variables"] == "foo"


def _good():
    return xr.Dataset(
        {
            "2m_temperature": (
                ("time", "latitude", "longitude"),
                np.ones((3, 2, 2), np.float32),
                {"units": "K"},
            )
        },
        coords={
            "time": pd.date_range("2000", periods=3, freq="h"),
            "latitude": [0.0, 1.0],
            "longitude": [0.0, 1.0],
        },
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.isel(latitude=[1, 0]), "latitude must be strictly ascending"),
        (
            lambda d: d.assign_coords(longitude=[-1.0, 1.0]),
            r"longitude values must lie in \[0, 360\)",
        ),
        (lambda d: d.isel(time=[0, 0, 1]), "time is not strictly increasing"),
        (lambda d: d.astype(np.float64), "is float64, expected float32"),
        (lambda d: d.expand_dims(member=2), "unknown dims"),
        (
            lambda d: d.assign(
                {"2m_temperature": d["2m_temperature"].assign_attrs(units=None).drop_attrs()}
            ),
            "no 'units'",
        ),
    ],
)
def test_validate_errors(mutate, message):
    validate(_good())
    with pytest.raises(ValueError, match=message):
        validate(mutate(_good()))
