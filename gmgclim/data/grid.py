"""Grid operations on canonical datasets: the crop and coarsen of a task, meridian-contiguous boxes.

Regridding to a regular global grid is :func:`gmgclim.data.gridded.regrid` (applied when reading);
:func:`apply_grid` does what follows it, in the order training and forecasting both use, and leaves
longitudes ascending: -180 .. 180 for a box that crosses the Greenwich meridian, 0 .. 360 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.data.task import GridSpec
from gmgclim.errors import DataError

__all__ = [
    "apply_grid",
    "coarsen_cells",
    "complete_grid",
    "contiguous_longitude",
    "grid_kind",
    "monotonic_longitude",
]

_PROJECTION_AXES = {"projection_x_coordinate": "x", "projection_y_coordinate": "y"}


def grid_kind(ds: xr.Dataset | xr.DataArray) -> str:
    """``"latlon"`` (1-D latitude/longitude dims) or ``"projected"`` (``y``/``x`` dims).

    Raises
    ------
    DataError
        Neither pair of dims is present.
    """
    dims = set(ds.dims)
    if {"latitude", "longitude"} <= dims:
        return "latlon"
    if {"y", "x"} <= dims:
        return "projected"
    raise DataError(
        f"no spatial dims: expected latitude/longitude (a lat/lon grid) or y/x (a projected grid "
        f"with a CF grid_mapping), got dims {sorted(map(str, dims))}"
    )


def _rename_projection_axes(ds: xr.Dataset) -> xr.Dataset:
    rename = {}
    for name, coord in ds.coords.items():
        axis = _PROJECTION_AXES.get(str(coord.attrs.get("standard_name", "")))
        if axis and coord.ndim == 1 and name != axis and axis not in ds.variables:
            rename[name] = axis
            if coord.dims[0] != name and coord.dims[0] not in ds.variables:
                rename[coord.dims[0]] = axis
    return ds.rename(rename) if rename else ds


def complete_grid(ds: xr.Dataset, where: str = "data") -> xr.Dataset:
    """Work out a dataset's grid from the file and bring it to the convention, whatever its reader.

    A lat/lon grid (1-D ``latitude``/``longitude`` dims) is returned as it is. A projected grid
    (``y``/``x`` dims, or 1-D coordinates whose ``standard_name`` is ``projection_x/y_coordinate``)
    gets ``x``/``y`` in metres, its CF grid-mapping variable renamed ``crs`` and named by each field's
    ``grid_mapping`` attribute, and 2-D ``latitude``/``longitude`` derived with pyproj where the file
    lacks them.

    Parameters
    ----------
    ds : xr.Dataset
        An opened entry (canonical names where known).
    where : str
        Names the file or entry in messages.

    Returns
    -------
    xr.Dataset
        A lat/lon grid as it is; a projected grid with ``x``/``y`` in metres, ``crs`` and 2-D
        ``latitude``/``longitude``.

    Raises
    ------
    DataError
        One line: no spatial dims; a projected grid without x/y values or 2-D latitude/longitude;
        without a grid mapping (and no 2-D latitude/longitude); a ``grid_mapping`` attribute that
        names a missing variable; a grid mapping pyproj does not understand.
    """
    ds = _rename_projection_axes(ds)
    if grid_kind(ds) == "latlon":
        return ds
    has_latlon = all(
        name in ds.coords and ds[name].dims == ("y", "x") for name in ("latitude", "longitude")
    )
    for name in ("latitude", "longitude"):  # 2-D auxiliary coordinates stored as data variables
        if not has_latlon and name in ds.data_vars and set(ds[name].dims) == {"y", "x"}:
            ds = ds.set_coords(name)
    has_latlon = all(
        name in ds.coords and set(ds[name].dims) == {"y", "x"} for name in ("latitude", "longitude")
    )
    has_xy = "x" in ds.coords and "y" in ds.coords
    if not has_xy and not has_latlon:
        raise DataError(
            f"{where}: projected grid (y, x) without coordinates; expected 1-D x(x) and y(y) in "
            "m or km with a CF grid_mapping variable, or 2-D latitude(y, x) and longitude(y, x)"
        )
    if has_xy:
        for axis in ("x", "y"):
            units = str(ds[axis].attrs.get("units", "m")).strip()
            if units in ("km", "kilometre", "kilometer"):
                values = np.asarray(ds[axis].values, np.float64) * 1000.0
                ds = ds.assign_coords({axis: (axis, values, {**ds[axis].attrs, "units": "m"})})
            elif units not in ("m", "metre", "meter", "1"):
                raise DataError(
                    f"{where}: projected coordinate {axis!r} has units {units!r}; expected m or km"
                )
    named = {
        str(da.attrs["grid_mapping"]): str(var)
        for var, da in ds.data_vars.items()
        if isinstance(da.attrs.get("grid_mapping"), str)
    }
    for mapping, var in named.items():
        if mapping not in ds.variables:
            raise DataError(
                f"{where}: variable {var!r} names grid_mapping {mapping!r}, which is not in the "
                "file; expected a variable with a grid_mapping_name attribute"
            )
    mappings = [str(v) for v in ds.variables if "grid_mapping_name" in ds[v].attrs]
    if not mappings:
        if has_latlon:
            return ds
        raise DataError(
            f"{where}: projected grid (y, x) without a CF grid_mapping variable; expected a "
            "variable with a grid_mapping_name attribute (e.g. crs, named by each field's "
            "grid_mapping attribute), or 2-D latitude/longitude coordinates"
        )
    mapping = next(iter(named), mappings[0])
    if mapping != "crs":
        if "crs" in ds.variables:
            ds = ds.drop_vars("crs")
        ds = ds.rename({mapping: "crs"})
    for field in ds.data_vars.values():
        if {"y", "x"} <= set(field.dims):
            field.attrs["grid_mapping"] = "crs"
    if not has_latlon:
        if not has_xy:  # pragma: no cover - excluded above
            raise DataError(f"{where}: projected grid without x/y values")
        from gmgclim.data.radar_frames import add_latlon

        try:
            ds = add_latlon(ds)
        except Exception as exc:  # pyproj raises CRSError, KeyError ...
            raise DataError(
                f"{where}: grid mapping {mapping!r} is not understood by pyproj ({exc}); expected "
                "CF attributes (grid_mapping_name and its parameters) or crs_wkt"
            ) from exc
    return ds


def coarsen_cells(ds: xr.Dataset, factor: int) -> xr.Dataset:
    """Block-average ``factor`` x ``factor`` cells of a lat/lon or projected grid.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset; dims ``latitude``/``longitude`` or ``y``/``x``.
    factor : int
        Cells per block along each spatial dim (a remainder is trimmed; NaN ignored).

    Returns
    -------
    xr.Dataset
        Coordinates (1-D and 2-D latitude/longitude) are block means; fields keep their dtype
        and attributes.
    """
    if factor <= 1:
        return ds
    dims = ("latitude", "longitude") if grid_kind(ds) == "latlon" else ("y", "x")
    for dim in dims:
        if ds.sizes[dim] < factor:
            raise DataError(
                f"options.coarsen = {factor} exceeds the {ds.sizes[dim]} cells of {dim!r}"
            )
    coarse = ds.coarsen({dim: factor for dim in dims}, boundary="trim").mean(keep_attrs=True)
    for name in ds.data_vars:
        if name in coarse and ds[name].dtype == np.float32:
            coarse[name] = coarse[name].astype(np.float32)
    return coarse


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
        Regional boxes split at the meridian are made contiguous first (see module docs); their
        longitudes end ascending, in -180 .. 180 when the box crosses 0 E, else in 0 .. 360
        (:func:`monotonic_longitude`), for training, forecasts and their truth alike.
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
    return monotonic_longitude(ds)


def monotonic_longitude(ds: xr.Dataset) -> xr.Dataset:
    """Put the ascending longitudes of a meridian-contiguous grid in one monotonic convention.

    After :func:`contiguous_longitude` a box crossing the Greenwich meridian runs through 360
    (350 .. 361.5). Such a box gets longitudes in -180 .. 180 (-10 .. 1.5), any other grid keeps
    0 .. 360, so every store gmgclim writes has ascending longitudes that tools can slice
    (``sel(longitude=slice(-5, 1))``). A box crossing 0 E that starts west of 180 E (wider than
    180 degrees) fits neither convention and keeps its unwrapped values (e.g. 100 .. 400).

    Parameters
    ----------
    ds : xr.Dataset
        With a 1-D ascending ``longitude`` dim (else returned unchanged).

    Returns
    -------
    xr.Dataset
        Same values up to multiples of 360 degrees, same order, same attributes.
    """
    if "longitude" not in ds.dims or ds.sizes["longitude"] == 0:
        return ds
    lon = np.asarray(ds["longitude"].values, dtype=np.float64)
    if lon.max() < 360.0 or lon.min() < 180.0:
        return ds
    # (a crop that kept only the part east of 0 E lands in 0 .. 360 as well)
    return ds.assign_coords(longitude=("longitude", lon - 360.0, ds["longitude"].attrs))
