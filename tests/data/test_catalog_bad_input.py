"""Bad catalogs and bad files: each gives one line naming the file/key and what was expected.

Load-time cases fail in :func:`gmgclim.data.catalog.load_catalogs` (``gmgclim data list``);
open-time cases in :func:`gmgclim.data.catalog.open_entry`, once the file is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened)
import pytest
import xarray as xr

from gmgclim.data.catalog import load_catalogs, open_entry
from gmgclim.errors import DataError
from gmgclim.testing import write_mock_albers_radar_netcdf as write_radar
from gmgclim.testing import write_mock_slp_netcdf as write_slp


def _catalog(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("entries:\n  e:\n    driver: netcdf\n" + body)
    return path


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


LOAD_CASES = [
    (  # the issue's case: a lexicon channel whose variable the entry does not list
        "    location: x.nc\n    variables: [slp]\n    channels: [msl]\n",
        ["channels.msl", "'mean_sea_level_pressure'", "['slp']", "source"],
    ),
    (  # a mapping to a source the entry does not list
        "    location: x.nc\n    variables: [slp]\n"
        "    channels: {msl: {source: pressure, units: hPa}}\n",
        ["channels.msl.source", "'pressure'", "add 'pressure' to variables"],
    ),
    (  # a channel that is neither in the lexicon nor defined
        "    location: x.nc\n    channels: [sst]\n",
        ["channels.sst", "not in the lexicon", "source", "units"],
    ),
    (  # a new channel without units
        "    location: x.nc\n    channels: {sst: {source: sea_surface_temp}}\n",
        ["channels.sst.units", "must be given"],
    ),
    (  # a mapping without a source
        "    location: x.nc\n    channels: {msl: {units: hPa, scale: 0.01}}\n",
        ["channels.msl.source", "required"],
    ),
    (  # a wrong scale for a known pair of units
        "    location: x.nc\n"
        "    channels: {msl: {source: slp, source_units: Pa, units: hPa, scale: 100}}\n",
        ["channels.msl", "'Pa'", "'hPa'", "expected scale 0.01"],
    ),
    (  # different units without a conversion
        "    location: x.nc\n    channels: {msl: {source: slp, source_units: Pa, units: hPa}}\n",
        ["channels.msl", "no conversion is declared", "scale: 0.01"],
    ),
    (  # unknown named conversion
        "    location: x.nc\n"
        "    channels: {precip: {source: p, source_units: mm, conversion: per_hour}}\n",
        ["channels.precip.conversion", "'per_hour'", "accumulation_to_rate"],
    ),
    (  # accumulation_to_rate without a period
        "    location: x.nc\n"
        "    channels: {precip: {source: p, source_units: mm, conversion: accumulation_to_rate}}\n",
        ["channels.precip.accumulation", "time.step"],
    ),
    (  # accumulation_to_rate from a rate
        "    location: x.nc\n    time: {step: 10min}\n"
        "    channels: {precip: {source: p, source_units: mm h-1, "
        "conversion: accumulation_to_rate}}\n",
        ["channels.precip", "amount in mm", "'mm h-1'"],
    ),
    (  # a bad accumulation period
        "    location: x.nc\n"
        "    channels: {precip: {source: p, source_units: mm, conversion: accumulation_to_rate, "
        "accumulation: ten}}\n",
        ["channels.precip.accumulation", "'ten'", "10min"],
    ),
    (  # scale that is not a number
        "    location: x.nc\n    channels: {sst: {source: s, units: K, scale: lots}}\n",
        ["channels.sst.scale", "number", "'lots'"],
    ),
    (  # unknown key in a channel mapping
        "    location: x.nc\n    channels: {msl: {source: slp, unit: hPa}}\n",
        ["channels.msl", "unknown key(s) ['unit']", "allowed"],
    ),
    (  # two channels made from one variable
        "    location: x.nc\n"
        "    channels: {sst: {source: a, units: K, variable: v}, sst2: {source: b, units: K, "
        "variable: v}}\n",
        ["channels.sst2", "both make variable 'v'"],
    ),
    (  # a bad time step
        "    location: x.nc\n    time: {step: often}\n",
        ["time.step", "'often'", "10min"],
    ),
    (  # a bad coarsen option
        "    location: x.nc\n    options: {coarsen: two}\n",
        ["options.coarsen", "whole number"],
    ),
    (  # scale on equal units
        "    location: x.nc\n"
        "    channels: {msl: {source: slp, source_units: hPa, units: hPa, scale: 0.01}}\n",
        ["channels.msl", "both 'hPa'", "remove scale"],
    ),
    (  # a bad channel name
        "    location: x.nc\n    channels: {Precip Rate: {source: p, units: mm h-1}}\n",
        ["channels.Precip Rate", "lower case"],
    ),
]


@pytest.mark.parametrize(("body", "expected"), LOAD_CASES)
def test_bad_catalog_fails_at_load(tmp_path, body, expected):
    path = _catalog(tmp_path, body)
    with pytest.raises(DataError) as exc:
        load_catalogs([path])
    text = _one_line(exc)
    assert str(path) in text and "entry 'e'" in text, text
    for part in expected:
        assert part in text, (part, text)


def _open_with(tmp_path: Path, monkeypatch, body: str, channels=None, **kwargs):
    path = _catalog(tmp_path, body)
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(path))
    with pytest.raises(DataError) as exc:
        open_entry("e", channels=channels, **kwargs)
    return path, _one_line(exc)


def _projected(tmp_path: Path, name: str, drop=(), gm_attr="albers") -> Path:
    ds = xr.open_dataset(write_radar(tmp_path / "ok.nc", frames=4, n=8)).load()
    ds = ds.drop_vars(list(drop))
    if gm_attr is None:
        del ds["precipitation"].attrs["grid_mapping"]
    else:
        ds["precipitation"].attrs["grid_mapping"] = gm_attr
    path = tmp_path / name
    ds.to_netcdf(path)
    return path


def test_source_variable_missing_in_the_file(tmp_path, monkeypatch):
    slp = write_slp(tmp_path / "slp.nc", days=4)
    path, text = _open_with(
        tmp_path,
        monkeypatch,
        f"    location: {slp}\n    channels: {{msl: {{source: psl, units: hPa, "
        "source_units: Pa, scale: 0.01}}\n",
    )
    assert str(path) in text and "channels.msl.source" in text and "'psl'" in text
    assert "['slp']" in text


def test_declared_units_differ_from_the_file(tmp_path, monkeypatch):
    slp = write_slp(tmp_path / "slp.nc", days=4)
    _, text = _open_with(
        tmp_path,
        monkeypatch,
        f"    location: {slp}\n    channels: {{msl: {{source: slp, source_units: hPa, "
        "units: hPa}}\n",
    )
    assert "channels.msl.source_units" in text and "declared 'hPa'" in text and "'Pa'" in text


def test_file_units_need_a_conversion(tmp_path, monkeypatch):
    slp = write_slp(tmp_path / "slp.nc", days=4)
    _, text = _open_with(
        tmp_path,
        monkeypatch,
        f"    location: {slp}\n    channels: {{msl: {{source: slp, units: hPa}}}}\n",
    )
    assert "channels.msl" in text and "'Pa'" in text and "scale: 0.01" in text


def test_unmapped_channel_names_the_mapping_fix(tmp_path, monkeypatch):
    slp = write_slp(tmp_path / "slp.nc", days=4)
    path = _catalog(tmp_path, f"    location: {slp}\n")
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(path))
    with pytest.raises(DataError) as exc:
        open_entry("e", channels=["msl"])
    text = _one_line(exc)
    assert "no variable 'mean_sea_level_pressure' for channel 'msl'" in text and "['slp']" in text
    assert "source:" in exc.value.hint and str(path) in exc.value.hint


def test_missing_grid_mapping(tmp_path, monkeypatch):
    nc = _projected(tmp_path, "nogm.nc", drop=["albers"], gm_attr=None)
    path, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert str(path) in text and "without a CF grid_mapping" in text and "grid_mapping_name" in text


def test_grid_mapping_attribute_names_a_missing_variable(tmp_path, monkeypatch):
    nc = _projected(tmp_path, "gm.nc", drop=["albers"])
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert "names grid_mapping 'albers'" in text and "not in the file" in text


def test_projected_grid_without_coordinates(tmp_path, monkeypatch):
    nc = _projected(tmp_path, "nocoords.nc", drop=["x", "y"])
    path, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert str(path) in text and "without coordinates" in text and "x(x)" in text


def test_grid_mapping_pyproj_cannot_read(tmp_path, monkeypatch):
    ds = xr.open_dataset(write_radar(tmp_path / "ok.nc", frames=4, n=8)).load()
    ds["albers"].attrs = {"grid_mapping_name": "no_such_projection"}
    nc = tmp_path / "weird.nc"
    ds.to_netcdf(nc)
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert "grid mapping 'albers' is not understood" in text


def test_projected_coordinates_in_degrees(tmp_path, monkeypatch):
    ds = xr.open_dataset(write_radar(tmp_path / "ok.nc", frames=4, n=8)).load()
    ds["x"].attrs["units"] = "degrees"
    nc = tmp_path / "deg.nc"
    ds.to_netcdf(nc)
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert "coordinate 'x' has units 'degrees'" in text and "m or km" in text


def test_empty_glob(tmp_path, monkeypatch):
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {tmp_path}/none_*.nc\n")
    assert "no netCDF files match" in text and "none_*.nc" in text


def test_mixed_grids_across_files(tmp_path, monkeypatch):
    (tmp_path / "mix").mkdir()
    write_slp(tmp_path / "mix" / "a.nc", days=3)
    ds = xr.open_dataset(write_radar(tmp_path / "r.nc", frames=2, n=8)).load()
    ds = ds.assign_coords(time=pd.date_range("2001-02-01", periods=2, freq="1D"))
    ds.rename({"precipitation": "slp"}).to_netcdf(tmp_path / "mix" / "b.nc")
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {tmp_path}/mix/*.nc\n")
    assert "mixed grids across files" in text and "b.nc" in text


def test_no_spatial_dims(tmp_path, monkeypatch):
    nc = tmp_path / "series.nc"
    xr.Dataset(
        {"slp": (("time",), np.ones(3, np.float32))},
        coords={"time": pd.date_range("2001-01-01", periods=3)},
    ).to_netcdf(nc)
    _, text = _open_with(tmp_path, monkeypatch, f"    location: {nc}\n")
    assert "no spatial dims" in text and "latitude/longitude" in text


def test_coarsen_larger_than_the_grid(tmp_path, monkeypatch):
    nc = write_radar(tmp_path / "r.nc", frames=2, n=8)
    _, text = _open_with(
        tmp_path, monkeypatch, f"    location: {nc}\n    options: {{coarsen: 16}}\n"
    )
    assert "options.coarsen = 16" in text and "'y'" in text


def test_source_with_levels(tmp_path, monkeypatch):
    nc = tmp_path / "lev.nc"
    xr.Dataset(
        {
            "temp": (
                ("time", "level", "lat", "lon"),
                np.ones((2, 2, 3, 4), np.float32),
                {"units": "K"},
            )
        },
        coords={
            "time": pd.date_range("2001-01-01", periods=2),
            "level": [500, 850],
            "lat": [10.0, 12.5, 15.0],
            "lon": [0.0, 2.5, 5.0, 7.5],
        },
    ).to_netcdf(nc)
    _, text = _open_with(
        tmp_path,
        monkeypatch,
        f"    location: {nc}\n    channels: {{tx: {{source: temp, units: K}}}}\n",
    )
    assert "channels.tx.source" in text and "level dim" in text and "sel" in text


def test_radar_netcdf_accumulation_needs_one_amount(tmp_path):
    from gmgclim.data.radar import open_radar_netcdf

    nc = write_radar(tmp_path / "r.nc", frames=3, n=8)
    rate = open_radar_netcdf(nc, accumulation_minutes=10)
    assert rate["precipitation_rate"].attrs["accumulation_minutes"] == 10.0
    raw = xr.open_dataset(nc)
    np.testing.assert_allclose(
        rate["precipitation_rate"].values, 6.0 * raw["precipitation"].values, rtol=1e-6
    )
    with pytest.raises(DataError) as exc:
        open_radar_netcdf(nc, accumulation_minutes=10, variable="rain")
    assert "option 'variable' = 'rain'" in _one_line(exc)
    with pytest.raises(DataError) as exc:
        open_radar_netcdf(nc, accumulation_minutes=0)
    assert "accumulation_minutes must be positive" in _one_line(exc)


def test_catalog_defined_channel_without_lexicon(tmp_path, monkeypatch):
    """A channel the lexicon lacks, defined in the catalog, resolves through select_channels."""
    from gmgclim.data.channels import select_channels

    slp = write_slp(tmp_path / "slp.nc", days=4)
    path = _catalog(
        tmp_path,
        f"    location: {slp}\n    channels:\n      pmsl_anom:\n        source: slp\n"
        "        source_units: Pa\n        units: Pa\n        offset: -101325\n"
        "        long_name: sea level pressure anomaly\n",
    )
    # offset with equal units is a change of values: refused; use a new units name instead
    with pytest.raises(DataError):
        load_catalogs([path])
    path.write_text(
        path.read_text().replace("units: Pa\n        offset", "units: Pa anomaly\n        offset")
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(path))
    ds = open_entry("e", channels=["pmsl_anom"])
    fields = select_channels(ds, ["pmsl_anom"])
    assert fields.attrs["channel_units"] == ["Pa anomaly"]
    assert abs(float(fields.mean())) < 500.0
