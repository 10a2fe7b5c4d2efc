"""Radar composites read with pysteps' importers, one frame per file: KNMI HDF5, FMI PGM, ODIM HDF5.

Each reader parses the file headers eagerly (h5py / gzip: time stamp and grid, so that mixed grids
and duplicate times are reported at open time) and stacks the frames lazily with
:func:`gmgclim.data.radar_frames.stack_frames`.
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import numpy as np
import xarray as xr

from gmgclim.data.radar_frames import (
    FrameHeader,
    check_headers,
    expand_paths,
    pixel_centres,
    pysteps_importers,
    read_frame,
    stack_frames,
)
from gmgclim.errors import DataError

__all__ = ["open_fmi_pgm", "open_knmi_hdf5", "open_odim_hdf5"]


# --------------------------------------------------------------------------- KNMI HDF5


def _knmi_header(path: Path) -> FrameHeader:
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
    return FrameHeader(path, np.datetime64(when, "ns"), grid)


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
    importers = pysteps_importers()
    paths = expand_paths(location, "*.h5")
    headers = check_headers([_knmi_header(p) for p in paths], "KNMI HDF5")
    _, _, meta = importers.import_knmi_hdf5(
        str(headers[0].path), qty="ACRR", accutime=accumulation_minutes, pixelsize=1000.0
    )
    x, y, proj4 = pixel_centres(meta)
    scale = 60.0 / accumulation_minutes

    def read(path: Path) -> np.ndarray:
        return read_frame(
            path,
            importers.import_knmi_hdf5,
            scale,
            qty="ACRR",
            accutime=accumulation_minutes,
            pixelsize=1000.0,
        )

    return stack_frames(
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


def _fmi_header(path: Path) -> FrameHeader:
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
    return FrameHeader(path, when, grid)


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
    importers = pysteps_importers()
    paths = expand_paths(location, "*.pgm*")
    headers = check_headers([_fmi_header(p) for p in paths], "FMI PGM")

    def gz(path: Path) -> bool:
        return path.suffix == ".gz"

    _, _, meta = importers.import_fmi_pgm(str(headers[0].path), gzipped=gz(headers[0].path))
    x, y, proj4 = pixel_centres(meta)

    def read(path: Path) -> np.ndarray:
        return read_frame(path, importers.import_fmi_pgm, 1.0, gzipped=gz(path))

    return stack_frames(
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


def _odim_header(path: Path) -> FrameHeader:
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
    return FrameHeader(path, np.datetime64(when, "ns"), grid)


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
    importers = pysteps_importers()
    paths = expand_paths(location, "*.h5")
    headers = check_headers([_odim_header(p) for p in paths], "ODIM HDF5")
    try:
        _, _, meta = importers.import_odim_hdf5(str(headers[0].path), qty=quantity)
    except Exception as exc:
        raise DataError(f"cannot read ODIM file {headers[0].path}: {exc}") from exc
    x, y, proj4 = pixel_centres(meta)
    scale = 60.0 / accumulation_minutes if quantity == "ACRR" else 1.0
    extra: dict[str, str | float] = {"odim_quantity": quantity}
    if quantity == "ACRR":
        extra["accumulation_minutes"] = accumulation_minutes

    def read(path: Path) -> np.ndarray:
        return read_frame(path, importers.import_odim_hdf5, scale, qty=quantity)

    return stack_frames(
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
