"""Statics: per-pixel constant inputs (position encodings, a land-sea mask) that a model reads.

Names (``data.statics`` in a recipe):

``sin_latitude``, ``cos_latitude``, ``sin_longitude``, ``cos_longitude``
    Position on the sphere (smooth across the date line), in [-1, 1].
``land_sea_mask``
    Land fraction of each cell, in [0, 1], rasterised from the Natural Earth 1:110m land polygons
    shipped with gmgclim (no download): each cell is sampled at 4 x 4 points spread over the cell
    (cell size from the grid spacing) and the share that falls on land is kept.

All values are already of order one, so these statics are not normalised.

Any other name is a 2-D field the task's catalog entry declares under ``statics:`` (orography, land
cover; read by :mod:`gmgclim.data.catalog_statics`). It is put on the model's grid by the entry's
and the task's grid operations, then standardised to mean 0 and standard deviation 1 over its
finite cells of that grid (:func:`standardise`), NaN cells set to 0, so that metres of orography
and class numbers of land cover reach the model as inputs of order one like the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gmgclim.errors import DataError

if TYPE_CHECKING:
    from gmgclim.data.catalog_entry import CatalogEntry

__all__ = ["STATICS", "check_static_names", "land_fraction", "standardise", "static_fields"]

_SUBSAMPLES = 4


def _land_shapefile() -> Path:
    from gmgclim.data.catalog import sample_data_dir

    return (
        sample_data_dir()
        / "natural_earth"
        / "shapefiles"
        / "natural_earth"
        / "physical"
        / "ne_110m_land.shp"
    )


@lru_cache(maxsize=1)
def _land_geometry():
    """The union of the Natural Earth land polygons (a shapely geometry, lon in [-180, 180])."""
    try:
        import shapely
        from cartopy.io import shapereader
    except ImportError as err:  # pragma: no cover - both are dependencies
        raise ImportError(
            "the land-sea mask needs shapely and cartopy: pip install cartopy"
        ) from err
    path = _land_shapefile()
    if not path.is_file():
        raise DataError(f"Natural Earth land polygons {path} are missing from the gmgclim package")
    geometry = shapely.union_all(list(shapereader.Reader(str(path)).geometries()))
    shapely.prepare(geometry)
    return geometry


def _cell_offsets(coord: np.ndarray, axis: int) -> np.ndarray:
    """Cell sizes along one axis of a 2-D coordinate, (H, W) (edge cells copy their neighbour)."""
    diff = np.abs(np.diff(coord, axis=axis))
    if diff.size == 0:
        return np.zeros_like(coord)
    pad = [(0, 0), (0, 0)]
    pad[axis] = (0, 1)
    return np.pad(diff, pad, mode="edge")


def land_fraction(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Share of each cell on land, from 4 x 4 sample points per cell.

    Parameters
    ----------
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees of the cell centres (longitude in any convention).

    Returns
    -------
    np.ndarray
        (H, W) float32 in [0, 1].
    """
    import shapely

    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.mod(np.asarray(longitude, dtype=np.float64) + 180.0, 360.0) - 180.0
    dlat = _cell_offsets(lat, 0) if lat.shape[0] > 1 else np.zeros_like(lat)
    dlon_raw = np.asarray(longitude, dtype=np.float64)
    dlon = _cell_offsets(dlon_raw, 1) if lat.shape[1] > 1 else np.zeros_like(lat)
    dlon = np.where(dlon > 180.0, 360.0 - dlon, dlon)
    fractions = (np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5
    land = np.zeros(lat.shape, dtype=np.float64)
    geometry = _land_geometry()
    for fy in fractions:
        for fx in fractions:
            y = np.clip(lat + fy * dlat, -90.0, 90.0)
            x = np.mod(lon + fx * dlon + 180.0, 360.0) - 180.0
            land += shapely.contains_xy(geometry, x, y)
    return (land / _SUBSAMPLES**2).astype(np.float32)


def _trig(fn: Callable, which: str) -> Callable:
    def field(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return fn(np.deg2rad(lat if which == "lat" else lon)).astype(np.float32)

    return field


#: name -> f(latitude (H, W), longitude (H, W)) -> (H, W) float32.
STATICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sin_latitude": _trig(np.sin, "lat"),
    "cos_latitude": _trig(np.cos, "lat"),
    "sin_longitude": _trig(np.sin, "lon"),
    "cos_longitude": _trig(np.cos, "lon"),
    "land_sea_mask": land_fraction,
}


def check_static_names(
    names: Sequence[str], where: str = "data.statics", entry: CatalogEntry | str | None = None
) -> None:
    """Raise a DataError if a name is neither built-in nor declared by the task's catalog entry.

    Parameters
    ----------
    names : sequence of str
        ``data.statics`` of a recipe or task.
    where : str
        Named at the start of the message.
    entry : CatalogEntry or str, optional
        The task's entry (or its name, looked up in the catalogs only when a name is not
        built-in; an entry the catalogs lack is left to the reader to name): its ``statics:``
        are accepted too.

    Raises
    ------
    DataError
        One line listing the unknown names, the built-in names and the entry's statics.
    """
    unknown = [n for n in names if n not in STATICS]
    if not unknown:
        return
    if isinstance(entry, str) and entry:
        from gmgclim.data.catalog import load_catalogs

        entries = load_catalogs()
        if entry not in entries:
            # checked when the statics are read (a stored task is scored without its catalog)
            return
        entry = entries[entry]
    declared = () if entry is None or isinstance(entry, str) else entry.static_names
    unknown = [n for n in unknown if n not in declared]
    if unknown:
        from_entry = (
            ""
            if entry is None or isinstance(entry, str)
            else f"; catalog entry {entry.name!r} ({entry.catalog_file}) declares "
            f"{list(declared) or 'none'}"
        )
        raise DataError(
            f"{where}: unknown statics {unknown}; known: {sorted(STATICS)} (built-in)" + from_entry
        )


def standardise(values: np.ndarray) -> np.ndarray:
    """A field scaled to mean 0 and standard deviation 1 over its finite cells; NaN/inf -> 0.

    Parameters
    ----------
    values : np.ndarray, shape (H, W)
        Physical values (any units).

    Returns
    -------
    np.ndarray
        (H, W) float32, dimensionless. A constant field (or one without finite cells) is all 0.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.float32)
    mean = values[finite].mean()
    std = values[finite].std()
    scaled = (values - mean) / std if std > 0 else values - mean
    return np.where(finite, scaled, 0.0).astype(np.float32)


def static_fields(names: Sequence[str], latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """The named built-in statics on a grid.

    Parameters
    ----------
    names : sequence of str
        Keys of :data:`STATICS`, in channel order (an entry's statics are read by
        :func:`gmgclim.data.catalog_statics.task_static_fields`).
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees of every cell.

    Returns
    -------
    np.ndarray
        (S, H, W) float32, S = len(names).
    """
    check_static_names(names)
    lat, lon = np.asarray(latitude, dtype=np.float64), np.asarray(longitude, dtype=np.float64)
    if not names:
        return np.zeros((0, *lat.shape), dtype=np.float32)
    return np.stack([STATICS[n](lat, lon) for n in names]).astype(np.float32)
