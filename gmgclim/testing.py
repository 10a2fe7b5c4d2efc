"""Tiny synthetic stores for tests, notebooks and benchmarks.

- :func:`mock_gridded_dataset`: an in-memory canonical gridded dataset (time, [level], latitude,
  longitude) whose values follow a known formula, so tests can check reads exactly.
- :func:`write_mock_weatherbench1`: a WeatherBench 1 directory tree (one directory per variable, one
  netCDF per year, ``lat``/``lon`` dims, WB1 variable names, optionally descending latitudes).
- :func:`write_mock_weatherbench2_zarr`: a WeatherBench 2 style zarr store.
- :func:`mock_radar_dataset` and :func:`write_mock_odim_hdf5`: radar ``(time, y, x)`` data with a
  no-data mask, in memory or as ODIM HDF5 composite files.

Values: ``field_value(var_index, hours_since_start, lat_index, lon_index)`` =
``base[var] + 0.001 * hours + 0.1 * lat_index + 0.01 * lon_index`` (float32), so any element can be
recomputed from its coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "ALBERS_GRID_MAPPING",
    "MOCK_BASES",
    "field_value",
    "mock_gridded_dataset",
    "mock_radar_dataset",
    "write_mock_albers_radar_netcdf",
    "write_mock_odim_hdf5",
    "write_mock_radar_catalog",
    "write_mock_slp_netcdf",
    "write_mock_weatherbench1",
    "write_mock_weatherbench2_zarr",
]

#: Base value of each mock variable (canonical name -> value in its canonical units).
MOCK_BASES: dict[str, float] = {
    "temperature": 250.0,
    "geopotential": 50000.0,
    "2m_temperature": 280.0,
    "total_precipitation": 0.0,
}

# WB1 directory -> (file variable, canonical variable, level or None, file name stem)
_WB1_LAYOUT: dict[str, tuple[str, str, int | None, str]] = {
    "temperature_850": ("t", "temperature", 850, "temperature_850hPa"),
    "temperature_500": ("t", "temperature", 500, "temperature_500hPa"),
    "geopotential_500": ("z", "geopotential", 500, "geopotential_500hPa"),
    "geopotential_850": ("z", "geopotential", 850, "geopotential_850hPa"),
    "2m_temperature": ("t2m", "2m_temperature", None, "2m_temperature"),
    "total_precipitation": ("tp", "total_precipitation", None, "total_precipitation"),
}
_UNITS = {"t": "K", "z": "m**2 s**-2", "t2m": "K", "tp": "m"}


def field_value(
    base: float, hours: np.ndarray, lat_index: np.ndarray, lon_index: np.ndarray
) -> np.ndarray:
    """The mock formula: ``base + 0.001 hours + 0.1 lat_index + 0.01 lon_index`` (float32).

    ``lat_index`` counts from the southernmost row (ascending latitude), so canonical datasets can be
    checked whatever the file order was.
    """
    return (
        np.float64(base)
        + 0.001 * np.asarray(hours, np.float64)
        + 0.1 * np.asarray(lat_index, np.float64)
        + 0.01 * np.asarray(lon_index, np.float64)
    ).astype(np.float32)


def _grid(n_lat: int, n_lon: int) -> tuple[np.ndarray, np.ndarray]:
    dlat = 180.0 / n_lat
    lat = -90.0 + dlat / 2 + dlat * np.arange(n_lat)
    lon = 360.0 / n_lon * np.arange(n_lon)
    return lat, lon


def _values(base: float, times: pd.DatetimeIndex, start: pd.Timestamp, n_lat, n_lon) -> np.ndarray:
    hours = ((times - start) / pd.Timedelta(hours=1)).to_numpy()
    return field_value(
        base,
        hours[:, None, None],
        np.arange(n_lat)[None, :, None],
        np.arange(n_lon)[None, None, :],
    )


def mock_gridded_dataset(
    start: str = "2000-01-01",
    periods: int = 48,
    freq: str = "6h",
    n_lat: int = 8,
    n_lon: int = 16,
    variables: Sequence[str] = ("temperature", "geopotential", "2m_temperature"),
    levels: Sequence[int] = (500, 850),
    chunks: dict | None = None,
) -> xr.Dataset:
    """An in-memory canonical gridded dataset (optionally dask-backed).

    Parameters
    ----------
    start, periods, freq : str, int, str
        Time axis (``pd.date_range``).
    n_lat, n_lon : int
        Equiangular grid without poles (ascending latitude, longitude from 0).
    variables : sequence of str
        Canonical names among :data:`MOCK_BASES`; pressure-level ones get a ``level`` dim.
    levels : sequence of int
        Pressure levels (hPa); level ``L`` adds ``L / 1000`` to the base value.
    chunks : dict, optional
        Chunk with dask (e.g. ``{"time": 7}``).

    Returns
    -------
    xr.Dataset
        float32 fields with CF units, dims (time, [level], latitude, longitude).
    """
    from gmgclim.conventions import variable_attrs

    times = pd.date_range(start, periods=periods, freq=freq)
    lat, lon = _grid(n_lat, n_lon)
    data_vars: dict[str, tuple[Any, ...]] = {}
    for name in variables:
        base = MOCK_BASES[name]
        if name in ("temperature", "geopotential"):
            arr = np.stack(
                [_values(base + lev / 1000.0, times, times[0], n_lat, n_lon) for lev in levels],
                axis=1,
            )
            data_vars[name] = (
                ("time", "level", "latitude", "longitude"),
                arr,
                variable_attrs(name),
            )
        else:
            arr = _values(base, times, times[0], n_lat, n_lon)
            data_vars[name] = (("time", "latitude", "longitude"), arr, variable_attrs(name))
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": times.values.astype("datetime64[ns]"),
            "level": ("level", np.asarray(levels, np.int64), {"units": "hPa"}),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )
    if not any(v in ("temperature", "geopotential") for v in variables):
        ds = ds.drop_vars("level")
    return ds.chunk(chunks) if chunks else ds


def write_mock_weatherbench1(
    root: str | Path,
    directories: Sequence[str] = ("temperature_850", "geopotential_500", "2m_temperature"),
    years: Iterable[int] = (2000, 2001),
    freq: str = "6h",
    n_lat: int = 8,
    n_lon: int = 16,
    descending_latitude: bool = False,
    constants: bool = True,
) -> Path:
    """Write a WeatherBench 1 directory tree with one netCDF file per year and variable.

    Parameters
    ----------
    root : str or Path
        Destination (created).
    directories : sequence of str
        WB1 directory names among ``temperature_850``, ``temperature_500``, ``geopotential_500``,
        ``geopotential_850``, ``2m_temperature``, ``total_precipitation``.
    years : iterable of int
        One file per year (full year at ``freq``).
    freq : str
        Time step (WB1 itself is hourly, ``"1h"``).
    n_lat, n_lon : int
        Grid size (WB1 5.625 deg is 32 x 64).
    descending_latitude : bool
        Write latitude north -> south (as ERA5 files do) to exercise the flip.
    constants : bool
        Also write ``constants/constants_5.625deg.nc`` (orography, lsm, lat2d, lon2d).

    Returns
    -------
    Path
        ``root``. Values follow :func:`field_value` with hours counted from the first year's start
        and ``lat_index`` counted from the south.
    """
    root = Path(root)
    years = list(years)
    lat, lon = _grid(n_lat, n_lon)
    start = pd.Timestamp(f"{years[0]}-01-01")
    for directory in directories:
        file_var, canonical, level, stem = _WB1_LAYOUT[directory]
        base = MOCK_BASES[canonical] + (level / 1000.0 if level else 0.0)
        (root / directory).mkdir(parents=True, exist_ok=True)
        for year in years:
            times = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq=freq)
            values = _values(base, times, start, n_lat, n_lon)
            lat_out = lat
            if descending_latitude:
                values = values[:, ::-1, :]
                lat_out = lat[::-1]
            ds = xr.Dataset(
                {file_var: (("time", "lat", "lon"), values, {"units": _UNITS[file_var]})},
                coords={"time": times.values, "lat": lat_out, "lon": lon},
            )
            if level is not None:
                ds = ds.assign_coords(level=np.int32(level))
            ds.to_netcdf(root / directory / f"{stem}_{year}_5.625deg.nc")
    if constants:
        (root / "constants").mkdir(parents=True, exist_ok=True)
        lat2d, lon2d = np.meshgrid(lat, lon, indexing="ij")
        const = xr.Dataset(
            {
                "orography": (("lat", "lon"), (lat2d * 10.0).astype(np.float32), {"units": "m"}),
                "lsm": (("lat", "lon"), (lat2d > 0).astype(np.float32), {"units": "1"}),
                "lat2d": (("lat", "lon"), lat2d),
                "lon2d": (("lat", "lon"), lon2d),
            },
            coords={"lat": lat, "lon": lon},
        )
        if descending_latitude:
            const = const.isel(lat=slice(None, None, -1))
        const.to_netcdf(root / "constants" / "constants_5.625deg.nc")
    return root


def write_mock_weatherbench2_zarr(
    path: str | Path,
    start: str = "2000-01-01",
    periods: int = 40,
    freq: str = "6h",
    n_lat: int = 8,
    n_lon: int = 16,
    levels: Sequence[int] = (500, 850),
    time_chunk: int = 8,
) -> Path:
    """Write a WeatherBench 2 style zarr store (canonical names, ``level`` dim).

    Returns
    -------
    Path
        The store path; contents equal :func:`mock_gridded_dataset` with the same arguments.
    """
    ds = mock_gridded_dataset(start, periods, freq, n_lat, n_lon, levels=levels)
    ds = ds.chunk({"time": time_chunk})
    ds.to_zarr(path, mode="w", consolidated=False)
    return Path(path)


def mock_radar_dataset(
    periods: int = 12, ny: int = 24, nx: int = 20, freq: str = "5min", seed: int = 0
) -> xr.Dataset:
    """A radar-convention dataset: ``precipitation_rate(time, y, x)`` mm/h with a NaN corner.

    The top-left ``ny // 4`` x ``nx // 4`` pixels are outside coverage (NaN in every frame); rain is
    a blob moving one pixel east per step, plus a seeded drizzle.
    """
    from gmgclim.conventions import variable_attrs

    rng = np.random.default_rng(seed)
    times = pd.date_range("2020-06-01 12:00", periods=periods, freq=freq)
    yy, xx = np.mgrid[0:ny, 0:nx]
    frames = []
    for t in range(periods):
        blob = 8.0 * np.exp(-(((yy - ny / 2) ** 2) + (xx - 3 - t) ** 2) / 8.0)
        frames.append(blob + rng.uniform(0.0, 0.1, size=(ny, nx)))
    data = np.stack(frames).astype(np.float32)
    data[:, : ny // 4, : nx // 4] = np.nan
    attrs = {**variable_attrs("precipitation_rate"), "grid_mapping": "crs"}
    crs = xr.DataArray(
        np.int32(0),
        attrs={
            "grid_mapping_name": "polar_stereographic",
            "straight_vertical_longitude_from_pole": 0.0,
            "latitude_of_projection_origin": 90.0,
            "standard_parallel": 60.0,
            "false_easting": 0.0,
            "false_northing": 0.0,
            "semi_major_axis": 6378137.0,
            "semi_minor_axis": 6356752.0,
        },
    )
    return xr.Dataset(
        {"precipitation_rate": (("time", "y", "x"), data, attrs), "crs": crs},
        coords={
            "time": times.values,
            "y": ("y", -3650500.0 - 1000.0 * np.arange(ny), {"units": "m"}),
            "x": ("x", 500.0 + 1000.0 * np.arange(nx), {"units": "m"}),
        },
    )


def write_mock_radar_catalog(
    folder: Path, entry: str = "mock-radar", periods: int = 14, ny: int = 32, nx: int = 40
) -> tuple[Path, xr.Dataset]:
    """:func:`mock_radar_dataset` as a netCDF file and a catalog naming it, in ``folder``.

    Parameters
    ----------
    folder : Path
        Where ``mock_radar.nc`` and ``catalog.yaml`` are written.
    entry : str
        The catalog entry (driver ``radar-netcdf``, channel ``precip``).
    periods, ny, nx : int
        Frames (5 min apart) and grid size of the dataset.

    Returns
    -------
    (Path, xr.Dataset)
        The catalog file (point ``GMGCLIM_CATALOGS`` at it) and the dataset written.
    """
    radar = mock_radar_dataset(periods=periods, ny=ny, nx=nx)
    path = Path(folder) / "mock_radar.nc"
    radar.to_netcdf(path)
    catalog = Path(folder) / "catalog.yaml"
    catalog.write_text(
        "entries:\n"
        f"  {entry}:\n"
        "    description: moving blob\n"
        "    driver: radar-netcdf\n"
        f"    location: {path}\n"
        "    variables: [precipitation_rate]\n"
        "    channels: [precip]\n"
    )
    return catalog, radar


def write_mock_odim_hdf5(
    directory: str | Path,
    periods: int = 4,
    ny: int = 30,
    nx: int = 40,
    quantity: str = "DBZH",
    start: str = "2021-07-14 10:00",
    freq: str = "15min",
    pixel_m: float = 2000.0,
) -> list[Path]:
    """Write ODIM HDF5 composite files (one frame each) on a LAEA grid.

    Raw data are uint8 with ``gain`` 0.5, ``offset`` -32, ``nodata`` 255 (the left 5 columns) and
    ``undetect`` 0; the raw count at ``(t, j, i)`` is ``(10 + t + j + i) % 200 + 1``.

    Returns
    -------
    list of Path
    """
    import h5py
    import pyproj

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    projdef = "+proj=laea +lat_0=55 +lon_0=10 +x_0=1950000 +y_0=-2100000 +ellps=WGS84"
    x1, y1 = 0.0, 0.0
    x2, y2 = nx * pixel_m, ny * pixel_m
    inverse = pyproj.Transformer.from_crs(projdef, "EPSG:4326", always_xy=True)
    ll = inverse.transform(x1, y1)
    ur = inverse.transform(x2, y2)
    ul = inverse.transform(x1, y2)
    lr = inverse.transform(x2, y1)
    paths = []
    for t, when in enumerate(pd.date_range(start, periods=periods, freq=freq)):
        jj, ii = np.mgrid[0:ny, 0:nx]
        raw = ((10 + t + jj + ii) % 200 + 1).astype(np.uint8)
        raw[:, :5] = 255
        path = directory / f"T_PAAH21_C_EUOC_{when:%Y%m%d%H%M%S}.h5"
        with h5py.File(path, "w") as f:
            f.attrs["Conventions"] = np.bytes_("ODIM_H5/V2_2")
            what = f.create_group("what")
            what.attrs["object"] = np.bytes_("COMP")
            what.attrs["date"] = np.bytes_(f"{when:%Y%m%d}")
            what.attrs["time"] = np.bytes_(f"{when:%H%M%S}")
            where = f.create_group("where")
            where.attrs["projdef"] = np.bytes_(projdef)
            where.attrs["xsize"] = np.int64(nx)
            where.attrs["ysize"] = np.int64(ny)
            where.attrs["xscale"] = np.float64(pixel_m)
            where.attrs["yscale"] = np.float64(pixel_m)
            for key, (lo, la) in {"LL": ll, "UR": ur, "UL": ul, "LR": lr}.items():
                where.attrs[f"{key}_lon"] = np.float64(lo)
                where.attrs[f"{key}_lat"] = np.float64(la)
            data1 = f.create_group("dataset1/data1")
            dwhat = data1.create_group("what")
            dwhat.attrs["quantity"] = np.bytes_(quantity)
            dwhat.attrs["gain"] = np.float64(0.5)
            dwhat.attrs["offset"] = np.float64(-32.0)
            dwhat.attrs["nodata"] = np.float64(255)
            dwhat.attrs["undetect"] = np.float64(0)
            data1.create_dataset("data", data=raw)
        paths.append(path)
    return paths


#: CF attributes of an Albers equal-area grid mapping (Australian radar mosaics use one).
ALBERS_GRID_MAPPING = {
    "grid_mapping_name": "albers_conical_equal_area",
    "standard_parallel": [-18.0, -36.0],
    "longitude_of_central_meridian": 132.0,
    "latitude_of_projection_origin": 0.0,
    "false_easting": 0.0,
    "false_northing": 0.0,
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257222101,
}


def write_mock_slp_netcdf(path: Path, days: int = 60) -> Path:
    """Write daily ``slp`` (Pa) on a 16 x 24 regional 2.5 deg grid, latitude descending (NCEP style).

    Parameters
    ----------
    path : Path
        netCDF file to write.
    days : int
        Number of daily frames from 2001-01-01.

    Returns
    -------
    Path
        ``path``; the names (``slp``, ``lat``, ``lon``) and units (Pa) are not canonical on purpose.
    """
    lat = np.arange(70.0, 30.0, -2.5)  # 16, descending
    lon = np.arange(280.0, 340.0, 2.5)  # 24
    time = pd.date_range("2001-01-01", periods=days, freq="1D")
    t = np.arange(days)[:, None, None]
    yy, xx = np.meshgrid(np.arange(lat.size), np.arange(lon.size), indexing="ij")
    wave = 1500.0 * np.sin(2 * np.pi * (xx[None] - 0.8 * t) / 24.0) * np.cos(yy[None] / 5.0)
    rng = np.random.default_rng(0)
    values = 101325.0 + wave + 100.0 * rng.standard_normal((days, lat.size, lon.size))
    ds = xr.Dataset(
        {"slp": (("time", "lat", "lon"), values.astype(np.float32), {"units": "Pa"})},
        coords={
            "time": time,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )
    ds.to_netcdf(path)
    return path


def write_mock_albers_radar_netcdf(path: Path, frames: int = 48, n: int = 32) -> Path:
    """Write 10-minute ``precipitation`` amounts (mm) on an ``n`` x ``n`` Albers grid of 2 km cells.

    Parameters
    ----------
    path : Path
        netCDF file to write.
    frames : int
        Number of 10-minute frames from 2022-02-01 00:00.
    n : int
        Cells along y and x.

    Returns
    -------
    Path
        ``path``; the grid mapping variable is called ``albers`` and the two northern rows are NaN.
    """
    x = -200_000.0 + 2000.0 * np.arange(n)
    y = -3_000_000.0 - 2000.0 * np.arange(n)  # row 0 north
    time = pd.date_range("2022-02-01T00:00", periods=frames, freq="10min")
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    amounts = np.zeros((frames, n, n), np.float32)
    for k in range(frames):
        cy, cx = 10 + 0.2 * k, 4 + 0.5 * k % 24
        amounts[k] = 0.8 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
    amounts[:, :2, :] = np.nan  # outside coverage
    ds = xr.Dataset(
        {
            "precipitation": (
                ("time", "y", "x"),
                amounts,
                {"units": "mm", "long_name": "10-minute accumulation", "grid_mapping": "albers"},
            ),
            "albers": ((), np.int32(0), ALBERS_GRID_MAPPING),
        },
        coords={
            "time": time,
            "y": ("y", y, {"units": "m", "standard_name": "projection_y_coordinate"}),
            "x": ("x", x, {"units": "m", "standard_name": "projection_x_coordinate"}),
        },
    )
    ds.to_netcdf(path)
    return path
