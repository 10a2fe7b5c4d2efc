"""Radar readers against the bundled original files (KNMI HDF5, FMI PGM), mock ODIM, and bad input."""

import gzip
import shutil

import h5py
import numpy as np
import pytest
import xarray as xr

from gmgclim import testing
from gmgclim.data import radar
from gmgclim.data.catalog import open_entry, sample_data_dir
from gmgclim.errors import DataError

KNMI_DIR = sample_data_dir() / "knmi_radar_nl25_5min_2010-08-26"
FMI_DIR = sample_data_dir() / "fmi_radar_dbz_5min_2016-09-28"


@pytest.fixture(scope="module")
def knmi():
    return radar.open_knmi_hdf5(KNMI_DIR / "original_hdf5")


@pytest.fixture(scope="module")
def fmi():
    return radar.open_fmi_pgm(FMI_DIR / "original_pgm" / "*.pgm.gz")


def test_knmi_hdf5_matches_raw_counts_and_netcdf(knmi):
    assert dict(knmi.sizes) == {"time": 6, "y": 765, "x": 700}
    assert str(knmi["time"].values[0]) == "2010-08-26T00:00:00.000000000"
    assert np.all(np.diff(knmi["time"].values) == np.timedelta64(5, "m"))
    rate = knmi["precipitation_rate"]
    assert rate.attrs["units"] == "mm h-1" and rate.attrs["accumulation_minutes"] == 5.0
    assert (
        rate.attrs["grid_mapping"] == "crs"
        and knmi["crs"].attrs["grid_mapping_name"] == "polar_stereographic"
    )
    frame = rate.isel(time=3).values
    # spot check against the raw HDF5 counts: GEO = 0.01 * PV mm per 5 min, 65535 = no data
    with h5py.File(KNMI_DIR / "original_hdf5" / "RAD_NL25_RAP_5min_201008260015.h5") as f:
        raw = f["image1/image_data"][...]
    expected = np.where(raw == 65535, np.nan, raw * 0.01 * 12.0)
    np.testing.assert_allclose(frame, expected, rtol=1e-5, atol=1e-6)
    assert np.nanmax(frame) > 0 and np.isnan(frame).mean() == pytest.approx(0.744, abs=0.001)
    # the same frame through the converted bundled netCDF
    nc = open_entry("knmi-radar")
    np.testing.assert_allclose(
        nc["precipitation_rate"].sel(time=knmi["time"][3]).values, frame, rtol=1e-6
    )
    np.testing.assert_allclose(nc["x"].values, knmi["x"].values)
    np.testing.assert_allclose(nc["y"].values, knmi["y"].values)


def test_knmi_latlon_match_product_corners(knmi):
    with h5py.File(KNMI_DIR / "original_hdf5" / "RAD_NL25_RAP_5min_201008260000.h5") as f:
        corners = f["geographic"].attrs["geo_product_corners"].reshape(4, 2)  # lon/lat LL UL UR LR
    lat, lon = knmi["latitude"].values, knmi["longitude"].values
    # pixel centres lie half a pixel (~0.01 deg) inside the product corners
    for (clon, clat), (j, i) in zip(corners, [(-1, 0), (0, 0), (0, -1), (-1, -1)], strict=True):
        assert lat[j, i] == pytest.approx(clat, abs=0.02)
        assert lon[j, i] == pytest.approx(clon % 360, abs=0.02)
    # De Bilt radar (5.179 E, 52.103 N) lies in the covered (non-NaN) area
    dist = (lat - 52.103) ** 2 + (lon - 5.179) ** 2
    j, i = np.unravel_index(np.argmin(dist), dist.shape)
    assert not np.isnan(knmi["precipitation_rate"].isel(time=0).values[j, i])


