"""The 2-D fields a catalog entry names under ``statics:`` (orography, land cover), on a task's grid.

An entry may declare constant fields beside its data::

    entries:
      my-t2m:
        driver: netcdf
        location: ${GMGCLIM_DATA}/t2m/*.nc
        channels: [t2m]
        statics:
          orography: {location: orography.nc, variable: z, units: m, description: ERA5 orography}

``location`` is a netCDF file or glob (or a ``.zarr`` store) with ``${VAR}`` expanded; a relative
path is relative to the catalog file. The variable must be 2-D on the entry's native grid (a ``time``
dim of length 1 is dropped): the same spatial dims and coordinate values as the entry's data once
both are canonicalised with the entry's alias table (names, ascending latitude, longitude in
[0, 360)). It then goes through the entry's ``options`` (``sel``/``isel`` on its spatial dims,
``coarsen``, ``regrid``) and the task's :class:`~gmgclim.data.task.GridSpec`
(:func:`gmgclim.data.grid.apply_grid`), exactly as the data does, so it lands on the model's grid.
Models read it standardised (:func:`gmgclim.data.statics.standardise`).

Every problem is a one-line :class:`~gmgclim.errors.DataError` naming the catalog file, the entry
and the static: no file, a missing variable (listing what the file has), a field that is not 2-D,
a grid that differs from the entry's (naming the dim and the values).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from gmgclim.data.catalog_entry import CatalogEntry, StaticSpec
from gmgclim.errors import DataError

if TYPE_CHECKING:
    from gmgclim.data.task import GridSpec, Task

__all__ = ["open_static", "static_location", "task_static_fields"]

_FIELD = "gmgclim_static"


def static_location(entry: CatalogEntry, spec: StaticSpec) -> str:
    """Where a static field is: ``${VAR}`` expanded, a relative path made relative to the catalog.

    Parameters
    ----------
    entry : CatalogEntry
    spec : StaticSpec
        One of ``entry.statics``.

    Returns
    -------
    str
        A path or glob (or URL, unchanged).
    """
    from gmgclim.data.catalog import expand_location

    location = expand_location(entry, spec.location)
    if "://" in location:
        return location
    path = Path(location).expanduser()
    if path.is_absolute() or entry.catalog_file is None:
        return str(path)
    return str(Path(entry.catalog_file).parent / path)


def _open_file(location: str, where: str) -> xr.Dataset:
    """The static's file(s) as written (not canonicalised), lazily."""
    from gmgclim.data.gridded import open_netcdf_files, open_zarr

    try:
        if location.rstrip("/").endswith(".zarr"):
            return open_zarr(location, canonical=False)
        return open_netcdf_files(location, canonical=False)
    except DataError as exc:
        raise DataError(f"{where}: {exc}", hint=exc.hint) from exc


def _select_field(raw: xr.Dataset, spec: StaticSpec, location: str, where: str) -> xr.Dataset:
    """The static's variable (renamed :data:`_FIELD`) with its grid mapping and 2-D lat/lon."""
    if spec.variable not in raw.data_vars:
        raise DataError(
            f"{where}: {location} has no variable {spec.variable!r} (key 'variable'); it has "
            f"{sorted(map(str, raw.data_vars))}"
        )
    keep = [spec.variable]
    mapping = raw[spec.variable].attrs.get("grid_mapping") or raw[spec.variable].encoding.get(
        "grid_mapping"
    )
    if isinstance(mapping, str) and mapping in raw.data_vars:
        keep.append(mapping)
    keep += [
        str(v)
        for v in ("latitude", "longitude", "lat", "lon")
        if v in raw.data_vars and raw[v].ndim == 2 and v != spec.variable
    ]
    ds = raw[keep]
    if _FIELD in ds.variables:  # pragma: no cover - a file would have to use gmgclim's name
        ds = ds.drop_vars(_FIELD)
    return ds.rename({spec.variable: _FIELD})


def _canonical(ds: xr.Dataset, entry: CatalogEntry, native: xr.Dataset, where: str) -> xr.Dataset:
    """The static's dataset in the entry's canonical convention, its grid completed."""
    from gmgclim.conventions import canonicalize
    from gmgclim.data.grid import complete_grid, grid_kind

    try:
        ds = canonicalize(ds, source=entry.source)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from exc
    try:
        kind = grid_kind(ds)
    except DataError:
        return ds  # not a grid at all: named by the dims check
    has_mapping = any("grid_mapping_name" in ds[v].attrs for v in ds.variables)
    if kind == "projected" and not has_mapping and "crs" in native.variables:
        # a field on the entry's projected grid need not repeat its grid mapping
        ds = ds.assign(crs=native["crs"].reset_coords(drop=True))
        ds[_FIELD].attrs["grid_mapping"] = "crs"
    return complete_grid(ds, where)


