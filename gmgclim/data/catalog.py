"""Catalogs of data sources (YAML) and the drivers that open them lazily.

A catalog file holds ``entries``; each entry names a source and how to open it::

    entries:
      era5-uk-t2m:
        description: ERA5 hourly 2 m temperature over the UK, March 2019
        driver: netcdf            # see DRIVERS
        location: ${GMGCLIM_SAMPLES}/era5_t2m_uk_2019-03/era5_t2m_uk_2019-03.nc
        variables: [2m_temperature]
        channels: [t2m]
        time: {start: 2019-03-01T00:00, end: 2019-03-31T23:00, step: 1h}
        grid: 0.25 deg regional, 33 x 49
        license: CC BY 4.0 (Copernicus)
        citation: Hersbach et al. (2020) ...
        options: {}               # driver keyword arguments and sel/regrid/coarsen
        statics:                  # optional 2-D fields on the entry's grid (data.statics)
          orography: {location: orography.nc, variable: z, units: m}

Locations may use ``${NAME}`` variables: ``GMGCLIM_SAMPLES`` defaults to the bundled
``gmgclim/sample_data``; others (``GMGCLIM_DATA``) come from the environment and must be set when
such an entry is opened. Files are read with ``yaml.safe_load``; unknown keys are errors that name
the key and the file.

Search path (later files override entries of the same name): the packaged ``gmgclim/catalogs/``
(the repository's ``catalogs/`` holds the same files, checked by a test), each directory or file in
the environment variable ``GMGCLIM_CATALOGS`` (``os.pathsep``-separated), then
``~/.config/gmgclim/*.yaml``.

This module finds, reads, opens and describes entries; one entry's record and checks are in
:mod:`gmgclim.data.catalog_entry`, the drivers in :mod:`gmgclim.data.catalog_drivers`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from gmgclim.data.catalog_drivers import DRIVERS
from gmgclim.data.catalog_entry import CatalogEntry, parse_entry
from gmgclim.data.channel_map import apply_channel_specs
from gmgclim.errors import DataError

__all__ = [
    "DRIVERS",
    "CatalogEntry",
    "apply_entry_options",
    "catalog_search_path",
    "describe_entry",
    "expand_location",
    "get_entry",
    "load_catalogs",
    "open_entry",
    "open_native",
    "packaged_catalog_dir",
    "sample_data_dir",
]

_GENERIC_OPTIONS = {"sel", "isel", "regrid", "coarsen"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def sample_data_dir() -> Path:
    """Directory of the bundled sample data (``gmgclim/sample_data``)."""
    return Path(__file__).resolve().parent.parent / "sample_data"


def packaged_catalog_dir() -> Path:
    """Directory of the packaged catalogs (``gmgclim/catalogs``)."""
    return Path(__file__).resolve().parent.parent / "catalogs"


def catalog_search_path() -> list[Path]:
    """Catalog YAML files in search order (packaged, ``$GMGCLIM_CATALOGS``, ``~/.config/gmgclim``)."""
    files: list[Path] = sorted(packaged_catalog_dir().glob("*.yaml"))
    for item in filter(None, os.environ.get("GMGCLIM_CATALOGS", "").split(os.pathsep)):
        p = Path(item).expanduser()
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"GMGCLIM_CATALOGS names {p}, which does not exist")
    user = Path("~/.config/gmgclim").expanduser()
    if user.is_dir():
        files.extend(sorted(user.glob("*.yaml")))
    return files


def _load_file(path: Path) -> dict[str, CatalogEntry]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read catalog {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"catalog {path} must be a mapping with key 'entries'")
    unknown = sorted(set(data) - {"entries", "description"})
    if unknown:
        raise DataError(
            f"catalog {path} has unknown top-level key(s) {unknown}; allowed: ['description', 'entries']"
        )
    entries = data.get("entries") or {}
    if not isinstance(entries, dict):
        raise DataError(f"catalog {path}: 'entries' must be a mapping of name -> entry")
    return {str(name): parse_entry(str(name), raw, path) for name, raw in entries.items()}


def load_catalogs(paths: Sequence[str | Path] | None = None) -> dict[str, CatalogEntry]:
    """Load catalog entries.

    Parameters
    ----------
    paths : sequence of str or Path, optional
        Catalog files or directories to read instead of :func:`catalog_search_path`.

    Returns
    -------
    dict
        Entry name -> :class:`CatalogEntry`; a later file's entry replaces an earlier one.
    """
    if paths is None:
        files = catalog_search_path()
    else:
        files = []
        for item in paths:
            p = Path(item).expanduser()
            if p.is_dir():
                files.extend(sorted(p.glob("*.yaml")))
            elif p.is_file():
                files.append(p)
            else:
                raise DataError(f"catalog path {p} does not exist")
    entries: dict[str, CatalogEntry] = {}
    for f in files:
        entries.update(_load_file(f))
    return entries


def get_entry(name: str, catalogs: Sequence[str | Path] | None = None) -> CatalogEntry:
    """Return the catalog entry called ``name`` (:class:`DataError` listing known names if absent)."""
    entries = load_catalogs(catalogs)
    if name not in entries:
        raise DataError(
            f"no catalog entry {name!r}; known entries: {', '.join(sorted(entries))}",
            hint="run `gmgclim data list`",
        )
    return entries[name]


def expand_location(entry: CatalogEntry, location: str | None = None) -> str:
    """Expand ``${VAR}`` in an entry's location (``GMGCLIM_SAMPLES`` defaults to the sample data).

    Parameters
    ----------
    entry : CatalogEntry
    location : str, optional
        Another location of the entry (a static field's) instead of ``entry.location``.
    """
    text = entry.location if location is None else location

    def sub(match: re.Match) -> str:
        var = match.group(1)
        value = os.environ.get(var)
        if value is None and var == "GMGCLIM_SAMPLES":
            value = str(sample_data_dir())
        if value is None:
            raise DataError(
                f"catalog entry {entry.name!r} location {text!r} needs ${{{var}}}, "
                "which is not set",
                hint=f"export {var}=/path/to/data (e.g. where `gmgclim data download` wrote to)",
            )
        return value

    return _VAR.sub(sub, text)


def _time_slice(time: Any) -> slice | None:
    if time is None:
        return None
    if isinstance(time, slice):
        return time
    if isinstance(time, (tuple, list)) and len(time) == 2:
        return slice(*time)
    raise ValueError(f"time must be a slice or a (start, end) pair, got {time!r}")


def _select_channels(ds: xr.Dataset, entry: CatalogEntry, channels: Sequence[str]) -> xr.Dataset:
    from gmgclim.data.channels import dataset_channel

    needed: dict[str, set[int]] = {}
    for name in channels:
        ch = dataset_channel(ds, name)
        if ch.variable not in ds.data_vars:
            raise DataError(
                f"catalog entry {entry.name!r} has no variable {ch.variable!r} for channel "
                f"{name!r}; it has {sorted(map(str, ds.data_vars))}",
                hint=f"map a variable to the channel in {entry.catalog_file}: channels: "
                f"{{{name}: {{source: NAME, source_units: U, units: U}}}}",
            )
        has_level = "level" in ds[ch.variable].dims
        if ch.level is None and has_level:
            raise DataError(
                f"channel {name!r} is single-level but {ch.variable!r} of {entry.name!r} has levels"
            )
        if ch.level is not None:
            if not has_level:
                raise DataError(
                    f"channel {name!r} needs level {ch.level} hPa but {ch.variable!r} of "
                    f"{entry.name!r} has no level dim"
                )
            levels = [int(v) for v in ds["level"].values]
            if ch.level not in levels:
                raise DataError(
                    f"catalog entry {entry.name!r} has no level {ch.level} hPa for channel "
                    f"{name!r}; levels present: {levels}"
                )
        needed.setdefault(ch.variable, set())
        if ch.level is not None:
            needed[ch.variable].add(ch.level)
    mappings = {
        str(ds[v].attrs["grid_mapping"])
        for v in needed
        if str(ds[v].attrs.get("grid_mapping", "")) in ds.data_vars
    }
    out = ds[list(needed) + sorted(mappings)]  # keep the CF grid mapping of projected fields
    levels = sorted(set().union(*needed.values()))
    if levels and "level" in out.dims:
        out = out.sel(level=levels)
    elif "level" in out.dims and not levels:
        out = out.drop_dims("level")
    return out


def open_native(
    entry: CatalogEntry, channels: Sequence[str] | None = None, **kwargs: Any
) -> tuple[xr.Dataset, dict[str, Any]]:
    """An entry as its driver reads it, on its native grid, and its grid options still to apply.

    Parameters
    ----------
    entry : CatalogEntry
    channels : sequence of str, optional
        Channels to be read (the WeatherBench 1 driver then opens only their directories).
    **kwargs
        Override or extend the entry's ``options``.

    Returns
    -------
    ds : xr.Dataset
        Lazy, canonical, its grid completed (:func:`gmgclim.data.grid.complete_grid`); channel
        mappings not yet applied.
    generic : dict
        The ``sel``/``isel``/``coarsen``/``regrid`` options, for :func:`apply_entry_options`.
    """
    from gmgclim.data.grid import complete_grid

    location = expand_location(entry)
    options = {**entry.options, **kwargs}
    generic = {k: options.pop(k) for k in list(options) if k in _GENERIC_OPTIONS}
    if entry.driver == "weatherbench1-netcdf" and channels is not None:
        # open only the directories the channels need
        if "channels" not in options and "directories" not in options:
            options["channels"] = list(channels)
    ds = DRIVERS[entry.driver](entry, location, options)
    where = f"{entry.catalog_file}: entry {entry.name!r} ({location})"
    return complete_grid(ds, where), generic


def apply_entry_options(
    ds: xr.Dataset, generic: dict[str, Any], skip_missing: bool = False
) -> xr.Dataset:
    """Apply an entry's ``sel``, ``isel``, ``coarsen`` and ``regrid`` options, in that order.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical, on the entry's native grid.
    generic : dict
        As returned by :func:`open_native`.
    skip_missing : bool
        Skip selections on dims or coordinates ``ds`` lacks (a static field has no ``time`` or
        ``number`` to select); by default xarray raises.

    Returns
    -------
    xr.Dataset
    """
    from gmgclim.data.grid import coarsen_cells

    for key in ("sel", "isel"):
        if key in generic:
            indexers = {
                k: v
                for k, v in dict(generic[key]).items()
                if not skip_missing or k in ds.dims or k in ds.coords
            }
            if indexers:
                ds = getattr(ds, key)(indexers)
    if generic.get("coarsen"):
        ds = coarsen_cells(ds, int(generic["coarsen"]))
    if generic.get("regrid"):
        from gmgclim.data.gridded import regrid

        spec = dict(generic["regrid"])
        if "shape" in spec:
            spec["shape"] = tuple(spec["shape"])
        ds = regrid(ds, **spec)
    return ds


def open_entry(
    name: str,
    channels: Sequence[str] | None = None,
    time: slice | tuple | None = None,
    catalogs: Sequence[str | Path] | None = None,
    **kwargs: Any,
) -> xr.Dataset:
    """Open a catalog entry as a lazy dataset in the canonical convention.

    Parameters
    ----------
    name : str
        Entry name (``gmgclim data list``).
    channels : sequence of str, optional
        Lexicon short names to keep (``["t850", "z500"]``); a missing variable or level raises.
    time : slice or (start, end), optional
        Date range to keep (inclusive labels, e.g. ``slice("2019-03-01", "2019-03-10")``).
    catalogs : sequence of path, optional
        Catalog files/directories instead of the search path.
    **kwargs
        Override or extend the entry's ``options`` (driver arguments, ``sel``, ``isel``,
        ``regrid``, ``coarsen``).

    Returns
    -------
    xr.Dataset
        Lazy (dask-backed), canonical; the entry name in ``attrs["gmgclim_catalog_entry"]``.
    """
    entry = get_entry(name, catalogs)
    ds, generic = open_native(entry, channels=channels, **kwargs)
    ds = apply_channel_specs(ds, entry.channel_specs)
    ds = apply_entry_options(ds, generic)
    sl = _time_slice(time)
    if sl is not None:
        ds = ds.sel(time=sl)
        if ds.sizes.get("time", 0) == 0:
            raise DataError(
                f"catalog entry {name!r} has no data in time range {sl.start}..{sl.stop}"
            )
    if channels is not None:
        ds = _select_channels(ds, entry, channels)
    ds.attrs["gmgclim_catalog_entry"] = name
    return ds


def describe_entry(entry: CatalogEntry, open_data: bool = True) -> str:
    """A multi-line description of an entry: metadata and, when it opens, dims, sizes and coverage."""
    lines = [
        f"{entry.name}: {entry.description}",
        f"  driver:    {entry.driver}",
        f"  location:  {entry.location}",
        f"  variables: {', '.join(entry.variables) or '-'}",
        f"  channels:  {', '.join(entry.channels) or '-'}",
    ]
    if entry.levels:
        lines.append(f"  levels:    {', '.join(map(str, entry.levels))} hPa")
    for spec in entry.statics:
        units = f" [{spec.units}]" if spec.units else ""
        about = f": {spec.description}" if spec.description else ""
        lines.append(
            f"  static:    {spec.name} = {spec.variable}{units} in {spec.location}{about} "
            "(data.statics)"
        )
    if entry.time:
        lines.append(
            "  time:      "
            + f"{entry.time.get('start', '?')} .. {entry.time.get('end', '?')}"
            + (f" every {entry.time['step']}" if "step" in entry.time else "")
        )
    for key in ("grid", "size", "license", "citation"):
        value = getattr(entry, key)
        if value:
            lines.append(f"  {key + ':':<10} {value}")
    lines.append(f"  catalog:   {entry.catalog_file}")
    if open_data:
        try:
            ds = open_entry(entry.name)
        except (DataError, OSError, ValueError, ImportError) as exc:
            lines.append(f"  (not opened: {str(exc).splitlines()[0]})")
        else:
            lines.append("  dims:      " + ", ".join(f"{k}={v}" for k, v in ds.sizes.items()))
            for v in ds.data_vars:
                da = ds[v]
                if da.ndim == 0:
                    continue
                nbytes = da.size * da.dtype.itemsize
                lines.append(
                    f"    {v}{da.dims} {da.dtype} [{da.attrs.get('units', '?')}] "
                    f"{nbytes / 2**20:.1f} MiB"
                )
            if "time" in ds.coords and ds.sizes.get("time", 0):
                t = pd.to_datetime(np.asarray(ds["time"].values))
                step = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(0)
                lines.append(f"  coverage:  {t[0]} .. {t[-1]} ({len(t)} steps, first step {step})")
    return "\n".join(lines)
