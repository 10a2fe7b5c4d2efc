"""Short channel names (``t850``, ``z500``, ``t2m``, ``precip``, ``dbz``) and what they mean.

A *channel* is one 2-D field that a model sees: a canonical variable (WeatherBench 2 name, see
:data:`gmgclim.conventions.CANONICAL_VARIABLES`) at one pressure level, or a single-level variable.
Recipes name channels by their short name; :func:`resolve_channel` turns a short name into a
:class:`Channel` with the canonical variable, level (hPa) and CF attributes.

Short names for pressure-level variables follow the WeatherBench habit ``<letter><level>``
(``t850`` = temperature at 850 hPa, ``z500`` = geopotential at 500 hPa); any of the 13 WeatherBench
levels can be asked for, not only those listed in :data:`CHANNELS`.

This module imports nothing from gmgclim but the leaf table :mod:`gmgclim.variables` (see
ARCHITECTURE.md), which :mod:`gmgclim.conventions` reads too: the CF attributes have one source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gmgclim.variables import CANONICAL_VARIABLES

__all__ = [
    "CHANNELS",
    "PRESSURE_LEVELS_HPA",
    "Channel",
    "channel_for",
    "resolve_channel",
    "resolve_channels",
]

#: The 13 pressure levels (hPa) of WeatherBench 1 and 2.
PRESSURE_LEVELS_HPA: tuple[int, ...] = (
    50,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    700,
    850,
    925,
    1000,
)


@dataclass(frozen=True)
class Channel:
    """One model channel.

    Parameters
    ----------
    name : str
        Short name used in recipes and tensors, e.g. ``"t850"``.
    variable : str
        Canonical (WeatherBench 2 style) variable name, e.g. ``"temperature"``.
    level : int or None
        Pressure level in hPa, or None for a single-level field.
    units : str
        CF units of the field, e.g. ``"K"``, ``"m2 s-2"``, ``"mm h-1"``.
    long_name : str
        Human-readable description.
    standard_name : str or None
        CF standard name where one exists.
    """

    name: str
    variable: str
    level: int | None
    units: str
    long_name: str
    standard_name: str | None


# Letter prefix of pressure-level short names -> canonical variable.
_LEVEL_PREFIXES: dict[str, str] = {
    "t": "temperature",
    "z": "geopotential",
    "u": "u_component_of_wind",
    "v": "v_component_of_wind",
    "q": "specific_humidity",
    "r": "relative_humidity",
}

# Single-level short names -> canonical variable.
_SINGLE_LEVEL: dict[str, str] = {
    "t2m": "2m_temperature",
    "u10": "10m_u_component_of_wind",
    "v10": "10m_v_component_of_wind",
    "msl": "mean_sea_level_pressure",
    "tp": "total_precipitation",
    "tcc": "total_cloud_cover",
    "tisr": "toa_incident_solar_radiation",
    "precip": "precipitation_rate",
    "dbz": "reflectivity",
}

_LEVEL_NAME = re.compile(r"^([a-z])(\d{2,4})$")


def _make(name: str, variable: str, level: int | None) -> Channel:
    units, long_name, standard_name = CANONICAL_VARIABLES[variable]
    if level is not None:
        long_name = f"{long_name} at {level} hPa"
    return Channel(name, variable, level, units, long_name, standard_name)


def _build_channels() -> dict[str, Channel]:
    channels = {name: _make(name, var, None) for name, var in _SINGLE_LEVEL.items()}
    for prefix in ("t", "z"):
        for level in (500, 850, 1000, 250, 700):
            name = f"{prefix}{level}"
            channels[name] = _make(name, _LEVEL_PREFIXES[prefix], level)
    for prefix in ("u", "v", "q", "r"):
        for level in (500, 850):
            name = f"{prefix}{level}"
            channels[name] = _make(name, _LEVEL_PREFIXES[prefix], level)
    return channels


#: Named channels known without parsing; :func:`resolve_channel` also accepts ``<t|z|u|v|q|r><level>``
#: for every level in :data:`PRESSURE_LEVELS_HPA`.
CHANNELS: dict[str, Channel] = _build_channels()


def resolve_channel(name: str) -> Channel:
    """Return the :class:`Channel` for a short name.

    Parameters
    ----------
    name : str
        Short name such as ``"t850"``, ``"z500"``, ``"t2m"``, ``"precip"`` or ``"dbz"``.

    Returns
    -------
    Channel

    Raises
    ------
    ValueError
        For an unknown name or a pressure level that WeatherBench does not have; the message lists the
        known names.
    """
    if not isinstance(name, str):
        raise ValueError(f"channel name must be a string, got {name!r}")
    key = name.strip().lower()
    if key in CHANNELS:
        return CHANNELS[key]
    match = _LEVEL_NAME.match(key)
    if match and match.group(1) in _LEVEL_PREFIXES:
        level = int(match.group(2))
        if level not in PRESSURE_LEVELS_HPA:
            raise ValueError(
                f"channel {name!r}: level {level} hPa is not a WeatherBench pressure level "
                f"(expected one of {list(PRESSURE_LEVELS_HPA)})"
            )
        return _make(key, _LEVEL_PREFIXES[match.group(1)], level)
    known = ", ".join(sorted(CHANNELS))
    raise ValueError(
        f"unknown channel {name!r}; known channels: {known} "
        f"(or <t|z|u|v|q|r><level> for a level in {list(PRESSURE_LEVELS_HPA)})"
    )


def resolve_channels(names: list[str] | tuple[str, ...]) -> list[Channel]:
    """Resolve several short names in order, refusing duplicates.

    Parameters
    ----------
    names : sequence of str
        Short names in tensor channel order.

    Returns
    -------
    list of Channel
    """
    channels = [resolve_channel(n) for n in names]
    seen: set[str] = set()
    for ch in channels:
        if ch.name in seen:
            raise ValueError(f"channel {ch.name!r} is listed twice in {list(names)}")
        seen.add(ch.name)
    return channels


def channel_for(variable: str, level: int | None = None) -> Channel:
    """Return the channel of a canonical variable (and level), the inverse of :func:`resolve_channel`.

    Parameters
    ----------
    variable : str
        Canonical variable name, e.g. ``"geopotential"``.
    level : int, optional
        Pressure level in hPa for pressure-level variables.

    Returns
    -------
    Channel
    """
    for ch in CHANNELS.values():
        if ch.variable == variable and ch.level == level:
            return ch
    if level is not None:
        for prefix, var in _LEVEL_PREFIXES.items():
            if var == variable:
                return resolve_channel(f"{prefix}{int(level)}")
    raise ValueError(f"no channel for variable {variable!r} at level {level!r}")