def _check_grid(field: xr.DataArray, native: xr.Dataset, where: str) -> tuple[str, str]:
    """The entry's spatial dims, once ``field`` is known to be 2-D on the entry's grid."""
    from gmgclim.data.grid import grid_kind
    from gmgclim.data.gridded import grid_difference

    dims = ("latitude", "longitude") if grid_kind(native) == "latlon" else ("y", "x")
    shape = " x ".join(str(native.sizes[d]) for d in dims)
    if field.ndim != 2:
        raise DataError(
            f"{where}: variable has dims {tuple(map(str, field.dims))} of sizes "
            f"{tuple(field.shape)}; expected a 2-D field on the entry's grid {dims} ({shape}) "
            "(a time dim of length 1 is dropped)"
        )
    if set(field.dims) != set(dims):
        raise DataError(
            f"{where}: grid does not match the entry's: dims {tuple(map(str, field.dims))} vs "
            f"the entry's {dims}"
        )
    for dim in dims:
        if field.sizes[dim] != native.sizes[dim]:
            raise DataError(
                f"{where}: grid does not match the entry's: {dim!r} has {field.sizes[dim]} cells "
                f"vs the entry's {native.sizes[dim]}"
            )
        if dim in field.coords and dim in native.coords:
            difference = grid_difference(
                {dim: np.asarray(field[dim].values, np.float64)},
                {dim: np.asarray(native[dim].values, np.float64)},
            )
            if difference:
                raise DataError(
                    f"{where}: grid does not match the entry's: {difference} (static vs entry, "
                    "after canonicalisation)"
                )
    return dims


def open_static(
    entry: CatalogEntry | str,
    name: str,
    grid: GridSpec | None = None,
    channels: Sequence[str] | None = None,
    native: tuple[xr.Dataset, dict[str, Any]] | None = None,
    **options: Any,
) -> xr.DataArray:
    """A static field of an entry on the grid its data is read on.

    Parameters
    ----------
    entry : CatalogEntry or str
        The entry (or its name) that declares the static.
    name : str
        A name under the entry's ``statics:``.
    grid : GridSpec, optional
        The task's crop / coarsen, applied after the entry's options as
        :func:`gmgclim.data.task.open_task_data` does (``target_grid`` is passed as the
        ``regrid`` option, as there).
    channels : sequence of str, optional
        The task's channels (the WeatherBench 1 driver opens only their directories to learn the
        entry's grid).
    native : (xr.Dataset, dict), optional
        The entry's ``open_native(entry, channels=channels, **options)``
        (:func:`gmgclim.data.catalog.open_native`), when already opened: it is reused, and
        ``channels`` and ``options`` are then not consulted.
    **options
        Override or extend the entry's ``options``, as in :func:`gmgclim.data.catalog.open_entry`.

    Returns
    -------
    xr.DataArray
        (H, W) physical values (the file's units; ``units`` and ``description`` of the catalog in
        ``attrs``), lazy, with the grid's coordinates; named ``name``.

    Raises
    ------
    DataError
        One line naming the catalog file, entry and static: not declared, no file, no such
        variable, not 2-D, a grid that differs from the entry's.
    """
    from gmgclim.data.catalog import apply_entry_options, get_entry, open_native
    from gmgclim.data.grid import apply_grid

    if isinstance(entry, str):
        entry = get_entry(entry)
    spec = entry.static(name)
    where = f"{entry.catalog_file}: entry {entry.name!r} static {name!r}"
    location = static_location(entry, spec)
    native_ds, generic = (
        native if native is not None else open_native(entry, channels=channels, **options)
    )
    ds = _canonical(
        _select_field(_open_file(location, where), spec, location, where), entry, native_ds, where
    )
    field = ds[_FIELD]
    if "time" in field.dims and field.sizes["time"] == 1:
        field = field.isel(time=0, drop=True)
    field = field.drop_vars([c for c in ("time",) if c in field.coords])
    dims = _check_grid(field, native_ds, where)
    coords = {
        str(c): native_ds[c].variable
        for c in native_ds.coords
        if native_ds[c].dims and set(native_ds[c].dims) <= set(dims)
    }
    on_grid = xr.Dataset({_FIELD: (dims, field.transpose(*dims).data)}, coords=coords)
    on_grid = apply_entry_options(on_grid, generic, skip_missing=True)
    if grid is not None:
        on_grid = apply_grid(on_grid, grid)
    out = on_grid[_FIELD].rename(name)
    out.attrs = {"units": spec.units, "description": spec.description, "catalog_entry": entry.name}
    return out


def task_static_fields(task: Task, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The task's catalog statics on its grid, standardised.

    Parameters
    ----------
    task : Task
        Its entry declares the statics; its grid (``target_grid``, crop, coarsen) is applied.
    names : sequence of str, optional
        Which statics (default: those of ``task.statics`` that are not built-in).

    Returns
    -------
    dict of str to np.ndarray
        Name -> (H, W) float32, mean 0 and standard deviation 1 over the finite cells, NaN -> 0
        (:func:`gmgclim.data.statics.standardise`).
    """
    from gmgclim.data.catalog import get_entry, open_native
    from gmgclim.data.statics import STATICS, standardise

    # the names were checked when the task was made (Task checks data.statics against its entry);
    # open_static's entry.static(name) names any the entry lacks
    names = [n for n in (task.statics if names is None else names) if n not in STATICS]
    if not names:
        return {}
    entry = get_entry(task.entry)
    # the entry's native grid, opened once for all its statics
    native = open_native(entry, channels=task.channels, **task.grid.entry_options())
    return {
        name: standardise(open_static(entry, name, task.grid, native=native).values)
        for name in names
    }
