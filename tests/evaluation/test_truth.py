"""The truth of a forecast store: on the forecast's grid, over its valid times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gmgclim.errors import GmgclimError
from gmgclim.evaluation import open_forecast_store, open_truth, truth_period
from gmgclim.testing import mock_gridded_dataset


def test_truth_period_covers_valid_times(tmp_path, mock_catalog, stores):
    fc = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task())).forecast
    # inits 2000-01-03..05 00:00, leads 6 h and 12 h
    period = truth_period(fc)
    assert pd.Timestamp(period.start) == pd.Timestamp("2000-01-03T00")
    assert pd.Timestamp(period.stop) == pd.Timestamp("2000-01-05T12")
    # 3 frames of the shortest lead (6 h) before the first init, for persistence/extrapolation
    before = truth_period(fc, before_steps=3)
    assert pd.Timestamp(before.start) == pd.Timestamp("2000-01-02T06")


def test_truth_on_the_forecast_grid(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task()))
    truth = open_truth(store)
    assert truth.sizes["latitude"] == 6  # the task's crop: rows 1..6 of 8
    assert truth.sizes["time"] == 11  # 2000-01-03T00 .. 2000-01-05T12, 6-hourly
    expected = mock_gridded_dataset(periods=40, variables=("2m_temperature",)).isel(
        latitude=slice(1, 7)
    )
    np.testing.assert_array_equal(
        truth["2m_temperature"].values,
        expected["2m_temperature"].sel(time=truth["time"]).values,
    )
    np.testing.assert_array_equal(truth["latitude"].values, store.forecast["latitude"].values)


def test_truth_entry_can_be_overridden(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", stores.task(entry="gone")))
    with pytest.raises(Exception, match="gone"):
        open_truth(store)
    assert open_truth(store, stores.ENTRY).sizes["latitude"] == 6


def test_store_without_task_needs_an_entry(tmp_path, mock_catalog, stores):
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", None))
    with pytest.raises(GmgclimError, match="does not say which data"):
        open_truth(store)
    assert open_truth(store, stores.ENTRY).sizes["latitude"] == 8  # the entry's native grid
