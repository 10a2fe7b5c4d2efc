"""WeatherBench 1 directory / WeatherBench 2 zarr readers on mock stores, bad input, download."""

import shutil
import urllib.error

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim import testing
from gmgclim.data import gridded, weatherbench
from gmgclim.errors import DataError


def test_wb1_canonical_values(wb1_root):
    ds = weatherbench.open_weatherbench1(wb1_root, channels=["t850", "z500", "t2m"])
    assert set(ds.data_vars) == {"temperature", "geopotential", "2m_temperature"}
    assert ds["temperature"].dims == ("time", "level", "latitude", "longitude")
    assert ds.sizes["time"] == 366 * 4 + 365 * 4  # 2000 is a leap year, 6-hourly
    assert np.all(np.diff(ds["latitude"].values) > 0)  # the files were written north -> south
    assert ds["temperature"].chunks[0][:2] == (168, 168)  # default: one week of hourly steps
    per_file = weatherbench.open_weatherbench1(wb1_root, channels=["t2m"], chunks={})
    assert per_file["2m_temperature"].chunks[0] == (1464, 1460)  # one chunk per file (year)
    # value formula of gmgclim.testing: base + 0.001 h + 0.1 lat_index(from south) + 0.01 lon_index
    t = ds["temperature"].sel(level=850).isel(time=1500, latitude=2, longitude=5).values
    assert t == testing.field_value(250.85, 1500 * 6, 2, 5)
    z = ds["geopotential"].sel(level=500).isel(time=7, latitude=7, longitude=0).values
    assert z == testing.field_value(50000.5, 42, 7, 0)
    assert np.isnan(ds["temperature"].sel(level=500).isel(time=0).values).all()  # not read


def test_wb1_in_memory_equals_dask(wb1_root):
    lazy = weatherbench.open_weatherbench1(wb1_root, channels=["t2m"], years=[2001])
    eager = lazy.load()
    assert eager["2m_temperature"].chunks is None
    assert lazy.sizes["time"] == 1460
    xr.testing.assert_identical(lazy.compute(), eager)


def test_wb1_constants_and_missing(wb1_root):
    ds = weatherbench.open_weatherbench1(wb1_root, directories=["2m_temperature"], constants=True)
    assert {"orography", "land_sea_mask"} <= set(ds.data_vars)
    assert "lat2d" not in ds.variables
    with pytest.raises(DataError, match=r"no directory for channel 'u850'"):
        weatherbench.open_weatherbench1(wb1_root, channels=["u850"])
    with pytest.raises(DataError, match=r"no netCDF files in .*temperature_850 for years"):
        weatherbench.open_weatherbench1(wb1_root, channels=["t850"], years=[1990])
    with pytest.raises(DataError, match=r"directory not found"):
        weatherbench.open_weatherbench1(wb1_root / "nope")


def _copy_tree(src, dst, directory="2m_temperature"):
    shutil.copytree(src / directory, dst / directory)
    return dst / directory


def test_corrupt_file_named(wb1_root, tmp_path):
    d = _copy_tree(wb1_root, tmp_path)
    (d / "2m_temperature_2001_5.625deg.nc").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"cannot open .*2m_temperature_2001_5.625deg.nc: corrupt"):
        weatherbench.open_weatherbench1(tmp_path, channels=["t2m"])


def _write(path, times, lat=(0.0, 10.0), var="t2m", dims=("time", "lat", "lon")):
    shape = (len(times), len(lat), 3)
    extra = {}
    if "member" in dims:
        shape = (len(times), 2, len(lat), 3)
    ds = xr.Dataset(
        {var: (dims, np.ones(shape, np.float32), {"units": "K"})},
        coords={"time": pd.DatetimeIndex(times), "lat": list(lat), "lon": [0.0, 1.0, 2.0], **extra},
    )
    ds.to_netcdf(path)


