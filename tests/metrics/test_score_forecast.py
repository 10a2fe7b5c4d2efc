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
    select_score,
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
    # One `metric` dim for every score (issue 10): categorical scores sit in one variable, read
    # back by metric name, never decoded from a `<var>_csi` suffix.
    assert scores["precip_categorical"].dims == (
        "metric",
        "threshold",
        "scale",
        "prediction_timedelta",
    )
    assert scores.metric.values.tolist() == ["mae", "csi", "ets", "fss"]
    assert select_score(scores, "precip", "csi").dims == ("threshold", "prediction_timedelta")
    # The deterministic variable shares the metric coordinate and is NaN at categorical metrics.
    assert scores["precip"].dropna("metric", how="all").metric.values.tolist() == ["mae"]
    assert select_score(scores, "precip", "fss").dims == (
        "threshold",
        "scale",
        "prediction_timedelta",
    )
    # Contingency scores are pixel scores: at scale 1, NaN at the other FSS scales.
    csi = scores["precip_categorical"].sel(metric="csi")
    assert np.isfinite(csi.sel(scale=1)).all() and np.isnan(csi.sel(scale=3)).all()
    assert {v.attrs["score_kind"] for v in scores.data_vars.values()} == {
        "deterministic",
        "categorical",
        "n_verified",
        "n_cells",
    }
    table = scores_to_table(scores)
    assert set(table.metric) == {"mae", "csi", "ets", "fss"}
    assert len(table) == 2 + 2 * 2 * 2 + 2 * 2 * 2
    assert list(table.columns) == [
        "variable",
        "metric",
        "lead_time_hours",
        "threshold",
        "scale",
        "value",
        "units",
        "n_verified",
    ]
    assert table.loc[table.metric == "csi", "scale"].isna().all()
    np.testing.assert_allclose(
        table.loc[table.metric == "csi", "value"].to_numpy(),
        select_score(scores, "precip", "csi").transpose("prediction_timedelta", ...).values.ravel(),
    )
    with pytest.raises(DataError, match="no 'acc' scores for 'precip'"):
        select_score(scores, "precip", "acc")
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


def test_registry_has_one_function_per_metric():
    from gmgclim.metrics import METRICS, resolve_metric
    from gmgclim.metrics.registry import METRIC_NAMES

    functions = [m.function for m in METRICS.values()]
    assert len(set(functions)) == len(functions)
    assert resolve_metric("rmse", "wb1").name == "rmse_wb1"
    assert resolve_metric("rmse", "wb2").name == "rmse_wb2"
    assert resolve_metric("acc", "wb1").name == "acc_pooled_wb1"
    assert {"csi", "pod", "far", "ets"} == {
        n for n, m in METRICS.items() if m.kind == "contingency"
    }
    assert set(METRIC_NAMES) >= {"rmse", "acc", "mae", "bias", "mse", "fss"}
    with pytest.raises(ValueError, match="unknown metric 'skill'"):
        resolve_metric("skill")


def test_score_forecast_uses_cf_latitude_bounds():
    # A 3-row regional grid at 50, 51, 52 N whose CF bounds say the cells are 49-50.5, 50.5-51.2
    # and 51.2-53 N (not the midpoints, so the test sees whether the bounds are used). Errors 1, 2, 3 K per row, uniform in time and
    # longitude: WB2 mse = sum(a_i e_i^2) / sum(a_i), a_i = sin(upper_i) - sin(lower_i).
    times = pd.date_range("2020-01-01", periods=3, freq="6h")
    lat = np.array([50.0, 51.0, 52.0])
    bounds = np.array([[49.0, 50.5], [50.5, 51.2], [51.2, 53.0]])
    err = np.array([1.0, 2.0, 3.0])[:, None] * np.ones((3, 2))
    coords = {"latitude": ("latitude", lat, {"bounds": "latitude_bnds"}), "longitude": [0.0, 1.0]}
    truth = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), np.zeros((3, 3, 2)), {"units": "K"})},
        coords={"time": times, **coords},
    )
    fc = xr.Dataset(
        {
            "t2m": (
                ("time", "prediction_timedelta", "latitude", "longitude"),
                np.broadcast_to(err, (2, 1, 3, 2)).copy(),
                {"units": "K"},
            ),
            "latitude_bnds": (("latitude", "bnds"), bounds),
        },
        coords={"time": times[:2], "prediction_timedelta": [np.timedelta64(6, "h")], **coords},
    )
    area = np.diff(np.sin(np.deg2rad(bounds)), axis=1).ravel()
    expected = np.sum(area * err[:, 0] ** 2) / area.sum()
    scores = score_forecast(fc, truth, metrics=["mse", "rmse_wb1"])
    assert scores.metric.values.tolist() == ["mse", "rmse_wb1"]
    np.testing.assert_allclose(scores["t2m"].sel(metric="mse").values, [expected])
    # WB1 ignores bounds: cos(latitude) of the row centres.
    cos = np.cos(np.deg2rad(lat))
    np.testing.assert_allclose(
        scores["t2m"].sel(metric="rmse_wb1").values,
        [np.sqrt(np.sum(cos * err[:, 0] ** 2) / cos.sum())],
    )
