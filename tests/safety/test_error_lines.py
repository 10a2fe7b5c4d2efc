"""Unclear error lines made clear (issue 15): each bad input exits 2 with one line naming the file,
store or key and what was expected; no bare ``'key'`` from a KeyError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from safety_helpers import error_line, tiny_recipe, write_recipe

from gmgclim.data.gridded import grid_difference, open_netcdf_files
from gmgclim.data.windows import check_step, data_step
from gmgclim.errors import DataError
from gmgclim.errors import error_line as format_error
from gmgclim.testing import mock_gridded_dataset

INITS = pd.to_datetime(["2000-01-03T00", "2000-01-04T00"]).values
LEADS = pd.to_timedelta([6, 12], "h").values


@pytest.fixture
def mock_truth(tmp_path, monkeypatch) -> xr.Dataset:
    """Catalog entry ``mock-t2m``: 6-hourly 2 m temperature, 10 days, 8 x 16."""
    truth = mock_gridded_dataset(periods=40, variables=("2m_temperature",))
    truth.to_netcdf(tmp_path / "truth.nc")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "entries:\n  mock-t2m:\n    driver: netcdf\n"
        f"    location: {tmp_path / 'truth.nc'}\n    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return truth


def _forecast(truth: xr.Dataset) -> xr.Dataset:
    """The truth at valid time as a (time, prediction_timedelta, latitude, longitude) forecast."""
    fields = [truth.sel(time=INITS + lead).assign_coords(time=INITS) for lead in LEADS]
    fc = xr.concat(fields, dim=xr.DataArray(LEADS, dims="prediction_timedelta"))
    return fc.transpose("time", "prediction_timedelta", "latitude", "longitude")


# ---- gmgclim score of stores that are no forecast, or that the truth does not match ---------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_lead_dim", "lacks ['prediction_timedelta']"),
        ("no_init_dim", "lacks ['time']"),
        ("variable_not_in_truth", "forecast variables ['foo_var'] are not in the truth 'mock-t2m'"),
        ("no_forecast_variable", "no variable has both dims"),
        ("empty_directory", "cannot open as a zarr forecast store"),
        ("regular_file", "cannot open as a zarr forecast store"),
    ],
)
def test_score_of_a_bad_store_names_the_store_and_what_it_lacks(
    case, expected, cli, mock_truth, tmp_path
):
    fc = _forecast(mock_truth)
    store = tmp_path / f"{case}.zarr"
    if case == "no_lead_dim":
        fc.isel(prediction_timedelta=0, drop=True).to_zarr(store, zarr_format=2)
    elif case == "no_init_dim":
        fc.isel(time=0, drop=True).to_zarr(store, zarr_format=2)
    elif case == "variable_not_in_truth":
        fc.rename({"2m_temperature": "foo_var"}).to_zarr(store, zarr_format=2)
    elif case == "no_forecast_variable":
        # the lead coordinate is there, but the variable is not on it
        one_lead = fc["2m_temperature"].isel(prediction_timedelta=0, drop=True)
        fc.assign(**{"2m_temperature": one_lead}).to_zarr(store, zarr_format=2)
    elif case == "empty_directory":
        store.mkdir()
    else:
        store.write_text("not a store")
    code, _, err = cli("score", str(store), "--truth", "mock-t2m", "--no-progress")
    assert code == 2, err
    line = error_line(err)
    assert str(store) in line and expected in line, line


def test_a_key_error_that_escapes_is_named_as_a_missing_key(cli, monkeypatch):
    """The generic handler never prints a bare ``'key'``."""
    from gmgclim.data import catalog

    def lookup(name):
        return {}["entries"]

    monkeypatch.setattr(catalog, "get_entry", lookup)
    code, _, err = cli("data", "describe", "anything")
    assert code == 2
    line = error_line(err)
    assert line.startswith("error: missing key 'entries' (looked up in gmgclim.")
    assert "error: 'entries'" not in err


def test_error_line_of_a_key_error_outside_gmgclim():
    try:
        xr.Dataset()["missing_variable"]
    except KeyError as exc:
        # xarray's sentence as it is, no gmgclim frame to name
        assert format_error(exc).startswith("No variable named 'missing_variable'")
    assert format_error(KeyError(("a", 1))) == "missing key ('a', 1)"
    assert format_error(DataError("x.nc: bad")) == "x.nc: bad"


# ---- mixed grids across the files of one entry ---------------------------------------------


def _two_files(tmp_path: Path, shift: float) -> list[Path]:
    ds = mock_gridded_dataset(periods=8, variables=("2m_temperature",))
    first, second = tmp_path / "a.nc", tmp_path / "b.nc"
    ds.isel(time=slice(0, 4)).to_netcdf(first)
    later = ds.isel(time=slice(4, 8))
    later.assign_coords(latitude=later["latitude"] + shift).to_netcdf(second)
    return [first, second]


def test_mixed_grids_name_the_coordinate_its_values_and_both_files(tmp_path):
    files = _two_files(tmp_path, shift=0.5)
    with pytest.raises(DataError) as info:
        open_netcdf_files(files)
    message = str(info.value)
    assert "a.nc" in message and "b.nc" in message and "latitude" in message
    assert "first at index 0" in message and "longitude" not in message


def test_cli_mixed_grids_exit_2_with_the_difference(cli, tmp_path, monkeypatch):
    _two_files(tmp_path, shift=0.5)
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        f"entries:\n  mixed:\n    driver: netcdf\n    location: {tmp_path}/*.nc\n"
        "    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    code, _, err = cli("data", "prepare", "mixed", "--to", str(tmp_path / "out.zarr"))
    assert code == 2
    line = error_line(err)
    assert "b.nc" in line and "a.nc" in line and "latitude: 8 values" in line


def test_grid_difference_says_what_differs():
    lat = np.linspace(-80.0, 80.0, 8)
    assert grid_difference({"latitude": lat}, {"latitude": lat.copy()}) is None
    text = grid_difference({"latitude": lat[::-1]}, {"latitude": lat})
    assert text is not None and "80 .. -80 vs 8 values -80 .. 80" in text
    assert "6 values" in (grid_difference({"latitude": lat[:6]}, {"latitude": lat}) or "")
    assert "grid coordinates" in (grid_difference({"y": lat}, {"latitude": lat}) or "")


# ---- a step the data does not have ---------------------------------------------------------


def test_data_step_and_check_step():
    hourly = pd.date_range("2000-01-01", periods=6, freq="1h").values
    gappy = np.delete(hourly, 2)
    assert data_step(gappy) == np.timedelta64(1, "h") and data_step(hourly[:1]) is None
    check_step(gappy, "3h")
    with pytest.raises(
        DataError, match=r"data.step 30min is finer than the data's own step 1h \(x\); expected"
    ):
        check_step(gappy, "30min", "data.step", "x")
    with pytest.raises(DataError, match=r"90min is not a multiple of the data's own step 1h \(x\)"):
        check_step(gappy, "90min", "data.step", "x")


@pytest.mark.parametrize(
    ("step", "relation"), [("30min", "finer than"), ("90min", "not a multiple of")]
)
def test_training_with_a_step_the_data_lacks_names_the_data_step(step, relation, cli, tmp_path):
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["step"] = step
    path = write_recipe(tmp_path / "r.yaml", recipe)
    code, _, err = cli("train", str(path), "--no-progress")
    assert code == 2
    line = error_line(err)
    assert str(path) in line and f"data.step {step} is {relation}" in line
    assert (
        f"data.step {step} is {relation} the data's own step 1h (catalog entry 'era5-uk-t2m'"
        in line
    )
    assert "expected a multiple of 1h" in line


def test_forecast_with_a_finer_step_names_the_data_step(cli, run_copy, tmp_path):
    out = tmp_path / "fc.zarr"
    code, _, err = cli(
        "forecast", str(run_copy), "--step", "30min", "-o", str(out), "--no-progress"
    )
    assert code == 2
    line = error_line(err)
    assert "30min is finer than the data's own step 1h (catalog entry 'era5-uk-t2m')" in line
    assert not out.exists()