def test_fmi_pgm_matches_raw_bytes_and_netcdf(fmi):
    assert dict(fmi.sizes) == {"time": 6, "y": 1226, "x": 760}
    dbz = fmi["reflectivity"]
    assert dbz.attrs["units"] == "dBZ"
    path = FMI_DIR / "original_pgm" / "201609281455_fmi.radar.composite.lowest_FIN_SUOMI1.pgm.gz"
    with gzip.open(path) as f:
        payload = f.read()
    counts = np.frombuffer(payload[-760 * 1226 :], np.uint8).reshape(1226, 760)
    expected = np.where(counts == 255, np.nan, 0.5 * counts.astype(np.float32) - 32.0)
    frame = dbz.sel(time="2016-09-28T14:55").values
    np.testing.assert_array_equal(frame, expected)
    assert np.nanmax(frame) <= 57.5
    nc = open_entry("fmi-radar")
    np.testing.assert_array_equal(nc["reflectivity"].sel(time="2016-09-28T14:55").values, frame)
    # the netCDF grid has no false easting/northing; pysteps' projection has: same places
    np.testing.assert_allclose(nc["latitude"].values, fmi["latitude"].values, atol=1e-9)
    np.testing.assert_allclose(nc["longitude"].values, fmi["longitude"].values, atol=1e-9)
    # header corners: bottom-left (18.6 E, 57.93 N), top-right (34.903 E, 69.005 N)
    assert fmi["latitude"].values[-1, 0] == pytest.approx(57.93, abs=0.01)
    assert fmi["longitude"].values[0, -1] == pytest.approx(34.903, abs=0.02)


def test_odim_mock_reader(tmp_path):
    testing.write_mock_odim_hdf5(tmp_path, periods=3, ny=30, nx=40)
    ds = radar.open_odim_hdf5(tmp_path)
    assert dict(ds.sizes) == {"time": 3, "y": 30, "x": 40}
    frame = ds["reflectivity"].isel(time=1).values
    j, i = np.mgrid[0:30, 0:40]
    expected = ((10 + 1 + j + i) % 200 + 1) * 0.5 - 32.0
    expected[:, :5] = np.nan
    np.testing.assert_allclose(frame, expected)
    assert ds["x"].values[1] - ds["x"].values[0] == pytest.approx(2000.0)


def test_lazy_one_chunk_per_file(knmi):
    assert knmi["precipitation_rate"].chunks[0] == (1,) * 6


def test_empty_glob(tmp_path):
    with pytest.raises(DataError, match=r"no files match"):
        radar.open_knmi_hdf5(tmp_path / "*.h5")


def test_corrupt_file_named(tmp_path):
    for p in sorted((KNMI_DIR / "original_hdf5").glob("*.h5"))[:2]:
        shutil.copy(p, tmp_path)
    bad = tmp_path / "RAD_NL25_RAP_5min_201008260010.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(DataError, match=r"corrupt or non-KNMI HDF5 file .*201008260010.h5"):
        radar.open_knmi_hdf5(tmp_path)
    pgm = tmp_path / "x.pgm.gz"
    with gzip.open(pgm, "wb") as f:
        f.write(b"P2\n3 3\n")
    with pytest.raises(DataError, match=r"x.pgm.gz is not a binary PGM"):
        radar.open_fmi_pgm(pgm)


def test_mixed_grids_and_duplicate_times(tmp_path):
    testing.write_mock_odim_hdf5(tmp_path / "a", periods=2, nx=40)
    testing.write_mock_odim_hdf5(tmp_path / "b", periods=1, nx=41, start="2021-07-14 11:00")
    files = sorted((tmp_path / "a").glob("*.h5")) + sorted((tmp_path / "b").glob("*.h5"))
    with pytest.raises(DataError, match=r"mixed grids across ODIM HDF5 files"):
        radar.open_odim_hdf5(files)
    testing.write_mock_odim_hdf5(tmp_path / "c", periods=1, nx=40)  # same time as a's first
    files = sorted((tmp_path / "a").glob("*.h5")) + sorted((tmp_path / "c").glob("*.h5"))
    with pytest.raises(DataError, match=r"duplicate time 2021-07-14T10:00"):
        radar.open_odim_hdf5(files)


def test_radar_netcdf_rejects_non_radar(tmp_path):
    path = tmp_path / "grid.nc"
    xr.Dataset({"a": (("time", "lat"), np.ones((2, 2)))}).to_netcdf(path)
    with pytest.raises(DataError, match=r"expected dims \(time, y, x\)"):
        radar.open_radar_netcdf(path)
