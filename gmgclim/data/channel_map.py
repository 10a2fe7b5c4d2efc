"""Catalog channel mappings: a file's variable -> a model channel, with its units and conversion.

A catalog entry's ``channels`` is either a list of lexicon short names (the file already holds the
canonical variables), or a mapping of channel name -> how to make it from the file::

    channels:
      msl:                              # a lexicon channel, here in hPa rather than Pa
        source: slp                     # the variable's name in the file
        source_units: Pa                # checked against the file's ``units`` attribute
        units: hPa                      # the channel's units
        scale: 0.01                     # channel = source * scale + offset
      precip:
        source: precipitation
        source_units: mm                # mm per 10 minutes
        conversion: accumulation_to_rate  # mm per period -> mm h-1
        accumulation: 10min             # default: the entry's time.step
      sst:                              # a channel the lexicon does not know
        source: sea_surface_temp
        units: K
        long_name: sea surface temperature
        standard_name: sea_surface_temperature
      t2m:                              # null: the lexicon channel as it is

The mapped field is renamed to the channel's variable (the lexicon's for a lexicon channel, the
channel name for a new one) and carries ``gmgclim_channel``, ``units``, ``long_name``,
``standard_name``, ``source_name`` and ``conversion`` attributes, so
:func:`gmgclim.data.channels.channel_field` finds it by name without touching the lexicon.

Every problem is a :class:`~gmgclim.errors.DataError` of one line naming the catalog file, the entry
and the key (``channels.msl.scale``) and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.lexicon import resolve_channel

__all__ = [
    "CONVERSIONS",
    "KNOWN_UNIT_CONVERSIONS",
    "ChannelSpec",
    "apply_channel_specs",
    "parse_channel_specs",
]

#: Named conversions a catalog may declare.
CONVERSIONS = ("accumulation_to_rate",)

#: (source units, channel units) -> (scale, offset) that gmgclim knows to be right; a declared
#: conversion between such units must agree, and a missing one is reported with the right numbers.
KNOWN_UNIT_CONVERSIONS: dict[tuple[str, str], tuple[float, float]] = {
    ("Pa", "hPa"): (0.01, 0.0),
    ("hPa", "Pa"): (100.0, 0.0),
    ("K", "degC"): (1.0, -273.15),
    ("degC", "K"): (1.0, 273.15),
    ("m", "mm"): (1000.0, 0.0),
    ("mm", "m"): (0.001, 0.0),
    ("kg m-2", "mm"): (1.0, 0.0),
    ("m s-1", "km h-1"): (3.6, 0.0),
    ("m2 s-2", "m"): (1.0 / 9.80665, 0.0),
}

_SPEC_KEYS = {
    "source",
    "source_units",
    "units",
    "scale",
    "offset",
    "conversion",
    "accumulation",
    "long_name",
    "standard_name",
    "variable",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RATE_UNITS = {"mm h-1", "mm/h", "mm hr-1", "kg m-2 h-1"}
_AMOUNT_UNITS = {"mm", "kg m-2"}


def _norm(units: str | None) -> str | None:
    if units is None:
        return None
    text = str(units).replace("**", "").replace("^", "").strip()
    return {"hectopascal": "hPa", "pascal": "Pa", "kelvin": "K", "celsius": "degC"}.get(
        text.lower(), text
    )


@dataclass(frozen=True)
class ChannelSpec:
    """How one channel is made from a catalog entry's data.

    Attributes
    ----------
    name : str
        Channel short name (recipes name it).
    variable : str
        Data variable that holds it after opening (lexicon variable, or the channel name).
    source : str or None
        Variable name in the file; None for a lexicon channel read as it is.
    source_units, units : str or None
        Units in the file and of the channel.
    scale, offset : float
        ``channel = source * scale + offset`` (after a named conversion's scale).
    conversion : str or None
        A name in :data:`CONVERSIONS`.
    accumulation_minutes : float or None
        Period of an accumulation (``accumulation_to_rate``).
    long_name, standard_name : str or None
        CF attributes of the channel.
    where : str
        ``"<file>: entry '<name>' key channels.<channel>"``, for messages.
    """

    name: str
    variable: str
    source: str | None = None
    source_units: str | None = None
    units: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    conversion: str | None = None
    accumulation_minutes: float | None = None
    long_name: str | None = None
    standard_name: str | None = None
    where: str = ""

    @property
    def is_mapped(self) -> bool:
        """True when the channel is made from a named file variable (not read as it is)."""
        return self.source is not None

    @property
    def total_scale(self) -> float:
        """The factor applied to the source values (named conversion times ``scale``)."""
        factor = self.scale
        if self.conversion == "accumulation_to_rate" and self.accumulation_minutes:
            factor *= 60.0 / self.accumulation_minutes
        return factor

    def describe_conversion(self) -> str:
        """One line, e.g. ``"slp (Pa) x 0.01 -> hPa"``."""
        if not self.is_mapped:
            return "as in the file"
        parts = [f"{self.source} ({self.source_units or '?'})"]
        if self.conversion == "accumulation_to_rate":
            parts.append(f"per {self.accumulation_minutes:g} min -> per hour")
        if self.scale != 1.0:
            parts.append(f"x {self.scale:g}")
        if self.offset:
            parts.append(f"+ {self.offset:g}")
        return " ".join(parts) + f" -> {self.units or '?'}"


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where}.{key} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise DataError(f"{where}.{key} must be finite, got {value!r}")
    return float(value)


def _minutes(value: Any, key: str, where: str) -> float:
    from gmgclim.config import parse_step

    try:
        step = parse_step(str(value), key)
    except ValueError:
        raise DataError(
            f"{where}.{key} = {value!r} is not a positive time period (expected e.g. 5min, 10min, 1h)"
        ) from None
    return float(step / np.timedelta64(1, "s")) / 60.0


def check_unit_conversion(spec: ChannelSpec, source_units: str | None, where: str) -> None:
    """Refuse a conversion that does not take ``source_units`` to the channel's units.

    Parameters
    ----------
    spec : ChannelSpec
    source_units : str or None
        The units of the source (declared, or read from the file).
    where : str
        Message prefix naming the file, entry and key.

    Raises
    ------
    DataError
        Units differ without a declared conversion, or the declared one is wrong for a pair of
        units in :data:`KNOWN_UNIT_CONVERSIONS`.
    """
    src, dst = _norm(source_units), _norm(spec.units)
    if spec.conversion == "accumulation_to_rate":
        if src is not None and src not in _AMOUNT_UNITS:
            raise DataError(
                f"{where}: accumulation_to_rate needs an amount in mm or kg m-2, "
                f"but the source units are {source_units!r}"
            )
        if dst is not None and dst not in _RATE_UNITS:
            raise DataError(
                f"{where}: accumulation_to_rate gives mm h-1, but units is {spec.units!r}"
            )
        return
    if src is None or dst is None:
        return
    declared = (spec.scale, spec.offset)
    if src == dst:
        if declared != (1.0, 0.0):
            raise DataError(
                f"{where}: source and channel units are both {spec.units!r}, but scale/offset "
                f"{declared} would change the values; remove scale/offset or fix the units"
            )
        return
    known = KNOWN_UNIT_CONVERSIONS.get((src, dst))
    if declared == (1.0, 0.0):
        fix = (
            f"declare scale: {known[0]:g}" + (f", offset: {known[1]:g}" if known[1] else "")
            if known
            else "declare scale (and offset) so that channel = source * scale + offset"
        )
        raise DataError(
            f"{where}: source units {source_units!r} differ from channel units {spec.units!r} "
            f"and no conversion is declared; {fix}"
        )
    if known and not np.allclose(declared, known, rtol=1e-6, atol=1e-9):
        raise DataError(
            f"{where}: scale/offset {declared} do not convert {source_units!r} to "
            f"{spec.units!r}; expected scale {known[0]:g}, offset {known[1]:g}"
        )


def _parse_one(name: str, raw: Any, where: str, step_minutes: float | None) -> ChannelSpec:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(
            f"{where}: channel name {name!r} must be lower case letters, digits and _ "
            "(starting with a letter)"
        )
    try:
        lexicon = resolve_channel(name)
    except ValueError:
        lexicon = None
    if raw is None:
        if lexicon is None:
            raise DataError(
                f"{where}: channel {name!r} is not in the lexicon; define it here with at least "
                f"'source' (the file's variable) and 'units', e.g. {name}: {{source: VAR, units: U}}"
            )
        return ChannelSpec(name=name, variable=lexicon.variable, where=where)
    if not isinstance(raw, Mapping):
        raise DataError(
            f"{where}: must be a mapping (source, source_units, units, scale, offset, conversion, "
            f"accumulation, long_name, standard_name) or null, got {raw!r}"
        )
    unknown = sorted(set(raw) - _SPEC_KEYS)
    if unknown:
        raise DataError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_SPEC_KEYS)}")
    source = raw.get("source")
    if not isinstance(source, str) or not source:
        raise DataError(f"{where}.source: the variable's name in the file is required (a string)")
    text = {}
    for key in ("source_units", "units", "long_name", "standard_name", "variable"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise DataError(f"{where}.{key} must be a string, got {value!r}")
        text[key] = value
    if lexicon is None and not text["units"]:
        raise DataError(
            f"{where}.units: channel {name!r} is not in the lexicon, so its units must be given"
        )
    if lexicon is not None and lexicon.level is not None:
        raise DataError(
            f"{where}: {name!r} is a pressure-level lexicon channel; map single-level fields only "
            "(or choose a new channel name)"
        )
    if lexicon is not None and text["variable"]:
        raise DataError(
            f"{where}.variable: {name!r} is a lexicon channel of variable {lexicon.variable!r}; "
            "'variable' names the data variable of new channels only"
        )
    conversion = raw.get("conversion")
    if conversion is not None and conversion not in CONVERSIONS:
        raise DataError(
            f"{where}.conversion: unknown conversion {conversion!r}; known: {list(CONVERSIONS)} "
            "(or give scale/offset)"
        )
    accumulation = None
    if conversion == "accumulation_to_rate":
        if raw.get("accumulation") is not None:
            accumulation = _minutes(raw["accumulation"], "accumulation", where)
        elif step_minutes is not None:
            accumulation = step_minutes
        else:
            raise DataError(
                f"{where}.accumulation: accumulation_to_rate needs the accumulation period; "
                "give accumulation: 10min or the entry's time.step"
            )
    elif raw.get("accumulation") is not None:
        raise DataError(f"{where}.accumulation is only used with conversion: accumulation_to_rate")
    units = text["units"] or (lexicon.units if lexicon is not None else None)
    spec = ChannelSpec(
        name=name,
        variable=lexicon.variable if lexicon is not None else (text["variable"] or name),
        source=source,
        source_units=text["source_units"],
        units=units,
        scale=_number(raw.get("scale", 1.0), "scale", where),
        offset=_number(raw.get("offset", 0.0), "offset", where),
        conversion=conversion,
        accumulation_minutes=accumulation,
        long_name=text["long_name"] or (lexicon.long_name if lexicon is not None else None),
        standard_name=text["standard_name"]
        or (lexicon.standard_name if lexicon is not None else None),
        where=where,
    )
    if spec.scale == 0.0:
        raise DataError(f"{where}.scale must not be 0")
    check_unit_conversion(spec, spec.source_units, where)
    return spec


def parse_channel_specs(
    raw: Any,
    entry: str,
    path: Path | str,
    variables: tuple[str, ...] = (),
    step: str | None = None,
) -> tuple[ChannelSpec, ...]:
    """Parse and check an entry's ``channels`` (a list of lexicon names or a mapping).

    Parameters
    ----------
    raw : list, mapping or None
        The YAML value.
    entry : str
        Entry name, for messages.
    path : Path or str
        Catalog file, for messages.
    variables : tuple of str
        The entry's ``variables``; when given, every channel's variable (or mapped ``source``)
        must be among them.
    step : str, optional
        The entry's ``time.step`` (default accumulation period).

    Returns
    -------
    tuple of ChannelSpec

    Raises
    ------
    DataError
        One line naming the file, entry and key.
    """
    base = f"{path}: entry {entry!r} key channels"
    if raw is None:
        return ()
    step_minutes = None
    if step is not None:
        try:
            step_minutes = _minutes(step, "step", base)
        except DataError:
            step_minutes = None
    if isinstance(raw, list):
        if not all(isinstance(v, str) for v in raw):
            raise DataError(f"{base} must be a list of channel names or a mapping, got {raw!r}")
        items: list[tuple[Any, Any]] = [(v, None) for v in raw]
    elif isinstance(raw, Mapping):
        items = list(raw.items())
    else:
        raise DataError(f"{base} must be a list of channel names or a mapping, got {raw!r}")
    specs = []
    for name, value in items:
        specs.append(_parse_one(name, value, f"{base}.{name}", step_minutes))
    seen: dict[str, str] = {}
    for spec in specs:
        if not spec.is_mapped:  # lexicon channels share variables across levels (t500, t850)
            continue
        if spec.variable in seen:
            raise DataError(
                f"{base}.{spec.name}: channels {seen[spec.variable]!r} and {spec.name!r} both "
                f"make variable {spec.variable!r}; give one of them another name"
            )
        seen[spec.variable] = spec.name
    if variables:
        for spec in specs:
            needed = spec.source if spec.is_mapped else spec.variable
            if needed not in variables:
                key = "source" if spec.is_mapped else ""
                fix = (
                    f"add {needed!r} to variables"
                    if spec.is_mapped
                    else f"map it from the file's variable: channels: {{{spec.name}: "
                    "{source: NAME, source_units: U, units: U}}"
                )
                raise DataError(
                    f"{base}.{spec.name}{'.' + key if key else ''}: channel {spec.name!r} needs "
                    f"variable {needed!r}, which is not in the entry's variables "
                    f"{list(variables)}; {fix}"
                )
    return tuple(specs)


def _find_source(ds: xr.Dataset, source: str) -> str | None:
    if source in ds.data_vars:
        return source
    for name, da in ds.data_vars.items():
        if da.attrs.get("source_name") == source:
            return str(name)
    return None


def apply_channel_specs(ds: xr.Dataset, specs: tuple[ChannelSpec, ...]) -> xr.Dataset:
    """Rename, convert and label the mapped channels of an opened entry.

    Parameters
    ----------
    ds : xr.Dataset
        The entry as its driver opened it (lazy).
    specs : tuple of ChannelSpec
        From :func:`parse_channel_specs`; unmapped (lexicon) specs are left to the lexicon.

    Returns
    -------
    xr.Dataset
        Each mapped channel as a float32 variable ``spec.variable`` with ``gmgclim_channel``,
        CF attributes and the conversion applied; the source variable is dropped.

    Raises
    ------
    DataError
        The source variable is missing, has levels, or carries units other than declared.
    """
    for spec in specs:
        if not spec.is_mapped:
            continue
        assert spec.source is not None
        found = _find_source(ds, spec.source)
        if found is None:
            raise DataError(
                f"{spec.where}.source: variable {spec.source!r} is not in the data; it has "
                f"{sorted(map(str, ds.data_vars))}"
            )
        da = ds[found]
        if "level" in da.dims:
            raise DataError(
                f"{spec.where}.source: {spec.source!r} has a level dim; select one level with "
                "the entry's options.sel (e.g. sel: {level: 850})"
            )
        file_units = da.attrs.get("units")
        if spec.source_units is not None and file_units is not None:
            if _norm(file_units) != _norm(spec.source_units):
                raise DataError(
                    f"{spec.where}.source_units: declared {spec.source_units!r}, but "
                    f"{spec.source!r} in the file has units {file_units!r}"
                )
        source_units = spec.source_units or file_units
        check_unit_conversion(spec, source_units, spec.where)
        values = da.astype(np.float32)
        factor = spec.total_scale
        if factor != 1.0:
            values = values * np.float32(factor)
        if spec.offset:
            values = values + np.float32(spec.offset)
        keep = {
            k: v
            for k, v in da.attrs.items()
            if k not in ("units", "long_name", "standard_name", "scale_factor", "add_offset")
        }
        attrs = {
            **keep,
            "units": spec.units or file_units or "1",
            "long_name": spec.long_name or da.attrs.get("long_name", spec.name),
            "gmgclim_channel": spec.name,
            "source_name": spec.source,
            "conversion": spec.describe_conversion(),
        }
        if spec.standard_name or da.attrs.get("standard_name"):
            attrs["standard_name"] = spec.standard_name or da.attrs["standard_name"]
        if spec.accumulation_minutes:
            attrs["accumulation_minutes"] = spec.accumulation_minutes
        values.attrs = attrs
        values.encoding = {}
        if spec.variable != found and spec.variable in ds.data_vars:
            ds = ds.drop_vars(spec.variable)
        ds = ds.drop_vars(found)
        ds[spec.variable] = values
    return ds