def test_bad_netcdf_inputs(tmp_path):
    _write(tmp_path / "a_2000_.nc", ["2000-01-01", "2000-01-02"])
    _write(tmp_path / "b_2001_.nc", ["2000-01-02", "2000-01-03"])  # overlaps a
    with pytest.raises(
        DataError, match=r"overlapping or duplicate times across files: .*b_2001_.nc"
    ):
        gridded.open_netcdf_files(tmp_path / "*.nc")
    _write(tmp_path / "b_2001_.nc", ["2000-01-05", "2000-01-04"])
    with pytest.raises(DataError, match=r"b_2001_.nc: times are not increasing"):
        gridded.open_netcdf_files(tmp_path / "*.nc")
    _write(tmp_path / "b_2001_.nc", ["2000-01-04", "2000-01-04"])
    with pytest.raises(DataError, match=r"b_2001_.nc: duplicate time 2000-01-04"):
        gridded.open_netcdf_files(tmp_path / "*.nc")
    _write(tmp_path / "b_2001_.nc", ["2000-01-04"], lat=(0.0, 5.0))
    with pytest.raises(DataError, match=r"mixed grids across files: .*b_2001_.nc"):
        gridded.open_netcdf_files(tmp_path / "*.nc")
    _write(tmp_path / "b_2001_.nc", ["2000-01-04"], dims=("time", "member", "lat", "lon"))
    with pytest.raises(DataError, match=r"b_2001_.nc has unknown dims \['member'\]"):
        gridded.open_netcdf_files(tmp_path / "*.nc")
    _write(tmp_path / "b_2001_.nc", ["2000-01-04"], var="t")
    with pytest.raises(DataError, match=r"b_2001_.nc lacks variable\(s\) \['t2m'\]"):
        gridded.open_netcdf_files(tmp_path / "*.nc", variables=["t2m"])
    _write(tmp_path / "b_2001_.nc", ["2000-01-04"])
    ds = gridded.open_netcdf_files(tmp_path / "*.nc")
    assert ds.sizes["time"] == 3 and "2m_temperature" in ds
    with pytest.raises(DataError, match=r"no netCDF files match"):
        gridded.open_netcdf_files(tmp_path / "*.nope")


def test_wb2_zarr(wb2_store):
    ds = weatherbench.open_weatherbench2(str(wb2_store), variables=["temperature", "geopotential"])
    expected = testing.mock_gridded_dataset(periods=40)
    xr.testing.assert_allclose(ds["temperature"].compute(), expected["temperature"])
    assert ds["temperature"].chunks[0][0] == 8
    fast = gridded.open_zarr(str(wb2_store), dask=False)
    assert fast["temperature"].chunks is None
    np.testing.assert_array_equal(
        fast["temperature"][3:5].values, expected["temperature"][3:5].values
    )
    with pytest.raises(DataError, match=r"lacks variable"):
        weatherbench.open_weatherbench2(str(wb2_store), variables=["vorticity"])
    with pytest.raises(DataError, match=r"zarr store not found"):
        gridded.open_zarr("/nonexistent/store.zarr")


def test_prepare_zarr_roundtrip(wb1_root, tmp_path):
    ds = weatherbench.open_weatherbench1(wb1_root, channels=["t850"], years=[2000])
    path = gridded.prepare_zarr(ds, tmp_path / "prep.zarr", time_chunk=24)
    back = gridded.open_zarr(str(path), dask=False)
    xr.testing.assert_equal(back["temperature"].load(), ds["temperature"].compute())
    assert back["temperature"].encoding["chunks"][0] == 24


def test_regrid_coarsen_mean():
    ds = testing.mock_gridded_dataset(periods=2, n_lat=8, n_lon=16, variables=["2m_temperature"])
    out = gridded.regrid(ds, coarsen=2)
    assert dict(out.sizes) == {"time": 2, "latitude": 4, "longitude": 8}
    # block mean of base + 0.1 j + 0.01 i over j in {0,1}, i in {0,1}: base + 0.05 + 0.005
    assert float(out["2m_temperature"][0, 0, 0]) == pytest.approx(280.055, abs=1e-4)


def test_download_fails_fast_and_clearly(tmp_path, monkeypatch):
    def no_network(url, timeout):
        assert timeout == 2.0
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(weatherbench.urllib.request, "urlopen", no_network)
    with pytest.raises(
        DataError,
        match=r"cannot download WeatherBench 1 'temperature_850' from https://dataserv.ub.tum.de",
    ) as info:
        weatherbench.download_weatherbench1("temperature_850", [2016], tmp_path, timeout=2.0)
    assert "internet" in info.value.hint
    assert not list(tmp_path.glob("*.part"))
