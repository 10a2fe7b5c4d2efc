import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.metrics import climatology_forecast, compute_climatology, persistence_forecast


def test_persistence_repeats_truth_at_init(mock, backend):
    truth = mock.as_backend(mock.truth(n_times=20), backend)
    inits = truth.time.values[[2, 5, 9]]
    leads = pd.to_timedelta([6, 12, 48], "h")
    fc = persistence_forecast(truth, inits, leads)
    assert fc["t2m"].dims == ("time", "prediction_timedelta", "latitude", "longitude")
    for j in range(3):
        np.testing.assert_array_equal(fc["t2m"].values[:, j], truth["t2m"].sel(time=inits).values)
    with pytest.raises(DataError, match="persistence needs the truth at every init time"):
        persistence_forecast(truth, [np.datetime64("2030-01-01")], leads)


def _two_year_truth():
    # 6-hourly over 2017 and 2018: value 1 in 2017 and 3 in 2018 at 00 UTC, +10 at 06 UTC, etc.
    times = pd.date_range("2017-01-01", "2018-12-31T18", freq="6h")
    base = np.where(times.year == 2017, 1.0, 3.0) + 10.0 * np.asarray(times.hour // 6)
    data = np.broadcast_to(base[:, None, None], (times.size, 2, 3)).astype(np.float32)
    return xr.Dataset(
        {"x": (("time", "latitude", "longitude"), data, {"units": "K"})},
        coords={"time": times, "latitude": [-10.0, 10.0], "longitude": [0.0, 1.0, 2.0]},
    )


def test_climatology_by_day_of_year_and_hour(backend):
    truth = _two_year_truth()
    if backend == "dask":
        truth = truth.chunk({"time": 100})
    clim = compute_climatology(truth)
    assert clim["x"].dims == ("dayofyear", "hour", "latitude", "longitude")
    assert clim.sizes["dayofyear"] == 365 and clim.hour.values.tolist() == [0, 6, 12, 18]
    # Mean of 1 (2017) and 3 (2018) is 2, plus 10 per 6 hours.
    np.testing.assert_allclose(clim["x"].sel(dayofyear=40).values[:, 0, 0], [2, 12, 22, 32])
    only_2017 = compute_climatology(truth, years=[2017])
    np.testing.assert_allclose(only_2017["x"].sel(dayofyear=200, hour=6).values, 11.0)
    by_slice = compute_climatology(truth, years=slice(2018, 2018), hour_of_day=False)
    # Daily mean of 2018: 3 + (0 + 10 + 20 + 30) / 4 = 18.
    np.testing.assert_allclose(by_slice["x"].sel(dayofyear=1).values, 18.0)
    with pytest.raises(DataError, match="no times in years"):
        compute_climatology(truth, years=[1999])


def test_climatology_smoothing_window():
    # The raw mean is 7 on day 1 and 0 elsewhere; day 366 is never seen (NaN, left out).
    # A centred 7-day cyclic window around day d averages the valid days in d-3..d+3:
    # day 4 -> days 1..7, 7/7 = 1; day 5 -> 0; days 1-3 and 365-366 reach over day 366, so they
    # average 6 valid days including day 1 -> 7/6; day 363 -> days 360..366 -> 0.
    truth = _two_year_truth()
    truth = truth.isel(time=truth.time.dt.hour.values == 0)
    truth["x"] = xr.zeros_like(truth["x"])
    truth["x"].loc[{"time": "2017-01-01"}] = 7.0 * 2  # two years, so the raw mean on day 1 is 7
    clim = compute_climatology(truth, hour_of_day=False, window_days=7)
    values = clim["x"].isel(latitude=0, longitude=0).values
    assert clim.sizes["dayofyear"] == 366
    np.testing.assert_allclose(values[[0, 1, 2, 364, 365]], 7 / 6, rtol=1e-6)
    np.testing.assert_allclose(values[[3, 4, 362]], [1.0, 0.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="odd"):
        compute_climatology(truth, window_days=4)


def test_climatology_forecast_uses_valid_day_and_hour(backend):
    doy = np.arange(1, 367)
    hours = np.array([0, 6, 12, 18])
    codes = doy[:, None] * 100 + hours[None, :]
    clim = xr.Dataset(
        {"x": (("dayofyear", "hour", "latitude"), np.repeat(codes[..., None], 2, axis=2) * 1.0)},
        coords={"dayofyear": doy, "hour": hours, "latitude": [0.0, 1.0]},
    )
    if backend == "dask":
        clim = clim.chunk()
    inits = pd.to_datetime(["2019-12-31T12", "2020-02-28T18"]).values
    leads = pd.to_timedelta([0, 6, 30], "h").values
    fc = climatology_forecast(clim, inits, leads)
    assert fc["x"].dims == ("time", "prediction_timedelta", "latitude")
    valid = pd.DatetimeIndex((inits[:, None] + leads[None, :]).ravel())
    expected = (valid.day_of_year * 100 + valid.hour).values.reshape(2, 3)
    np.testing.assert_array_equal(fc["x"].values[..., 0], expected)
    with pytest.raises(DataError, match="day of year 365 hour 15"):
        climatology_forecast(clim, inits, pd.to_timedelta([3], "h").values)


def test_constant_climatology_is_broadcast():
    # WeatherBench 1's climatology baseline: one mean field for every valid time.
    clim = xr.DataArray(np.array([[1.0, 2.0]]), dims=("latitude", "longitude"), name="x")
    fc = climatology_forecast(clim, pd.to_datetime(["2020-01-01"]), pd.to_timedelta([6, 12], "h"))
    assert fc.dims == ("time", "prediction_timedelta", "latitude", "longitude")
    np.testing.assert_array_equal(fc.values[0, 1], [[1.0, 2.0]])
