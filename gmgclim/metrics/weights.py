"""Latitude weights for spatial averages on regular latitude/longitude grids.

Two conventions are kept apart because they give different numbers near the poles:

- WeatherBench 1 weights a grid row by ``cos(latitude)`` of its centre;
- WeatherBench 2 weights it by the area of the cell, the integral of ``cos`` between the cell's
  latitude bounds (midpoints between rows, the poles for the first and last row).

Both are normalised to a mean of 1 over the latitude rows, so that a weighted mean over latitude and
longitude is ``mean(weights * field)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gmgclim.errors import DataError


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


def cell_area_weights(latitude: xr.DataArray | np.ndarray) -> xr.DataArray:
    """WeatherBench 2 cell-area weights, normalised to mean 1.

    Each row's cell runs between the midpoints to its neighbours, the first and last cells to the
    poles; its area on the unit sphere per radian of longitude is ``sin(upper) - sin(lower)``.

    Parameters
    ----------
    latitude : xr.DataArray or np.ndarray
        Latitudes of the grid rows, shape (n_lat,), degrees north, ascending or descending.

    Returns
    -------
    xr.DataArray
        Weights, shape (n_lat,), dim ``latitude`` in the input's order, mean 1.
    """
    lat, template = _latitude_array(latitude)
    order = np.argsort(lat)
    lat_sorted = np.deg2rad(lat[order])
    bounds = np.concatenate([[-np.pi / 2], (lat_sorted[:-1] + lat_sorted[1:]) / 2, [np.pi / 2]])
    area_sorted = np.sin(bounds[1:]) - np.sin(bounds[:-1])
    area = np.empty_like(area_sorted)
    area[order] = area_sorted
    area = area / area.mean()
    out = template.copy(data=area)
    out.name = "latitude_weights"
    out.attrs = {"long_name": "normalised cell area (WeatherBench 2)", "units": "1"}
    return out


def spatial_weights(
    da: xr.DataArray | xr.Dataset, convention: str = "wb2"
) -> tuple[xr.DataArray | None, tuple[str, ...]]:
    """Pick the spatial dims of a field and the weights for averaging over them.

    Parameters
    ----------
    da : xr.DataArray or xr.Dataset
        A field with either ``latitude``/``longitude`` dims (regular grid) or ``y``/``x`` dims
        (radar, projected grid).
    convention : {"wb2", "wb1", "uniform"}
        ``wb2``: :func:`cell_area_weights`; ``wb1``: :func:`latitude_weights_wb1`; ``uniform``: none.

    Returns
    -------
    weights : xr.DataArray or None
        Weights on dim ``latitude`` (mean 1), or None for uniform weights.
    dims : tuple of str
        The spatial dims to average over.
    """
    dims = set(da.dims)
    if {"latitude", "longitude"} <= dims:
        spatial = ("latitude", "longitude")
    elif {"y", "x"} <= dims:
        spatial = ("y", "x")
    else:
        raise DataError(
            f"cannot find spatial dims in {tuple(da.dims)}: expected (latitude, longitude) or (y, x)"
        )
    if convention == "uniform" or spatial == ("y", "x"):
        return None, spatial
    if convention == "wb2":
        return cell_area_weights(da["latitude"]), spatial
    if convention == "wb1":
        return latitude_weights_wb1(da["latitude"]), spatial
    raise ValueError(f"convention must be 'wb1', 'wb2' or 'uniform', got {convention!r}")
