"""One catalog entry: the :class:`CatalogEntry` record and the strict checks that build it.

Unknown or missing keys, an unknown driver, a malformed ``time``, ``options`` or ``statics`` block
and non-text metadata raise :class:`~gmgclim.errors.DataError` naming the entry, the key and the file.
Reading the files and opening entries: :mod:`gmgclim.data.catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmgclim.data.catalog_drivers import DRIVERS
from gmgclim.data.channel_map import ChannelSpec, parse_channel_specs
from gmgclim.errors import DataError

__all__ = ["CatalogEntry", "StaticSpec", "parse_entry"]

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
    "statics",
}
_REQUIRED_KEYS = {"driver", "location"}
_TIME_KEYS = {"start", "end", "step"}
_STATIC_KEYS = {"location", "variable", "units", "description"}
_STATIC_REQUIRED = {"location", "variable"}


@dataclass(frozen=True)
class StaticSpec:
    """A 2-D constant field an entry names (``statics:`` in the catalog): orography, land cover.

    Attributes
    ----------
    name : str
        What a recipe lists in ``data.statics``.
    location : str
        Path or glob of a netCDF file (or a ``.zarr`` store), possibly with ``${VAR}``; a relative
        path is relative to the catalog file.
    variable : str
        The field's name in the file.
    units, description : str
        Free text (``units`` is kept on the field read).
    """

    name: str
    location: str
    variable: str
    units: str = ""
    description: str = ""


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
    statics : tuple of StaticSpec
        2-D constant fields on the entry's grid that a recipe may list in ``data.statics``
        (read by :mod:`gmgclim.data.catalog_statics`).
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
    statics: tuple[StaticSpec, ...] = ()

    @property
    def static_names(self) -> tuple[str, ...]:
        """Names of the entry's :attr:`statics`, in catalog order."""
        return tuple(spec.name for spec in self.statics)

    def static(self, name: str) -> StaticSpec:
        """The static field called ``name``.

        Raises
        ------
        DataError
            The entry declares no such static (naming the entry, its file and what it declares).
        """
        for spec in self.statics:
            if spec.name == name:
                return spec
        raise DataError(
            f"catalog entry {self.name!r} ({self.catalog_file}) declares no static {name!r}; "
            f"it declares {list(self.static_names) or 'none'}",
            hint=f"add it under statics: in {self.catalog_file}",
        )


def _parse_statics(raw: Any, name: str, path: Path) -> tuple[StaticSpec, ...]:
    """The ``statics:`` mapping of an entry: ``{name: {location, variable, units, description}}``."""
    from gmgclim.data.statics import STATICS

    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise DataError(
            f"{path}: entry {name!r} key 'statics' must be a mapping of name -> "
            f"{{location: PATH, variable: NAME}}, got {raw!r}"
        )
    specs = []
    for static, spec in raw.items():
        key = f"statics.{static}"
        if not isinstance(static, str) or not static:
            raise DataError(f"{path}: entry {name!r} key 'statics' has a non-text name {static!r}")
        if static in STATICS:
            raise DataError(
                f"{path}: entry {name!r} key {key!r} is a built-in static; choose another name "
                f"(built-in: {sorted(STATICS)})"
            )
        if not isinstance(spec, dict):
            raise DataError(
                f"{path}: entry {name!r} key {key!r} must be a mapping "
                f"{{location: PATH, variable: NAME}}, got {spec!r}"
            )
        unknown = sorted(map(str, set(spec) - _STATIC_KEYS))
        if unknown:
            raise DataError(
                f"{path}: entry {name!r} key {key!r} has unknown key(s) {unknown}; "
                f"allowed: {sorted(_STATIC_KEYS)}"
            )
        missing = sorted(_STATIC_REQUIRED - set(spec))
        if missing:
            raise DataError(f"{path}: entry {name!r} key {key!r} lacks required key(s) {missing}")
        for field_name, value in spec.items():
            if not isinstance(value, str) or (field_name in _STATIC_REQUIRED and not value):
                raise DataError(
                    f"{path}: entry {name!r} key '{key}.{field_name}' must be a non-empty string, "
                    f"got {value!r}"
                )
        specs.append(StaticSpec(name=static, **spec))
    return tuple(specs)


def _as_tuple(value: Any, key: str, name: str, path: Path, kind: type) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise DataError(
            f"{path}: entry {name!r} key {key!r} must be a list of {kind.__name__}, got {value!r}"
        )
    return tuple(value)


def parse_entry(name: str, raw: Any, path: Path) -> CatalogEntry:
    """Check one entry of a catalog file and build its :class:`CatalogEntry`.

    Parameters
    ----------
    name : str
        The entry's key in the file.
    raw : Any
        Its parsed YAML value.
    path : Path
        The catalog file (named in errors).

    Returns
    -------
    CatalogEntry

    Raises
    ------
    DataError
        A key is unknown, missing or malformed, or the driver is unknown.
    """
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
        statics=_parse_statics(raw.get("statics"), name, path),
        **text,
    )
