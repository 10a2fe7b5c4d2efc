import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.metrics import (
    compute_climatology,
    persistence_forecast,
    rmse_wb2,
    score_forecast,
    score_with_baselines,
    scores_to_table,
)


def _smooth_truth(n_times=2 * 365 * 4, seed=0):
    """Two years of 6-hourly fields: seasonal + diurnal cycles plus slow AR(1) weather."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2017-01-01", periods=n_times, freq="6h")
    doy = times.day_of_year.values
    seasonal = 10 * np.cos(2 * np.pi * doy / 365.25) + 2 * np.cos(
        2 * np.pi * times.hour.values / 24
    )
    weather = np.zeros((n_times, 4, 8))
    for t in range(1, n_times):
        weather[t] = 0.9 * weather[t - 1] + rng.normal(0, 1, (4, 8))
    data = 280 + seasonal[:, None, None] + weather
    return xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), data.astype(np.float32), {"units": "K"})},
        coords={
            "time": times,
            "latitude": [-67.5, -22.5, 22.5, 67.5],
            "longitude": np.arange(8) * 45.0,
        },
    )


def test_score_layout_and_table(mock):
    truth = mock.truth(n_times=30)
    fc = mock.forecast(truth, n_init=20, leads_h=[6, 12, 24])
    clim = compute_climatology(truth, hour_of_day=False)
    scores = score_forecast(
        fc, truth, metrics=["rmse", "rmse_wb1", "mae", "bias", "acc"], climatology=clim
    )
    assert scores["t2m"].dims == ("metric", "prediction_timedelta")
    assert scores.metric.values.tolist() == ["rmse", "rmse_wb1", "mae", "bias", "acc"]
    np.testing.assert_allclose(scores.lead_time_hours.values, [6, 12, 24])
    assert scores.attrs["convention"] == "wb2"
    assert "sqrt" in scores.attrs["averaging_rmse"]
    np.testing.assert_allclose(
        scores["t2m"].sel(metric="rmse").values, rmse_wb2(fc, truth)["t2m"].values
    )
    assert scores["t2m_n_verified"].values.tolist() == [20, 20, 20]
    # Noise grows with lead time in the mock forecast (std 1, 2, 3 K).
    assert (np.diff(scores["t2m"].sel(metric="rmse").values) > 0).all()
    table = scores_to_table(scores)
    assert len(table) == 5 * 3
    assert list(table.columns) == [
        "variable",
        "metric",
        "lead_time_hours",
        "value",
        "units",
        "n_verified",
    ]
    assert table.loc[table.metric == "acc", "units"].unique().tolist() == ["1"]


def test_score_categorical_and_fss_layout():
    rng = np.random.default_rng(1)
    times = pd.date_range("2021-06-01", periods=12, freq="5min")
    coords = {"time": times, "y": np.arange(10.0), "x": np.arange(12.0)}
    truth = xr.Dataset(
        {"precip": (("time", "y", "x"), rng.gamma(0.5, 2, (12, 10, 12)), {"units": "mm h-1"})},
        coords=coords,
    )
    fc = persistence_forecast(truth, times[:8], pd.to_timedelta([5, 10], "min"))
    scores = score_forecast(
        fc, truth, metrics=["mae", "csi", "ets", "fss"], thresholds=[0.5, 2.0], scales=[1, 3]
    )
    assert scores["precip_csi"].dims == ("threshold", "prediction_timedelta")
    assert scores["precip"].metric.values.tolist() == ["mae"]
    assert scores["precip_fss"].dims == ("threshold", "scale", "prediction_timedelta")
    table = scores_to_table(scores)
    assert set(table.metric) == {"mae", "csi", "ets", "fss"}
    assert len(table) == 2 + 2 * 2 * 2 + 2 * 2 * 2
    with pytest.raises(DataError, match="need thresholds for 'precip'"):
        score_forecast(fc, truth, metrics=["csi"])


def test_baselines_on_smooth_data_have_the_expected_skill():
    truth = _smooth_truth()
    train = truth.sel(time=slice("2017-01-01", "2017-12-31"))
    test_inits = truth.time.values[(truth.time.dt.year == 2018).values][:200]
    clim = compute_climatology(train, window_days=31)
    # A "model" that is persistence with half the anomaly damped towards climatology.
    leads = pd.to_timedelta([6, 24, 120], "h")
    scores = score_with_baselines(
        persistence_forecast(truth, test_inits, leads),
        truth.chunk({"time": 100}),
        climatology=clim,
        metrics=["rmse", "acc"],
        model_name="persistence_copy",
    )
    assert scores["t2m"].dims == ("model", "metric", "prediction_timedelta")
    rmse = scores["t2m"].sel(metric="rmse")
    np.testing.assert_allclose(rmse.sel(model="persistence_copy"), rmse.sel(model="persistence"))
    # Persistence beats climatology at 6 h (AR(1) weather with 0.9 per step) and loses at 5 days.
    assert rmse.sel(model="persistence")[0] < rmse.sel(model="climatology")[0]
    assert rmse.sel(model="persistence")[-1] > rmse.sel(model="climatology")[-1]
    acc = scores["t2m"].sel(metric="acc", model="persistence").values
    assert acc[0] > 0.6 and acc[-1] < 0.3
    table = scores_to_table(scores)
    assert table.model.unique().tolist() == ["climatology", "persistence", "persistence_copy"]


def test_score_errors():
    truth = _smooth_truth(40)
    fc = persistence_forecast(truth, truth.time.values[:10], pd.to_timedelta([6], "h"))
    with pytest.raises(DataError, match="'acc' needs a climatology"):
        score_forecast(fc, truth, metrics=["acc"])
    with pytest.raises(ValueError, match="unknown metrics"):
        score_forecast(fc, truth, metrics=["skill"])
    with pytest.raises(DataError, match="truth has no variable 'z500'"):
        score_forecast(fc.assign(z500=fc.t2m), truth, metrics=["rmse"])
