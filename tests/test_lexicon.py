"""Tests for gmgclim.lexicon: channel short names -> canonical variable, level, CF attributes."""

import pytest

from gmgclim.conventions import CANONICAL_VARIABLES
from gmgclim.lexicon import (
    CHANNELS,
    PRESSURE_LEVELS_HPA,
    channel_for,
    resolve_channel,
    resolve_channels,
)


@pytest.mark.parametrize(
    ("name", "variable", "level", "units"),
    [
        ("t850", "temperature", 850, "K"),
        ("z500", "geopotential", 500, "m2 s-2"),
        ("t500", "temperature", 500, "K"),
        ("z850", "geopotential", 850, "m2 s-2"),
        ("t2m", "2m_temperature", None, "K"),
        ("precip", "precipitation_rate", None, "mm h-1"),
        ("dbz", "reflectivity", None, "dBZ"),
        ("tp", "total_precipitation", None, "m"),
        ("T850", "temperature", 850, "K"),  # case-insensitive
        ("u300", "u_component_of_wind", 300, "m s-1"),  # parsed, not listed
    ],
)
def test_resolve_channel(name, variable, level, units):
    ch = resolve_channel(name)
    assert (ch.variable, ch.level, ch.units) == (variable, level, units)
    if level is not None:
        assert f"{level} hPa" in ch.long_name


def test_unknown_channel_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown channel 'foo'.*t850"):
        resolve_channel("foo")


def test_level_not_in_weatherbench():
    with pytest.raises(ValueError, match=r"level 123 hPa is not a WeatherBench pressure level"):
        resolve_channel("t123")


def test_duplicates_refused():
    with pytest.raises(ValueError, match=r"listed twice"):
        resolve_channels(["t850", "z500", "T850"])


def test_channel_attrs_match_conventions():
    # lexicon and conventions read one table (gmgclim.variables); a channel's attributes are its
    # variable's, with the level added to the long name
    for ch in CHANNELS.values():
        units, long_name, standard_name = CANONICAL_VARIABLES[ch.variable]
        assert ch.units == units
        assert ch.standard_name == standard_name
        assert ch.long_name.startswith(long_name)


def test_channel_for_inverts_resolve():
    for name in ("t850", "z500", "t2m", "precip", "dbz"):
        ch = resolve_channel(name)
        assert channel_for(ch.variable, ch.level).name == name
    assert channel_for("temperature", 300).name == "t300"
    assert 850 in PRESSURE_LEVELS_HPA
    with pytest.raises(ValueError, match=r"no channel"):
        channel_for("reflectivity", 500)
