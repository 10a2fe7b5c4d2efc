"""Shared by the radar readers: files holding one frame each -> one lazy ``(time, y, x)`` dataset.

Paths from a directory or glob, file headers checked for mixed grids and duplicate times,
pixel centres and the CF grid mapping from pysteps metadata (km axes rescaled to metres), frames
decoded lazily (one :func:`dask.delayed` call per file) and stacked, 2-D latitude/longitude from
pyproj. The per-format readers are in :mod:`gmgclim.data.radar_formats`.
"""

from __future__ import annotations

import glob as _glob
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import xarray as xr

from gmgclim.conventions import variable_attrs
from gmgclim.errors import DataError

__all__ = [
    "FrameHeader",
    "add_latlon",
    "check_headers",
    "expand_paths",
    "pixel_centres",
    "pysteps_importers",
    "read_frame",
    "stack_frames",
]


@dataclass(frozen=True)
class FrameHeader:
    """One radar file: its path, valid time and grid description (compared across files)."""

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


def pysteps_importers():
    """``pysteps.io.importers``, or an ImportError that says to install pysteps."""
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
    """The CF grid-mapping variable ``crs`` of a proj string (which it keeps as ``proj4_params``)."""
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


def check_headers(headers: list[FrameHeader], kind: str) -> list[FrameHeader]:
    """The headers in time order; DataError naming the files on mixed grids or a repeated time.

    Parameters
    ----------
    headers : list of FrameHeader
        One per file.
    kind : str
        The format, for messages (``"KNMI HDF5"``).

    Returns
    -------
    list of FrameHeader
        Sorted by time.
    """
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


def stack_frames(
    headers: list[FrameHeader],
    read: Callable[[Path], np.ndarray],
    shape: tuple[int, int],
    variable: str,
    extra_attrs: dict,
    x: np.ndarray,
    y: np.ndarray,
    proj4: str,
    source_attrs: dict,
) -> xr.Dataset:
    """Stack one lazily read frame per file into a ``(time, y, x)`` dataset in the radar convention.

    Parameters
    ----------
    headers : list of FrameHeader
        The files, in time order (:func:`check_headers`).
    read : callable
        ``read(path) -> (ny, nx) float32`` array, called once per file when dask computes.
    shape : (int, int)
        (ny, nx) of every frame.
    variable : str
        Canonical variable name (``precipitation_rate``, ``reflectivity``); its CF attributes are
        added.
    extra_attrs : dict
        Further attributes of the variable (``accumulation_minutes``, ``conversion`` ...).
    x, y : np.ndarray
        Pixel-centre coordinates in metres (:func:`pixel_centres`).
    proj4 : str
        Projection of x/y (metres), stored as the grid-mapping variable ``crs``.
    source_attrs : dict
        Global attributes (``institution``, ``source``).

    Returns
    -------
    xr.Dataset
        Lazy, one dask chunk per frame, with 2-D latitude/longitude (:func:`add_latlon`).
    """
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


def pixel_centres(meta: dict) -> tuple[np.ndarray, np.ndarray, str]:
    """Pixel-centre x (west->east) and y (north->south) in metres from pysteps metadata."""
    factor = 1000.0 if meta["cartesian_unit"] == "km" else 1.0
    nx = round((meta["x2"] - meta["x1"]) / meta["xpixelsize"])
    ny = round((meta["y2"] - meta["y1"]) / meta["ypixelsize"])
    x = (meta["x1"] + (np.arange(nx) + 0.5) * meta["xpixelsize"]) * factor
    y = (meta["y2"] - (np.arange(ny) + 0.5) * meta["ypixelsize"]) * factor
    if meta.get("yorigin", "upper") != "upper":
        raise DataError(f"unsupported yorigin {meta.get('yorigin')!r} (expected 'upper')")
    return x, y, _proj_to_metres(meta["projection"], meta["cartesian_unit"])


def read_frame(path: Path, reader: Callable, scale: float, **kw) -> np.ndarray:
    """One frame read by a pysteps importer (``reader(path, **kw)``) as float32, times ``scale``."""
    try:
        values, _, _ = reader(str(path), **kw)
    except Exception as exc:
        raise DataError(f"cannot read radar file {path}: {exc}") from exc
    out = np.asarray(values, dtype=np.float32)
    if scale != 1.0:
        out = out * np.float32(scale)
    return out
