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
``import_odim_hdf5``), the field's standard readers for these formats.
"""

from __future__ import annotations

import glob as _glob
import gzip
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

import numpy as np
import xarray as xr

from gmgclim.conventions import variable_attrs
from gmgclim.errors import DataError

__all__ = [
    "add_latlon",
    "open_fmi_pgm",
    "open_knmi_hdf5",
    "open_odim_hdf5",
    "open_radar_netcdf",
]


@dataclass(frozen=True)
class _Header:
    path: Path
    time: np.datetime64
    grid: tuple


def expand_paths(location: str | Path | Sequence[str | Path], pattern: str = "*") -> list[Path]:
    """Turn a directory, glob or list of paths into a sorted list of existing files.

    Parameters
    ----------
    location : str, Path or sequence
        A directory (all files matching ``pattern`` inside), a glob pattern, a single file, or a list.
    pattern : str
        File pattern used when ``location`` is a directory.

    Returns
    -------
    list of Path

    Raises
    ------
    DataError
        When nothing matches.
    """
    if isinstance(location, (list, tuple)):
        paths = [Path(p) for p in location]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"radar files not found: {missing[:5]}")
    else:
        loc = Path(cast("str | Path", location)).expanduser()  # not a list or tuple of paths
        if loc.is_dir():
            paths = sorted(p for p in loc.glob(pattern) if p.is_file())
        elif loc.is_file():
            paths = [loc]
        else:
            paths = sorted(Path(p) for p in _glob.glob(str(loc)) if Path(p).is_file())
    if not paths:
        raise DataError(
            f"no files match {str(location)!r}" + (f" (pattern {pattern!r})" if pattern else ""),
            hint="check the path or glob; catalog locations may use ${GMGCLIM_DATA}",
        )
    return sorted(paths)


def _import_pysteps_importers():
    try:
        from pysteps.io import importers
    except ImportError as exc:  # pragma: no cover - pysteps is a declared dependency
        raise ImportError("reading radar files needs pysteps: pip install pysteps") from exc
    return importers


def _proj_to_metres(proj4: str, unit: str) -> str:
    """Rewrite a proj string whose axes are in km (KNMI) to metres."""
    if unit == "m":
        return proj4
    if unit != "km":
        raise DataError(f"unsupported cartesian unit {unit!r} (expected 'm' or 'km')")

    def scale(match: re.Match) -> str:
        return f"+{match.group(1)}={float(match.group(2)) * 1000.0:.6f}"

    return re.sub(r"\+(a|b|x_0|y_0|R)=([-+0-9.eE]+)", scale, proj4)


def _grid_mapping(proj4: str) -> xr.DataArray:
    import pyproj

    crs = pyproj.CRS.from_proj4(proj4)
    attrs = crs.to_cf()
    attrs["proj4_params"] = proj4
    return xr.DataArray(np.int32(0), attrs=attrs)


def add_latlon(ds: xr.Dataset, grid_mapping: str = "crs") -> xr.Dataset:
    """Add 2-D ``latitude``/``longitude`` auxiliary coordinates to a projected ``(y, x)`` dataset.

    Parameters
    ----------
    ds : xr.Dataset
        Dataset with 1-D ``x``/``y`` coordinates in metres and a grid-mapping variable whose
        attributes pyproj understands (``crs_wkt`` or CF parameters).
    grid_mapping : str
        Name of the grid-mapping variable.

    Returns
    -------
    xr.Dataset
        With ``latitude(y, x)`` (degrees north) and ``longitude(y, x)`` (degrees east, [0, 360)).
    """
    import pyproj

    gm = ds[grid_mapping].attrs
    if "crs_wkt" in gm:
        crs = pyproj.CRS.from_wkt(gm["crs_wkt"])
    elif "proj4_params" in gm:
        crs = pyproj.CRS.from_proj4(gm["proj4_params"])
    else:
        crs = pyproj.CRS.from_cf(dict(gm))
    factor = 1000.0 if ds["x"].attrs.get("units") == "km" else 1.0
    xx, yy = np.meshgrid(
        np.asarray(ds["x"].values, np.float64) * factor,
        np.asarray(ds["y"].values, np.float64) * factor,
    )
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(xx, yy)
    return ds.assign_coords(
        latitude=(("y", "x"), lat, {"units": "degrees_north", "standard_name": "latitude"}),
        longitude=(
            ("y", "x"),
            np.mod(lon, 360.0),
            {"units": "degrees_east", "standard_name": "longitude"},
        ),
    )


def _check_headers(headers: list[_Header], kind: str) -> list[_Header]:
    headers = sorted(headers, key=lambda h: h.time)
    first = headers[0]
    for h in headers[1:]:
        if h.grid != first.grid:
            raise DataError(
                f"mixed grids across {kind} files: {h.path} has grid {h.grid}, "
                f"but {first.path} has {first.grid}"
            )
    for a, b in itertools.pairwise(headers):
        if a.time == b.time:
            raise DataError(f"duplicate time {a.time} in {kind} files {a.path} and {b.path}")
    return headers


def _stack(
    headers: list[_Header],
    read: Callable[[Path], np.ndarray],
    shape: tuple[int, int],
    variable: str,
    extra_attrs: dict,
    x: np.ndarray,
    y: np.ndarray,
    proj4: str,
    source_attrs: dict,
) -> xr.Dataset:
    import dask
    import dask.array as dsa

    frames = [
        dsa.from_delayed(dask.delayed(read, pure=True)(h.path), shape=shape, dtype=np.float32)
        for h in headers
    ]
    data = dsa.stack(frames, axis=0)
    attrs = {**variable_attrs(variable), **extra_attrs, "grid_mapping": "crs"}
    ds = xr.Dataset(
        {variable: (("time", "y", "x"), data, attrs), "crs": _grid_mapping(proj4)},
        coords={
            "time": ("time", np.array([h.time for h in headers], dtype="datetime64[ns]")),
            "y": ("y", y, {"units": "m", "standard_name": "projection_y_coordinate"}),
            "x": ("x", x, {"units": "m", "standard_name": "projection_x_coordinate"}),
        },
        attrs={**source_attrs, "Conventions": "CF-1.8"},
    )
    ds["time"].attrs["standard_name"] = "time"
    return add_latlon(ds)


def _centres(meta: dict) -> tuple[np.ndarray, np.ndarray, str]:
    """Pixel-centre x (west->east) and y (north->south) in metres from pysteps metadata."""
    factor = 1000.0 if meta["cartesian_unit"] == "km" else 1.0
    nx = round((meta["x2"] - meta["x1"]) / meta["xpixelsize"])
    ny = round((meta["y2"] - meta["y1"]) / meta["ypixelsize"])
    x = (meta["x1"] + (np.arange(nx) + 0.5) * meta["xpixelsize"]) * factor
    y = (meta["y2"] - (np.arange(ny) + 0.5) * meta["ypixelsize"]) * factor
    if meta.get("yorigin", "upper") != "upper":
        raise DataError(f"unsupported yorigin {meta.get('yorigin')!r} (expected 'upper')")
    return x, y, _proj_to_metres(meta["projection"], meta["cartesian_unit"])


def _read_with(path: Path, reader: Callable, scale: float, **kw) -> np.ndarray:
    try:
        values, _, _ = reader(str(path), **kw)
    except Exception as exc:
        raise DataError(f"cannot read radar file {path}: {exc}") from exc
    out = np.asarray(values, dtype=np.float32)
    if scale != 1.0:
        out = out * np.float32(scale)
    return out


# --------------------------------------------------------------------------- KNMI HDF5


def _knmi_header(path: Path) -> _Header:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            end = f["overview"].attrs["product_datetime_end"]
            geo = f["geographic"].attrs
            proj = f["geographic/map_projection"].attrs["projection_proj4_params"]
            grid = (
                int(np.ravel(geo["geo_number_rows"])[0]),
                int(np.ravel(geo["geo_number_columns"])[0]),
                float(np.ravel(geo["geo_pixel_size_x"])[0]),
                float(np.ravel(geo["geo_pixel_size_y"])[0]),
                float(np.ravel(geo["geo_row_offset"])[0]),
                float(np.ravel(geo["geo_column_offset"])[0]),
                proj.decode() if isinstance(proj, bytes) else str(proj),
            )
            if "image1/image_data" not in f:
                raise KeyError("image1/image_data")
    except (OSError, KeyError) as exc:
        raise DataError(f"corrupt or non-KNMI HDF5 file {path}: {exc}") from exc
    text = np.ravel(end)[0]
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        when = datetime.strptime(text.title(), "%d-%b-%Y;%H:%M:%S.%f")
    except ValueError as exc:
        raise DataError(f"{path}: cannot parse product_datetime_end {text!r}") from exc
    return _Header(path, np.datetime64(when, "ns"), grid)


def open_knmi_hdf5(location, accumulation_minutes: float = 5.0) -> xr.Dataset:
    """Open KNMI ``RAD_NL25_RAP_*`` HDF5 accumulation files as a lazy precipitation-rate sequence.

    Parameters
    ----------
    location : str, Path or sequence
        Directory (``*.h5``), glob or list of files, one frame per file.
    accumulation_minutes : float
        Accumulation period of each file (5 for ``RAD_NL25_RAP_5min``).

    Returns
    -------
    xr.Dataset
        ``precipitation_rate(time, y, x)`` float32 in mm/h (accumulation in mm x 60 / period), NaN
        outside radar coverage; ``time`` is the end of the accumulation window.
    """
    importers = _import_pysteps_importers()
    paths = expand_paths(location, "*.h5")
    headers = _check_headers([_knmi_header(p) for p in paths], "KNMI HDF5")
    _, _, meta = importers.import_knmi_hdf5(
        str(headers[0].path), qty="ACRR", accutime=accumulation_minutes, pixelsize=1000.0
    )
    x, y, proj4 = _centres(meta)
    scale = 60.0 / accumulation_minutes

    def read(path: Path) -> np.ndarray:
        return _read_with(
            path,
            importers.import_knmi_hdf5,
            scale,
            qty="ACRR",
            accutime=accumulation_minutes,
            pixelsize=1000.0,
        )

    return _stack(
        headers,
        read,
        (y.size, x.size),
        "precipitation_rate",
        {"accumulation_minutes": accumulation_minutes, "conversion": f"mm x {scale:g}"},
        x,
        y,
        proj4,
        {"institution": "KNMI", "source": "KNMI RAD_NL25_RAP HDF5 (read with pysteps)"},
    )


# --------------------------------------------------------------------------- FMI PGM


def _fmi_header(path: Path) -> _Header:
    fields: dict[str, str] = {}
    size: tuple[int, int] | None = None
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            magic = f.readline().strip()
            if magic != b"P5":
                raise DataError(f"{path} is not a binary PGM (magic {magic!r}, expected b'P5')")
            for _ in range(200):
                line = f.readline()
                if not line:
                    break
                text = line.decode("ascii", "replace").strip()
                if text.startswith("#"):
                    parts = text[1:].strip().split(None, 1)
                    if len(parts) == 2:
                        fields.setdefault(parts[0], parts[1])
                elif text:
                    w, h = text.split()[:2]
                    size = (int(h), int(w))
                    break
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"corrupt PGM file {path}: {exc}") from exc
    if size is None or "obstime" not in fields:
        raise DataError(f"{path}: PGM header lacks the image size or '# obstime'")
    when = np.datetime64(datetime.strptime(fields["obstime"], "%Y%m%d%H%M"), "ns")
    grid = (
        size,
        fields.get("metersperpixel_x"),
        fields.get("metersperpixel_y"),
        fields.get("bottomleft"),
        fields.get("topright"),
    )
    return _Header(path, when, grid)


def open_fmi_pgm(location) -> xr.Dataset:
    """Open FMI radar composite PGM files (``*.pgm`` or ``*.pgm.gz``) as a lazy reflectivity sequence.

    Parameters
    ----------
    location : str, Path or sequence
        Directory, glob or list of files, one frame per file.

    Returns
    -------
    xr.Dataset
        ``reflectivity(time, y, x)`` float32 in dBZ (count 0 = -32 dBZ = no echo), NaN for no data.
    """
    importers = _import_pysteps_importers()
    paths = expand_paths(location, "*.pgm*")
    headers = _check_headers([_fmi_header(p) for p in paths], "FMI PGM")

    def gz(path: Path) -> bool:
        return path.suffix == ".gz"

    _, _, meta = importers.import_fmi_pgm(str(headers[0].path), gzipped=gz(headers[0].path))
    x, y, proj4 = _centres(meta)

    def read(path: Path) -> np.ndarray:
        return _read_with(path, importers.import_fmi_pgm, 1.0, gzipped=gz(path))

    return _stack(
        headers,
        read,
        (y.size, x.size),
        "reflectivity",
        {"product": "lowest CAPPI composite (CorrectedReflectivity)"},
        x,
        y,
        proj4,
        {
            "institution": "Finnish Meteorological Institute",
            "source": "FMI PGM (read with pysteps)",
        },
    )


# --------------------------------------------------------------------------- ODIM HDF5


_ODIM_VARIABLE = {
    "DBZH": "reflectivity",
    "RATE": "precipitation_rate",
    "ACRR": "precipitation_rate",
}


def _odim_header(path: Path) -> _Header:
    import h5py

    def text(value) -> str:
        value = np.ravel(value)[0] if np.ndim(value) else value
        return value.decode() if isinstance(value, bytes) else str(value)

    try:
        with h5py.File(path, "r") as f:
            what = f["what"].attrs
            where = f["where"].attrs
            stamp = text(what["date"]) + text(what["time"])[:6]
            grid = (
                text(where["projdef"]),
                int(where["xsize"]),
                int(where["ysize"]),
                float(where["xscale"]),
                float(where["yscale"]),
                float(where["LL_lon"]),
                float(where["LL_lat"]),
            )
    except (OSError, KeyError) as exc:
        raise DataError(f"corrupt or non-ODIM HDF5 file {path}: {exc}") from exc
    try:
        when = datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise DataError(f"{path}: cannot parse ODIM what/date+time {stamp!r}") from exc
    return _Header(path, np.datetime64(when, "ns"), grid)


def open_odim_hdf5(location, quantity: str = "DBZH", accumulation_minutes: float = 60.0):
    """Open ODIM HDF5 composites (OPERA style) as a lazy sequence.

    Parameters
    ----------
    location : str, Path or sequence
        Directory (``*.h5``), glob or list of files, one frame per file.
    quantity : {"DBZH", "RATE", "ACRR"}
        ODIM quantity; DBZH -> ``reflectivity`` (dBZ), RATE -> ``precipitation_rate`` (mm/h),
        ACRR (accumulation in mm over ``accumulation_minutes``) -> ``precipitation_rate`` (mm/h).
    accumulation_minutes : float
        Period of ACRR accumulations.

    Returns
    -------
    xr.Dataset
    """
    if quantity not in _ODIM_VARIABLE:
        raise DataError(
            f"ODIM quantity {quantity!r} not supported; use one of {list(_ODIM_VARIABLE)}"
        )
    importers = _import_pysteps_importers()
    paths = expand_paths(location, "*.h5")
    headers = _check_headers([_odim_header(p) for p in paths], "ODIM HDF5")
    try:
        _, _, meta = importers.import_odim_hdf5(str(headers[0].path), qty=quantity)
    except Exception as exc:
        raise DataError(f"cannot read ODIM file {headers[0].path}: {exc}") from exc
    x, y, proj4 = _centres(meta)
    scale = 60.0 / accumulation_minutes if quantity == "ACRR" else 1.0
    extra: dict[str, str | float] = {"odim_quantity": quantity}
    if quantity == "ACRR":
        extra["accumulation_minutes"] = accumulation_minutes

    def read(path: Path) -> np.ndarray:
        return _read_with(path, importers.import_odim_hdf5, scale, qty=quantity)

    return _stack(
        headers,
        read,
        (y.size, x.size),
        _ODIM_VARIABLE[quantity],
        extra,
        x,
        y,
        proj4,
        {"source": "ODIM HDF5 composite (read with pysteps)"},
    )


# --------------------------------------------------------------------------- converted netCDF


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
