"""Tests for gmgclim.data.catalog: loading, strict validation, variables, opening the samples."""

import filecmp
from pathlib import Path

import numpy as np
import pytest

from gmgclim.data import catalog
from gmgclim.data.catalog import get_entry, load_catalogs, open_entry
from gmgclim.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SAMPLES = ["era5-uk-t2m", "era5-global-tz", "knmi-radar", "fmi-radar"]


def test_packaged_catalogs_equal_repo_catalogs():
    # catalogs/ is the source of truth; gmgclim/catalogs/ is the packaged copy
    repo = sorted(p.name for p in (REPO / "catalogs").glob("*.yaml"))
    packaged = sorted(p.name for p in catalog.packaged_catalog_dir().glob("*.yaml"))
    assert repo == packaged == ["samples.yaml", "weatherbench.yaml", "weatherbench2.yaml"]
    for name in repo:
        assert filecmp.cmp(
            REPO / "catalogs" / name, catalog.packaged_catalog_dir() / name, shallow=False
        ), f"gmgclim/catalogs/{name} differs from catalogs/{name}: copy catalogs/*.yaml over"


def test_all_entries_load_with_metadata():
    entries = load_catalogs()
    for name in [*SAMPLES, "weatherbench1-5.625deg", "wb2-era5-64x32", "wb2-era5-240x121"]:
        entry = entries[name]
        assert entry.name == name and entry.license and entry.citation and entry.description
        assert entry.driver in catalog.DRIVERS
    assert entries["weatherbench1-t850"].location.startswith("${GMGCLIM_DATA}")
    assert entries["wb2-era5-64x32"].location.startswith("gs://weatherbench2/")


def _write(tmp_path, text):
    path = tmp_path / "cat.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_key_and_file(tmp_path):
    path = _write(
        tmp_path, "entries:\n  x:\n    driver: netcdf\n    location: a.nc\n    colour: red\n"
    )
    with pytest.raises(DataError, match=r"cat.yaml: entry 'x' has unknown key\(s\) \['colour'\]"):
        load_catalogs([path])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entries:\n  x:\n    driver: ftp\n    location: a\n", "unknown driver 'ftp'"),
        ("entries:\n  x:\n    location: a\n", r"lacks required key\(s\) \['driver'\]"),
        ("entries:\n  x:\n    driver: netcdf\n    location: a\n    channels: [t999]\n", "t999"),
        (
            "entries:\n  x:\n    driver: netcdf\n    location: a\n    time: {begin: 1}\n",
            "key 'time'",
        ),
        ("entries:\n  x:\n    driver: netcdf\n    location: a\n    levels: [a]\n", "list of int"),
        ("items: {}\n", r"unknown top-level key\(s\) \['items'\]"),
        ("entries: [1, 2]\n", "'entries' must be a mapping"),
        ("entries:\n  x: !!python/object:os.system {}\n", "cannot read catalog"),  # safe_load
    ],
)
def test_strict_errors(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_catalogs([_write(tmp_path, text)])


def test_env_catalog_overrides_and_variables(tmp_path, monkeypatch, wb1_root):
    path = _write(
        tmp_path,
        "entries:\n  mock-wb1:\n    driver: weatherbench1-netcdf\n"
        "    location: ${GMGCLIM_DATA}/wb1\n    channels: [t850]\n",
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(tmp_path))
    monkeypatch.delenv("GMGCLIM_DATA", raising=False)
    entry = get_entry("mock-wb1")
    assert entry.catalog_file == path
    with pytest.raises(DataError, match=r"needs \$\{GMGCLIM_DATA\}, which is not set"):
        open_entry("mock-wb1")
    (tmp_path / "wb1").symlink_to(wb1_root)
    monkeypatch.setenv("GMGCLIM_DATA", str(tmp_path))
    ds = open_entry("mock-wb1", channels=["t850"], time=("2000-03-01", "2000-03-02"))
    assert list(ds.data_vars) == ["temperature"]
    assert ds.sizes["time"] == 8 and ds["level"].values.tolist() == [850]


def test_unknown_entry_lists_names():
    with pytest.raises(DataError, match=r"no catalog entry 'nope'; known entries: .*era5-uk-t2m"):
        get_entry("nope")


@pytest.mark.parametrize(
    ("name", "variable", "dims", "units"),
    [
        ("era5-uk-t2m", "2m_temperature", {"time": 744, "latitude": 33, "longitude": 49}, "K"),
        (
            "era5-global-tz",
            "geopotential",
            {"time": 4, "level": 2, "latitude": 61, "longitude": 120},
            "m2 s-2",
        ),
        ("knmi-radar", "precipitation_rate", {"time": 92, "y": 765, "x": 700}, "mm h-1"),
        ("fmi-radar", "reflectivity", {"time": 40, "y": 1226, "x": 760}, "dBZ"),
    ],
)
def test_open_bundled_samples(name, variable, dims, units):
    ds = open_entry(name)
    assert ds[variable].dims == tuple(dims)
    assert dict(ds[variable].sizes) == dims
    assert ds[variable].attrs["units"] == units
    assert ds[variable].chunks is not None  # lazy
    assert ds.attrs["gmgclim_catalog_entry"] == name
    entry = get_entry(name)
    assert str(ds["time"].values[0]).startswith(entry.time["start"].replace("T", "T")[:16])


def test_open_entry_channels_and_errors():
    ds = open_entry("era5-global-tz", channels=["t850", "z500"])
    assert sorted(ds.data_vars) == ["geopotential", "temperature"]
    assert ds["level"].values.tolist() == [500, 850]
    # the entry selects ensemble member 0 by default; sel overrides it
    member3 = open_entry("era5-global-tz", sel={"number": 3})
    assert int(member3["number"]) == 3
    assert not np.array_equal(member3["temperature"].values, ds["temperature"].values)
    with pytest.raises(
        DataError, match=r"has no level 250 hPa for channel 't250'; levels present: \[500, 850\]"
    ):
        open_entry("era5-global-tz", channels=["t250"])
    with pytest.raises(DataError, match=r"has no variable '2m_temperature' for channel 't2m'"):
        open_entry("era5-global-tz", channels=["t2m"])
    with pytest.raises(DataError, match=r"no data in time range"):
        open_entry("era5-uk-t2m", time=slice("2020-01-01", "2020-02-01"))


def test_regrid_option_on_global_sample():
    ds = open_entry("era5-global-tz", channels=["z500"], regrid={"shape": [32, 64]})
    assert dict(ds["geopotential"].sizes) == {
        "time": 4,
        "level": 1,
        "latitude": 32,
        "longitude": 64,
    }
    assert ds["latitude"].values[0] == pytest.approx(-87.1875)
    assert ds["longitude"].values[-1] == pytest.approx(354.375)
    z = ds["geopotential"].values
    assert np.isfinite(z).all() and 4.5e4 < z.mean() < 5.8e4  # z500 ~ 5.5 km * g
