"""Baseline choice and the training-period climatology (with its WeatherBench 1 fallback)."""

from __future__ import annotations

import numpy as np
import pytest

from gmgclim.errors import GmgclimError
from gmgclim.evaluation import check_baselines, open_forecast_store, training_climatology


def test_unknown_baseline():
    assert check_baselines(["persistence", "extrapolation"]) == ["persistence", "extrapolation"]
    with pytest.raises(ValueError, match=r"unknown \['nope'\]"):
        check_baselines(["persistence", "nope"])


def test_short_training_period_falls_back_to_its_time_mean(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task()))
    clim, note = training_climatology(store, ["2m_temperature"])
    # training split 2000-01-01..02 does not hold the valid days 3..5 January
    assert note is not None and "training period 2000-01-01..2000-01-02" in note
    assert "WeatherBench 1" in note
    assert set(clim["2m_temperature"].dims) == {"latitude", "longitude"}
    # mean of 280 + 0.001 h (h = 0, 6, ..., 42) + 0.1 lat_index (cropped rows 1..6) + 0.01 lon_index
    lat_index = np.arange(1, 7)[:, None]
    lon_index = np.arange(16)[None, :]
    expected = 280.0 + 0.001 * 21.0 + 0.1 * lat_index + 0.01 * lon_index
    np.testing.assert_allclose(clim["2m_temperature"].values, expected, atol=1e-4)


def test_climatology_of_given_years_by_day_and_hour(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task()))
    clim, note = training_climatology(store, ["2m_temperature"], years=[2000])
    assert note is None  # 2000 holds every valid day of year
    value = clim["2m_temperature"].sel(dayofyear=3, hour=6).isel(latitude=0, longitude=0)
    # 2000-01-03T06 is hour 54 of the mock; the first kept row is latitude index 1
    assert float(value) == pytest.approx(280.0 + 0.054 + 0.1, abs=1e-4)


def test_climatology_needs_training_years(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task(splits={})))
    with pytest.raises(GmgclimError, match="training years"):
        training_climatology(store, ["2m_temperature"])
