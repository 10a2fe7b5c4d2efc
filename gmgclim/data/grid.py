"""Grid operations on canonical datasets: the crop and coarsen of a task, meridian-contiguous boxes.

Regridding to a regular global grid is :func:`gmgclim.data.gridded.regrid` (applied when reading);
:func:`apply_grid` does what follows it, in the order training and forecasting both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.data.task import GridSpec
from gmgclim.errors import DataError

__all__ = ["apply_grid", "contiguous_longitude"]


def contiguous_longitude(ds: xr.Dataset) -> xr.Dataset:
    """Roll a regional box that the [0, 360) convention split at the meridian back into one piece.

    The canonical order puts a box spanning 10 W .. 2 E as 0 .. 2 E followed by 350 .. 360 E, with a
    jump in the middle; a convolution would see the two halves glued the wrong way round. A global
    grid (no gap) and a box that does not cross the meridian are returned unchanged.
    """
    if "longitude" not in ds.dims or ds.sizes["longitude"] < 3:
        return ds
    lon = np.asarray(ds["longitude"].values, dtype=np.float64)
    gaps = np.diff(np.concatenate([lon, [lon[0] + 360.0]]))
    spacing = np.median(gaps)
    big = np.flatnonzero(gaps > 1.5 * spacing)
    if big.size != 1 or big[0] == lon.size - 1:
        return ds
    rolled = ds.roll(longitude=-(int(big[0]) + 1), roll_coords=True)
    lon = np.asarray(rolled["longitude"].values, dtype=np.float64)
    # ascending through the meridian (350 .. 362) while cropping and coarsening; wrapped at the end
    unwrapped = np.where(lon < lon[0], lon + 360.0, lon)
    return rolled.assign_coords(longitude=("longitude", unwrapped, rolled["longitude"].attrs))


def apply_grid(ds: xr.Dataset, grid: GridSpec | Mapping[str, Any] | None) -> xr.Dataset:
    """Crop and coarsen a canonical dataset as a recipe's ``data.grid`` says.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset (gridded or radar).
    grid : GridSpec or dict
        ``crop``: {dim: [start, stop]} index ranges (stop exclusive); ``coarsen``: {dim: factor}
        block means (NaN ignored, a remainder trimmed). ``target_grid`` is applied when reading
        (see :func:`gmgclim.data.task.open_task_data`), not here.

    Returns
    -------
    xr.Dataset
        Regional boxes split at the meridian are made contiguous first (see module docs).
    """
    if not isinstance(grid, GridSpec):
        grid = GridSpec.from_dict(grid)
    ds = contiguous_longitude(ds)
    crop = {dim: (start, stop) for dim, start, stop in grid.crop}
    coarsen = {dim: factor for dim, factor in grid.coarsen if factor > 1}
    for key, ops in (("crop", crop), ("coarsen", dict(grid.coarsen))):
        for dim in ops:
            if dim not in ds.dims:
                raise DataError(
                    f"data.grid.{key} names dim {dim!r}, but the data has dims {tuple(ds.dims)}"
                )
    if crop:
        for dim, (start, stop) in crop.items():
            if stop > ds.sizes[dim]:
                raise DataError(
                    f"data.grid.crop.{dim} = [{start}, {stop}] exceeds the {ds.sizes[dim]} cells of {dim!r}"
                )
        ds = ds.isel({dim: slice(int(a), int(b)) for dim, (a, b) in crop.items()})
    if coarsen:
        for dim, factor in coarsen.items():
            if ds.sizes[dim] < factor:
                raise DataError(
                    f"data.grid.coarsen.{dim} = {factor} exceeds the {ds.sizes[dim]} cells of {dim!r}"
                )
        coarse = ds.coarsen(coarsen, boundary="trim").mean(keep_attrs=True)
        for name in ds.data_vars:
            if ds[name].dtype == np.float32:
                coarse[name] = coarse[name].astype(np.float32)
        ds = coarse
    if "longitude" in ds.dims and float(ds["longitude"].max()) >= 360.0:
        wrapped = np.mod(np.asarray(ds["longitude"].values, dtype=np.float64), 360.0)
        ds = ds.assign_coords(longitude=("longitude", wrapped, ds["longitude"].attrs))
    return ds
