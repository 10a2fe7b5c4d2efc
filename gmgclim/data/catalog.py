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

Locations may use ``${NAME}`` variables: ``GMGCLIM_SAMPLES`` defaults to the bundled
``gmgclim/sample_data``; others (``GMGCLIM_DATA``) come from the environment and must be set when
such an entry is opened. Files are read with ``yaml.safe_load``; unknown keys are errors that name
the key and the file.

Search path (later files override entries of the same name): the packaged ``gmgclim/catalogs/``
(the repository's ``catalogs/`` holds the same files, checked by a test), each directory or file in
the environment variable ``GMGCLIM_CATALOGS`` (``os.pathsep``-separated), then
``~/.config/gmgclim/*.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from gmgclim.conventions import canonicalize
from gmgclim.data.channel_map import ChannelSpec, apply_channel_specs, parse_channel_specs
from gmgclim.errors import DataError

__all__ = [
    "DRIVERS",
    "CatalogEntry",
    "catalog_search_path",
    "describe_entry",
    "expand_location",
    "get_entry",
    "load_catalogs",
    "open_entry",
    "packaged_catalog_dir",
    "sample_data_dir",
]

_ENTRY_KEYS = {
    "description",
    "driver",
    "location",
    "variables",
    "levels",
    "channels",
    "time",
    "grid",
    "license",
    "citation",
    "source",
    "options",
    "size",
}
_REQUIRED_KEYS = {"driver", "location"}
_TIME_KEYS = {"start", "end", "step"}
_GENERIC_OPTIONS = {"sel", "isel", "regrid", "coarsen"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def sample_data_dir() -> Path:
    """Directory of the bundled sample data (``gmgclim/sample_data``)."""
    return Path(__file__).resolve().parent.parent / "sample_data"


def packaged_catalog_dir() -> Path:
    """Directory of the packaged catalogs (``gmgclim/catalogs``)."""
    return Path(__file__).resolve().parent.parent / "catalogs"


@dataclass(frozen=True)
class CatalogEntry:
    """One catalogued data source.

    Attributes
    ----------
    name : str
        Entry name (the key in the catalog).
    driver : str
        Key of :data:`DRIVERS`.
    location : str
        Path, glob or URL, possibly with ``${VAR}`` variables (see :func:`expand_location`).
    description, license, citation, grid, size : str
        Free text.
    variables : tuple of str
        Canonical variable names the source provides.
    levels : tuple of int
        Pressure levels (hPa) available, empty for single-level sources.
    channels : tuple of str
        Channel short names the source can serve (lexicon names or defined by the entry).
    channel_specs : tuple of ChannelSpec
        How each channel is made from the file (:mod:`gmgclim.data.channel_map`): a mapped
        source variable, its units and conversion, or the lexicon's variable as it is.
    time : dict
        ``start``, ``end`` (ISO strings) and ``step`` (e.g. ``"1h"``), where known.
    source : str or None
        Alias table for :func:`gmgclim.conventions.canonicalize`.
    options : dict
        Driver keyword arguments, plus generic ``sel``/``isel`` (dicts), ``regrid`` (kwargs of
        :func:`gmgclim.data.gridded.regrid`) and ``coarsen`` (int).
    catalog_file : Path or None
        The YAML file the entry came from.
    """

    name: str
    driver: str
    location: str
    description: str = ""
    variables: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    time: dict = field(default_factory=dict)
    grid: str = ""
    license: str = ""
    citation: str = ""
    source: str | None = None
    options: dict = field(default_factory=dict)
    size: str = ""
    catalog_file: Path | None = None
    channel_specs: tuple[ChannelSpec, ...] = ()


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


def _as_tuple(value: Any, key: str, name: str, path: Path, kind: type) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise DataError(
            f"{path}: entry {name!r} key {key!r} must be a list of {kind.__name__}, got {value!r}"
        )
    return tuple(value)


def _parse_entry(name: str, raw: Any, path: Path) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise DataError(f"{path}: entry {name!r} must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise DataError(
            f"{path}: entry {name!r} has unknown key(s) {unknown}; allowed: {sorted(_ENTRY_KEYS)}"
        )
    missing = sorted(_REQUIRED_KEYS - set(raw))
    if missing:
        raise DataError(f"{path}: entry {name!r} lacks required key(s) {missing}")
    driver = raw["driver"]
    if driver not in DRIVERS:
        raise DataError(
            f"{path}: entry {name!r} has unknown driver {driver!r}; known: {sorted(DRIVERS)}"
        )
    time = raw.get("time") or {}
    if not isinstance(time, dict) or set(time) - _TIME_KEYS:
        raise DataError(
            f"{path}: entry {name!r} key 'time' must be a mapping with keys {sorted(_TIME_KEYS)}, "
            f"got {time!r}"
        )
    if "step" in time:
        from gmgclim.config import parse_step

        try:
            parse_step(str(time["step"]))
        except ValueError:
            raise DataError(
                f"{path}: entry {name!r} key 'time.step' = {time['step']!r} is not a positive "
                "time period (expected e.g. 10min, 1h, 6h, 1d)"
            ) from None
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise DataError(f"{path}: entry {name!r} key 'options' must be a mapping")
    variables = _as_tuple(raw.get("variables"), "variables", name, path, str)
    specs = parse_channel_specs(
        raw.get("channels"), name, path, variables=variables, step=time.get("step")
    )
    if "coarsen" in options and (
        isinstance(options["coarsen"], bool)
        or not isinstance(options["coarsen"], int)
        or options["coarsen"] < 1
    ):
        raise DataError(
            f"{path}: entry {name!r} key 'options.coarsen' must be a whole number >= 1 "
            f"(cells per block), got {options['coarsen']!r}"
        )
    text = {k: raw.get(k, "") for k in ("description", "grid", "license", "citation", "size")}
    for key, value in text.items():
        if not isinstance(value, str):
            raise DataError(f"{path}: entry {name!r} key {key!r} must be a string, got {value!r}")
    return CatalogEntry(
        name=name,
        driver=driver,
        location=str(raw["location"]),
        variables=variables,
        levels=_as_tuple(raw.get("levels"), "levels", name, path, int),
        channels=tuple(spec.name for spec in specs),
        channel_specs=specs,
        time={k: str(v) for k, v in time.items()},
        source=raw.get("source"),
        options=dict(options),
        catalog_file=path,
        **text,
    )


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
    return {str(name): _parse_entry(str(name), raw, path) for name, raw in entries.items()}


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


def expand_location(entry: CatalogEntry) -> str:
    """Expand ``${VAR}`` in an entry's location (``GMGCLIM_SAMPLES`` defaults to the sample data)."""

    def sub(match: re.Match) -> str:
        var = match.group(1)
        value = os.environ.get(var)
        if value is None and var == "GMGCLIM_SAMPLES":
            value = str(sample_data_dir())
        if value is None:
            raise DataError(
                f"catalog entry {entry.name!r} location {entry.location!r} needs ${{{var}}}, "
                "which is not set",
                hint=f"export {var}=/path/to/data (e.g. where `gmgclim data download` wrote to)",
            )
        return value

    return _VAR.sub(sub, entry.location)


# --------------------------------------------------------------------------- drivers


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
    location = expand_location(entry)
    options = {**entry.options, **kwargs}
    generic = {k: options.pop(k) for k in list(options) if k in _GENERIC_OPTIONS}
    if entry.driver == "weatherbench1-netcdf" and channels is not None:
        # open only the directories the channels need
        if "channels" not in options and "directories" not in options:
            options["channels"] = list(channels)
    ds = DRIVERS[entry.driver](entry, location, options)
    from gmgclim.data.grid import coarsen_cells, complete_grid

    where = f"{entry.catalog_file}: entry {name!r} ({location})"
    ds = complete_grid(ds, where)
    ds = apply_channel_specs(ds, entry.channel_specs)
    if "sel" in generic:
        ds = ds.sel(generic["sel"])
    if "isel" in generic:
        ds = ds.isel(generic["isel"])
    if generic.get("coarsen"):
        ds = coarsen_cells(ds, int(generic["coarsen"]))
    if generic.get("regrid"):
        from gmgclim.data.gridded import regrid

        spec = dict(generic["regrid"])
        if "shape" in spec:
            spec["shape"] = tuple(spec["shape"])
        ds = regrid(ds, **spec)
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
