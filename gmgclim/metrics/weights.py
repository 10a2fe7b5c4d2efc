"""Area weights for spatial averages, from a grid's own latitude cell bounds.

The one copy of latitude row weights in gmgclim. Two conventions are kept apart because they give
different numbers near the poles:

- WeatherBench 1 weights a grid row by ``cos(latitude)`` of its centre
  (:func:`latitude_weights_wb1`);
- WeatherBench 2 weights it by the area of its cells (:func:`cell_area_weights`): on the unit sphere,
  per radian of longitude, ``sin(upper bound) - sin(lower bound)``.

Where the cell bounds come from (:func:`latitude_cell_bounds`):

1. the CF ``bounds`` variable of the latitude coordinate when there is one (``latitude.attrs["bounds"]``
   naming a (n_lat, 2) variable in degrees north);
2. otherwise midpoints between neighbouring rows, and for the first and last rows half a grid step
   beyond the row (the step to its neighbour), clipped at +-90.

On a global equiangular grid (WeatherBench's 5.625 deg rows at +-87.1875 .. or the 0.25 deg rows at
-90 .. 90) half a step beyond the edge rows is the pole (or beyond it, clipped), so the weights are
exactly WeatherBench 2's ``get_lat_weights``, which bounds the edge rows at the poles. On a regional
grid (the UK crop, 50.4 .. 57.9 N) they are the true cell areas, where bounding the edge rows at the
poles would give those two rows almost all the weight.

All weights are normalised to a mean of 1 over the latitude rows, so that a weighted mean over
latitude and longitude is ``mean(weights * field)``. Radar (projected ``y``/``x``) grids are
averaged with uniform weights.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gmgclim.conventions import spatial_dims
from gmgclim.errors import DataError

#: Weights a caller can name: cell area (WB2), cos latitude (WB1) or none.
CONVENTIONS = ("wb2", "wb1", "uniform")
WEIGHT_NAMES = {
    "wb1": "cos(latitude)/mean cos(latitude) (WeatherBench 1)",
    "wb2": "cell area from latitude bounds, mean 1 (WeatherBench 2)",
    "uniform": "uniform",
}


def _latitude_array(latitude: xr.DataArray | np.ndarray) -> tuple[np.ndarray, xr.DataArray]:
    """Return latitudes as float64 degrees and a 1-D DataArray template on dim ``latitude``."""
    if isinstance(latitude, xr.DataArray):
        if latitude.ndim != 1:
            raise DataError(
                f"latitude weights need a 1-D latitude coordinate, got dims {latitude.dims}",
                hint="radar grids (y, x) are averaged with uniform weights instead",
            )
        template = latitude
    else:
        values = np.asarray(latitude)
        if values.ndim != 1:
            raise DataError(f"latitude must be 1-D, got shape {values.shape}")
        template = xr.DataArray(values, dims=("latitude",), coords={"latitude": values})
    lat = np.asarray(template.values, dtype=np.float64)
    if lat.size == 0:
        raise DataError("latitude coordinate is empty")
    if np.any(~np.isfinite(lat)) or np.any(np.abs(lat) > 90.0):
        raise DataError(
            f"latitude values must be finite degrees in [-90, 90], got {lat.min()}..{lat.max()}"
        )
    if np.unique(lat).size != lat.size:
        raise DataError("latitude coordinate has repeated values")
    return lat, template


def latitude_bounds_of(obj: xr.DataArray | xr.Dataset) -> np.ndarray | None:
    """The CF cell bounds of ``obj``'s latitude coordinate, if it carries them.

    Parameters
    ----------
    obj : xr.DataArray or xr.Dataset
        Has a 1-D ``latitude`` coordinate whose ``bounds`` attribute names a variable (or coordinate)
        of ``obj`` with dims (latitude, 2).

    Returns
    -------
    np.ndarray or None
        float64 degrees north, shape (n_lat, 2); None when there are no CF bounds.
    """
    if "latitude" not in obj.coords or obj["latitude"].ndim != 1:
        return None
    name = obj["latitude"].attrs.get("bounds") or obj["latitude"].encoding.get("bounds")
    if not name or name not in obj.variables:
        return None
    bounds = obj[name]
    if "latitude" in bounds.dims:
        bounds = bounds.transpose("latitude", ...)
    return np.asarray(bounds.values, dtype=np.float64)


def latitude_cell_bounds(
    latitude: xr.DataArray | np.ndarray, bounds: np.ndarray | None = None
) -> np.ndarray:
    """Lower and upper latitude of every row's cells.

    Parameters
    ----------
    latitude : xr.DataArray or np.ndarray
        Latitudes of the grid rows, shape (n_lat,), degrees north, ascending or descending.
    bounds : np.ndarray, optional
        CF bounds, shape (n_lat, 2), degrees north (either column order). Default: midpoints
        between rows, half a grid step beyond the edge rows, clipped at +-90.

    Returns
    -------
    np.ndarray
        float64, shape (n_lat, 2): (lower, upper) degrees north per row, in the input's order.
    """
    lat, _ = _latitude_array(latitude)
    if bounds is not None:
        b = np.asarray(bounds, dtype=np.float64)
        if b.shape != (lat.size, 2) or not np.isfinite(b).all():
            raise DataError(
                f"latitude bounds must be finite with shape ({lat.size}, 2), got {b.shape}"
            )
        out = np.clip(np.sort(b, axis=1), -90.0, 90.0)
        if np.any((lat < out[:, 0] - 1e-6) | (lat > out[:, 1] + 1e-6)):
            raise DataError("latitude bounds do not contain their rows' latitudes")
        return out
    order = np.argsort(lat)
    rows = lat[order]
    if rows.size == 1:  # one row: any extent gives the same normalised weight
        edges = np.array([max(rows[0] - 0.5, -90.0), min(rows[0] + 0.5, 90.0)])
    else:
        first = rows[0] - (rows[1] - rows[0]) / 2
        last = rows[-1] + (rows[-1] - rows[-2]) / 2
        edges = np.concatenate([[first], (rows[:-1] + rows[1:]) / 2, [last]])
        edges = np.clip(edges, -90.0, 90.0)
    out = np.empty((lat.size, 2))
    out[order, 0] = edges[:-1]
    out[order, 1] = edges[1:]
    return out


def latitude_weights_wb1(latitude: xr.DataArray | np.ndarray) -> xr.DataArray:
    """WeatherBench 1 latitude weights: ``cos(lat) / mean(cos(lat))``.

    Parameters
    ----------
    latitude : xr.DataArray or np.ndarray
        Latitudes of the grid rows, shape (n_lat,), degrees north, any order.

    Returns
    -------
    xr.DataArray
        Weights, shape (n_lat,), dim ``latitude`` (same coordinate as the input), mean 1.
    """
    lat, template = _latitude_array(latitude)
    weights = np.cos(np.deg2rad(lat))
    weights = weights / weights.mean()
    out = template.copy(data=weights)
    out.name = "latitude_weights"
    out.attrs = {"long_name": "cos(latitude) / mean cos(latitude) (WeatherBench 1)", "units": "1"}
    return out


def cell_area_weights(
    latitude: xr.DataArray | np.ndarray, bounds: np.ndarray | None = None
) -> xr.DataArray:
    """Cell-area weights from the grid's latitude cell bounds, normalised to mean 1.

    Each row's weight is the area of its cells on the unit sphere per radian of longitude,
    ``sin(upper) - sin(lower)``, with bounds from :func:`latitude_cell_bounds`. Equal to
    WeatherBench 2's weights on global grids, correct on regional ones (see the module docstring).

    Parameters
    ----------
    latitude : xr.DataArray or np.ndarray
        Latitudes of the grid rows, shape (n_lat,), degrees north, ascending or descending.
    bounds : np.ndarray, optional
        CF cell bounds, shape (n_lat, 2), degrees north.

    Returns
    -------
    xr.DataArray
        Weights, shape (n_lat,), dim ``latitude`` in the input's order, mean 1.
    """
    _, template = _latitude_array(latitude)
    edges = np.deg2rad(latitude_cell_bounds(latitude, bounds))
    area = np.sin(edges[:, 1]) - np.sin(edges[:, 0])
    if not np.all(area > 0):
        raise DataError("latitude cells have zero area: check the latitude bounds")
    area = area / area.mean()
    out = template.copy(data=area)
    out.name = "latitude_weights"
    out.attrs = {
        "long_name": "normalised cell area from latitude bounds (WeatherBench 2 on global grids)",
        "units": "1",
        "bounds_from": "CF bounds" if bounds is not None else "midpoints, half a step at the edges",
    }
    return out


def spatial_weights(
    da: xr.DataArray | xr.Dataset, convention: str = "wb2"
) -> tuple[xr.DataArray | None, tuple[str, ...]]:
    """Pick the spatial dims of a field and the weights for averaging over them.

    Parameters
    ----------
    da : xr.DataArray or xr.Dataset
        A field with either ``latitude``/``longitude`` dims (regular grid) or ``y``/``x`` dims
        (radar, projected grid). CF latitude bounds on it are used by ``wb2``.
    convention : {"wb2", "wb1", "uniform"}
        ``wb2``: :func:`cell_area_weights`; ``wb1``: :func:`latitude_weights_wb1`; ``uniform``: none.

    Returns
    -------
    weights : xr.DataArray or None
        Weights on dim ``latitude`` (mean 1), or None for uniform weights.
    dims : tuple of str
        The spatial dims to average over.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be 'wb1', 'wb2' or 'uniform', got {convention!r}")
    spatial = spatial_dims(da)
    if convention == "uniform" or spatial == ("y", "x"):
        return None, spatial
    if convention == "wb2":
        return cell_area_weights(da["latitude"], latitude_bounds_of(da)), spatial
    return latitude_weights_wb1(da["latitude"]), spatial


def resolve_weights(
    field: xr.DataArray | xr.Dataset, weights: str | xr.DataArray | None
) -> tuple[xr.DataArray | None, tuple[str, ...], str]:
    """Weights for a field from a convention name or an explicit array.

    Parameters
    ----------
    field : xr.DataArray or xr.Dataset
        The field to average (lat/lon or y/x grid).
    weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        A convention (None = uniform) or weights on the spatial dims (mean 1 over them).

    Returns
    -------
    weights : xr.DataArray or None
        None for uniform weights (and always on y/x grids for a convention name).
    dims : tuple of str
        The spatial dims.
    description : str
        For the ``weighting`` attribute of scores.
    """
    if isinstance(weights, xr.DataArray):
        return weights, spatial_dims(field), str(weights.attrs.get("long_name", "user weights"))
    convention = weights or "uniform"
    w, dims = spatial_weights(field, convention)
    return w, dims, WEIGHT_NAMES[convention] if w is not None else "uniform"
