"""Lazy readers for radar composites: KNMI HDF5, FMI PGM, ODIM HDF5 and the bundled netCDF files.

Each reader takes a directory, a glob or a list of files holding one frame each and returns one lazy
``(time, y, x)`` :class:`xarray.Dataset` in the radar convention of ``ARCHITECTURE.md``:

- ``x``/``y`` pixel centres in metres in the native projection (row 0 is north), a CF grid-mapping
  variable ``crs`` and 2-D ``latitude``/``longitude`` auxiliary coordinates (pyproj);
- ``precipitation_rate`` in mm/h (accumulations are divided by their period, the period is kept in
  the attribute ``accumulation_minutes``) or ``reflectivity`` in dBZ;
- NaN for no-data (outside coverage); float32; one dask chunk per frame.

File headers (time stamp and grid) are read eagerly with h5py / gzip so that mixed grids and duplicate
times are reported at open time, naming the files. Pixels are decoded lazily, one
:func:`dask.delayed` call per file, by pysteps' importers (``import_knmi_hdf5``, ``import_fmi_pgm``,
``import_odim_hdf5``), the field's standard readers for these formats
(:mod:`gmgclim.data.radar_formats`, on the shared stacking of :mod:`gmgclim.data.radar_frames`).
This module reads the stacked netCDF conversions and is the public face of all of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from gmgclim.data.radar_formats import open_fmi_pgm, open_knmi_hdf5, open_odim_hdf5
from gmgclim.data.radar_frames import add_latlon
from gmgclim.errors import DataError

__all__ = [
    "add_latlon",
    "open_fmi_pgm",
    "open_knmi_hdf5",
    "open_odim_hdf5",
    "open_radar_netcdf",
]


def _accumulation_to_rate(
    ds: xr.Dataset, path: Path, variable: str | None, accumulation_minutes: float
) -> xr.Dataset:
    """Turn an accumulation (mm per ``accumulation_minutes``) into ``precipitation_rate`` (mm/h)."""
    from gmgclim.conventions import variable_attrs

    if accumulation_minutes <= 0:
        raise DataError(
            f"{path}: accumulation_minutes must be positive, got {accumulation_minutes!r}"
        )
    if variable is None:
        amounts = [
            str(v)
            for v, da in ds.data_vars.items()
            if {"y", "x"} <= set(da.dims)
            and str(da.attrs.get("units", "")).strip() in ("mm", "kg m-2", "kg m**-2")
        ]
        if len(amounts) != 1:
            raise DataError(
                f"{path}: accumulation_minutes is set but {len(amounts)} variables are "
                f"accumulations in mm ({amounts}); name one with the option 'variable'"
            )
        variable = amounts[0]
    if variable not in ds.data_vars:
        raise DataError(
            f"{path}: option 'variable' = {variable!r} is not in the file; it has "
            f"{sorted(map(str, ds.data_vars))}"
        )
    da = ds[variable]
    scale = 60.0 / float(accumulation_minutes)
    rate = (da.astype(np.float32) * np.float32(scale)).assign_attrs(
        {
            **{k: v for k, v in da.attrs.items() if k not in ("units", "long_name")},
            **variable_attrs("precipitation_rate"),
            "source_name": variable,
            "accumulation_minutes": float(accumulation_minutes),
            "conversion": f"{variable} ({da.attrs.get('units', 'mm')}) x {scale:g}",
        }
    )
    rate.encoding = {}
    ds = ds.drop_vars(variable)
    if "precipitation_rate" in ds.data_vars:
        raise DataError(f"{path}: has both {variable!r} and precipitation_rate")
    ds["precipitation_rate"] = rate
    return ds


def open_radar_netcdf(
    path: str | Path,
    chunks: dict | None = None,
    accumulation_minutes: float | None = None,
    variable: str | None = None,
) -> xr.Dataset:
    """Open a stacked radar netCDF (the bundled KNMI/FMI conversions) in the radar convention.

    Parameters
    ----------
    path : str or Path
        netCDF file with ``(time, y, x)`` fields, a grid-mapping variable and projected ``x``/``y``.
    chunks : dict, optional
        dask chunks; default one frame per chunk.
    accumulation_minutes : float, optional
        The file holds accumulations (mm) over this many minutes: they become
        ``precipitation_rate`` in mm/h (x 60 / period). Default: KNMI ``precip_5min`` is read as a
        5-minute accumulation, other variables as they are.
    variable : str, optional
        The accumulation variable (default: the only field in mm or kg m-2).

    Returns
    -------
    xr.Dataset
        Canonical names and units (KNMI ``precip_5min`` -> ``precipitation_rate`` mm/h, FMI ``dbz`` ->
        ``reflectivity``), x/y in metres, 2-D latitude/longitude.
    """
    from gmgclim.conventions import canonicalize

    path = Path(path)
    if not path.is_file():
        raise DataError(f"radar netCDF file not found: {path}")
    try:
        ds = xr.open_dataset(path, chunks=chunks if chunks is not None else {"time": 1})
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot open radar netCDF {path}: {exc}") from exc
    if not {"y", "x", "time"} <= set(ds.dims):
        raise DataError(f"{path}: expected dims (time, y, x), got {dict(ds.sizes)}")
    ds = ds.drop_vars([v for v in ("time_bnds",) if v in ds.variables])
    if accumulation_minutes is not None:
        ds = _accumulation_to_rate(ds, path, variable, accumulation_minutes)
    elif variable is not None:
        raise DataError(f"{path}: option 'variable' needs accumulation_minutes")
    ds = canonicalize(ds)
    for name in ("x", "y"):
        if ds[name].attrs.get("units") == "km":
            attrs = {**ds[name].attrs, "units": "m"}
            ds = ds.assign_coords(
                {name: (name, np.asarray(ds[name].values, np.float64) * 1000.0, attrs)}
            )
    gm_names = [v for v in ds.variables if "grid_mapping_name" in ds[v].attrs]
    if not gm_names:
        raise DataError(f"{path}: no CF grid-mapping variable")
    if gm_names[0] != "crs":
        ds = ds.rename({gm_names[0]: "crs"})
    for v in ds.data_vars:
        if "grid_mapping" in ds[v].attrs:
            ds[v].attrs["grid_mapping"] = "crs"
    if "precipitation_rate" in ds and "accumulation_minutes" not in ds["precipitation_rate"].attrs:
        source = ds["precipitation_rate"].attrs.get("source_name", "")
        if source == "precip_5min":
            ds["precipitation_rate"].attrs["accumulation_minutes"] = 5.0
    return add_latlon(ds)
