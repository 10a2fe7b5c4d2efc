"""Catalog drivers: one opener per data format, ``(entry, expanded_location, options) -> xr.Dataset``.

Each opener imports its reader when called, so listing a catalog needs none of the readers' heavy
dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import xarray as xr

from gmgclim.conventions import canonicalize

if TYPE_CHECKING:
    from gmgclim.data.catalog_entry import CatalogEntry

__all__ = ["DRIVERS"]


def _drv_netcdf(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.gridded import open_netcdf_files

    return open_netcdf_files(location, source=entry.source, **options)


def _drv_weatherbench1(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.weatherbench import (
        open_weatherbench1,
        weatherbench1_missing,
        weatherbench1_missing_error,
    )

    # an empty data root: name the path searched, the layout expected (as the catalog writes it,
    # ${GMGCLIM_DATA}/...) and the download command, instead of a bare "not found"
    channels, directories = options.get("channels"), options.get("directories")
    try:
        if channels is None and directories is None:  # all directories present: any will do
            missing = weatherbench1_missing(location)
            if missing:
                missing = weatherbench1_missing(location, entry.channels or None)
        else:
            missing = weatherbench1_missing(location, channels, directories)
    except (KeyError, ValueError):  # a channel the lexicon lacks: the reader says so
        missing = []
    if missing:
        raise weatherbench1_missing_error(
            location, missing, entry.location, f"catalog entry {entry.name!r}: "
        )
    return open_weatherbench1(location, **options)


def _drv_zarr(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.gridded import open_zarr

    return open_zarr(location, source=entry.source or "weatherbench2", **options)


def _drv_knmi(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.radar import open_knmi_hdf5

    return open_knmi_hdf5(location, **options)


def _drv_fmi(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.radar import open_fmi_pgm

    return open_fmi_pgm(location, **options)


def _drv_odim(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.radar import open_odim_hdf5

    return open_odim_hdf5(location, **options)


def _drv_radar_netcdf(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.radar import open_radar_netcdf

    return open_radar_netcdf(location, **options)


def _drv_climetlab(entry: CatalogEntry, location: str, options: dict) -> xr.Dataset:
    from gmgclim.data.climetlab_plugin import load_climetlab_dataset

    ds = load_climetlab_dataset(location, **options)
    return canonicalize(ds, source=entry.source)


#: Driver name -> opener ``(entry, expanded_location, options) -> xr.Dataset``.
DRIVERS: dict[str, Callable[[CatalogEntry, str, dict], xr.Dataset]] = {
    "netcdf": _drv_netcdf,
    "weatherbench1-netcdf": _drv_weatherbench1,
    "zarr": _drv_zarr,
    "radar-knmi-hdf5": _drv_knmi,
    "radar-fmi-pgm": _drv_fmi,
    "radar-odim-hdf5": _drv_odim,
    "radar-netcdf": _drv_radar_netcdf,
    "climetlab": _drv_climetlab,
}
