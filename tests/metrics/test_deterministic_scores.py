import numpy as np
import pandas as pd
import pytest
import xarray as xr
import xskillscore as xs

from gmgclim.errors import DataError
from gmgclim.metrics import (
    acc,
    acc_pooled_wb1,
    align_forecast_truth,
    bias,
    cell_area_weights,
    latitude_weights_wb1,
    mae,
    mse,
    persistence_forecast,
    rmse_sqrt_after_time_mean_wb1,
    rmse_sqrt_before_time_mean,
    rmse_wb2,
)

H6 = np.timedelta64(6, "h")


def _pair(errors: np.ndarray, lat=(0.0, 60.0), n_lon=2):
    """Truth of zeros on valid times and a forecast whose error field per init is ``errors[i]``.

    errors: (n_init, n_lat, n_lon) for a single 6 h lead time.
    """
    n_init = errors.shape[0]
    times = pd.date_range("2020-01-01", periods=n_init + 1, freq="6h")
    coords = {"latitude": list(lat), "longitude": np.arange(n_lon) * 10.0}
    truth = xr.DataArray(
        np.zeros((n_init + 1, len(lat), n_lon)),
        dims=("time", "latitude", "longitude"),
        coords={"time": times, **coords},
        name="x",
        attrs={"units": "K"},
    )
    fc = xr.DataArray(
        errors[:, None],
        dims=("time", "prediction_timedelta", "latitude", "longitude"),
        coords={"time": times[:n_init], "prediction_timedelta": [H6], **coords},
        name="x",
        attrs={"units": "K"},
    )
    return fc, truth


def test_wb1_rmse_hand_value():
    # Rows at 0 and 60 deg N have WB1 weights 4/3 and 2/3 (see test_weights). Errors 1 on the first
    # row and 2 on the second: mean(w e^2) = (4/3 * 1 * 2 + 2/3 * 4 * 2) / 4 = 2 -> rmse sqrt(2).
    fc, truth = _pair(np.array([[[1.0, 1.0], [2.0, 2.0]]]))
    out = rmse_sqrt_after_time_mean_wb1(fc, truth)
    np.testing.assert_allclose(out.values, [np.sqrt(2)])
    assert out.attrs["units"] == "K"
    assert "then sqrt" in out.attrs["averaging"]
    assert out.n_verified.values.tolist() == [1]


def test_averaging_order_hand_values():
    # Two init times with spatially uniform errors +1 and -3 (weights do not matter):
    # mse per init 1 and 9 -> WB2 rmse sqrt((1 + 9) / 2) = sqrt(5); sqrt before the time mean
    # (1 + 3) / 2 = 2; mae (1 + 3) / 2 = 2; bias (1 - 3) / 2 = -1; mse 5.
    errors = np.stack([np.ones((2, 2)), -3 * np.ones((2, 2))])
    fc, truth = _pair(errors)
    np.testing.assert_allclose(rmse_wb2(fc, truth).values, [np.sqrt(5)])
    np.testing.assert_allclose(rmse_sqrt_after_time_mean_wb1(fc, truth).values, [np.sqrt(5)])
    np.testing.assert_allclose(rmse_sqrt_before_time_mean(fc, truth).values, [2.0])
    np.testing.assert_allclose(mae(fc, truth).values, [2.0])
    np.testing.assert_allclose(bias(fc, truth).values, [-1.0])
    np.testing.assert_allclose(mse(fc, truth).values, [5.0])


def test_wb1_and_wb2_rmse_differ_with_missing_pixels():
    # Init 1 has errors [1, 1 | 1, NaN] -> 3 valid pixels; init 2 errors 3 everywhere (4 pixels).
    # Uniform weights. WB1 pools: (3 * 1 + 4 * 9) / 7 = 39 / 7. WB2 averages per init: (1 + 9) / 2.
    errors = np.stack([np.array([[1.0, 1.0], [1.0, np.nan]]), 3 * np.ones((2, 2))])
    fc, truth = _pair(errors)
    wb1 = rmse_sqrt_after_time_mean_wb1(fc, truth, weights="uniform", skipna=True)
    wb2 = rmse_wb2(fc, truth, weights="uniform", skipna=True)
    np.testing.assert_allclose(wb1.values, [np.sqrt(39 / 7)])
    np.testing.assert_allclose(wb2.values, [np.sqrt(5)])
    assert np.isnan(rmse_wb2(fc, truth, weights="uniform").values).all()


def test_acc_hand_values():
    # Climatology 0: anomalies are the fields. Init 1: forecast anomaly equals truth anomaly
    # (acc 1); init 2: forecast anomaly is minus the truth anomaly (acc -1). Mean over inits 0.
    times = pd.date_range("2020-01-01", periods=3, freq="6h")
    coords = {"latitude": [-30.0, 30.0], "longitude": [0.0, 180.0]}
    pattern = np.array([[1.0, -2.0], [3.0, 0.5]])
    truth = xr.DataArray(
        np.stack([pattern] * 3),
        dims=("time", "latitude", "longitude"),
        coords={"time": times, **coords},
        name="x",
    )
    fc = xr.DataArray(
        np.stack([pattern, -pattern])[:, None],
        dims=("time", "prediction_timedelta", "latitude", "longitude"),
        coords={"time": times[:2], "prediction_timedelta": [H6], **coords},
        name="x",
    )
    clim = xr.zeros_like(truth.isel(time=0, drop=True))
    np.testing.assert_allclose(acc(fc, truth, clim).values, [0.0], atol=1e-12)
    np.testing.assert_allclose(acc(fc.isel(time=[0]), truth, clim).values, [1.0])
    np.testing.assert_allclose(acc(fc.isel(time=[1]), truth, clim).values, [-1.0])


def _xs_inputs(fc, truth):
    pair = align_forecast_truth(fc, truth)
    return pair.forecast["t2m"], pair.truth["t2m"]


def test_against_xskillscore(mock, backend):
    truth = mock.truth(n_times=40, seed=3)
    fc = mock.forecast(truth, n_init=30, leads_h=[6, 24, 48])
    f_al, t_al = _xs_inputs(fc, truth)
    fc, truth = mock.as_backend(fc, backend), mock.as_backend(truth, backend)
    space = ["latitude", "longitude"]
    w1 = latitude_weights_wb1(truth.latitude).broadcast_like(
        t_al.isel(time=0, prediction_timedelta=0)
    )
    w2 = cell_area_weights(truth.latitude).broadcast_like(w1)
    w1_t = w1.broadcast_like(t_al.isel(prediction_timedelta=0))

    # WB1: one weighted mean over time and space -> xs.rmse over (time, lat, lon).
    ours = rmse_sqrt_after_time_mean_wb1(fc, truth)["t2m"].compute()
    ref = xs.rmse(f_al, t_al, dim=["time", *space], weights=w1_t)
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6)
    # WB2: weighted spatial MSE per init, mean over init times, sqrt.
    ours = rmse_wb2(fc, truth)["t2m"].compute()
    ref = np.sqrt(xs.mse(f_al, t_al, dim=space, weights=w2).mean("time"))
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6)
    ours = rmse_sqrt_before_time_mean(fc, truth)["t2m"].compute()
    ref = xs.rmse(f_al, t_al, dim=space, weights=w2).mean("time")
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6)
    ours = mae(fc, truth)["t2m"].compute()
    ref = xs.mae(f_al, t_al, dim=space, weights=w2).mean("time")
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6)
    ours = bias(fc, truth)["t2m"].compute()
    ref = xs.me(f_al, t_al, dim=space, weights=w2).mean("time")
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6, atol=1e-6)


def test_acc_against_numpy_formula(mock, backend):
    truth = mock.truth(n_times=40, seed=5)
    fc = mock.forecast(truth, n_init=20, leads_h=[6, 12])
    clim = truth["t2m"].mean("time") - 0.5
    ours = acc(mock.as_backend(fc, backend), mock.as_backend(truth, backend), clim.to_dataset())
    w = cell_area_weights(truth.latitude).values[:, None]
    expected = []
    for j, lead in enumerate(fc.prediction_timedelta.values):
        per_init = []
        for i, init in enumerate(fc.time.values):
            f = fc["t2m"].values[i, j] - clim.values
            o = truth["t2m"].sel(time=init + lead).values - clim.values
            per_init.append(np.mean(w * f * o) / np.sqrt(np.mean(w * f**2) * np.mean(w * o**2)))
        expected.append(np.mean(per_init))
    np.testing.assert_allclose(ours["t2m"].values, expected, rtol=1e-6)


def test_wb1_persistence_rmse_and_acc_reproduced(mock, backend):
    # WeatherBench 1 scores persistence by shifting the truth: for a lead L the forecast valid at
    # t + L is the truth at t; rmse = sqrt(mean over all of cos-weighted squared error); acc
    # centres anomalies from the truth's time mean over everything. Written out in numpy here.
    truth = mock.truth(n_times=30, seed=7)
    leads_h = [6, 12, 30]
    inits = truth.time.values[:20]
    fc = persistence_forecast(mock.as_backend(truth, backend), inits, pd.to_timedelta(leads_h, "h"))
    rmse = rmse_sqrt_after_time_mean_wb1(fc, truth)["t2m"].values
    wb1_acc = acc_pooled_wb1(fc, truth)["t2m"].values
    x = truth["t2m"].values.astype(np.float64)
    w = np.cos(np.deg2rad(truth.latitude.values))
    w = (w / w.mean())[None, :, None]
    clim = x.mean(axis=0)
    for j, lead in enumerate(leads_h):
        step = lead // 6
        f, o = x[:20], x[step : 20 + step]
        np.testing.assert_allclose(rmse[j], np.sqrt(np.mean(w * (f - o) ** 2)), rtol=1e-6)
        fa, oa = f - clim, o - clim
        fa, oa = fa - fa.mean(), oa - oa.mean()
        expected = np.sum(w * fa * oa) / np.sqrt(np.sum(w * fa**2) * np.sum(w * oa**2))
        np.testing.assert_allclose(wb1_acc[j], expected, rtol=1e-6)


def test_results_are_lazy_for_dask_inputs(mock):
    truth = mock.truth(n_times=30).chunk({"time": 1})
    fc = mock.forecast(truth.compute(), n_init=20, leads_h=[6, 12]).chunk({"time": 1})
    pair = align_forecast_truth(fc, truth)
    assert pair.truth["t2m"].chunks is not None
    assert pair.truth["t2m"].dims == ("time", "prediction_timedelta", "latitude", "longitude")
    out = rmse_wb2(fc, truth)
    assert out["t2m"].chunks is not None
    assert out["t2m"].dims == ("prediction_timedelta",)


def test_levels_are_scored_separately(mock):
    truth = mock.truth(n_times=20, levels=[500, 850, 1000])
    fc = mock.forecast(truth, n_init=10, leads_h=[6]).sel(level=[850, 500])
    out = rmse_wb2(fc, truth)
    assert out["t2m"].dims == ("prediction_timedelta", "level")
    single = rmse_wb2(fc.sel(level=[500]), truth.sel(level=[500]))
    np.testing.assert_allclose(out["t2m"].sel(level=500).values, single["t2m"].values[:, 0])


def test_partial_coverage_scores_verified_cases(mock):
    truth = mock.truth(n_times=24)
    fc = mock.forecast(truth, n_init=20, leads_h=[6, 24])
    short = truth.isel(time=slice(0, 21))  # valid times up to init 20: lead 24 h misses 3 inits
    out = rmse_wb2(fc, short)
    np.testing.assert_array_equal(out.n_verified.values, [20, 17])
    expected = rmse_wb2(fc.isel(time=slice(0, 17)), truth)["t2m"].values[1]
    np.testing.assert_allclose(out["t2m"].values[1], expected, rtol=1e-12)
    with pytest.raises(DataError, match="misses 3 of 40 valid times"):
        rmse_wb2(fc, short, require_full_coverage=True)


def test_skipna_leaves_nan_pixels_out(mock):
    truth = mock.truth(n_times=12)
    fc = mock.forecast(truth, n_init=8, leads_h=[6])
    fc["t2m"][0, 0, 0, 0] = np.nan
    assert np.isnan(mae(fc, truth)["t2m"].values).all()
    assert np.isfinite(mae(fc, truth, skipna=True)["t2m"].values).all()


def test_mismatches_raise_clear_errors(mock):
    truth = mock.truth(n_times=12)
    fc = mock.forecast(truth, n_init=6, leads_h=[6, 12])
    shifted = truth.assign_coords(latitude=truth.latitude + 1.0)
    with pytest.raises(DataError, match="grids differ: 'latitude'"):
        rmse_wb2(fc, shifted)
    with pytest.raises(DataError, match="'longitude' has 16 points in the forecast and 8"):
        rmse_wb2(fc, truth.isel(longitude=slice(0, 8)))
    celsius = truth.copy()
    celsius["t2m"].attrs["units"] = "degC"
    with pytest.raises(DataError, match="units of 't2m' differ: forecast 'K', truth 'degC'"):
        rmse_wb2(fc, celsius)
    with pytest.raises(DataError, match=r"lead times \['18 h'\] are not in the forecast"):
        rmse_wb2(fc, truth, lead_times=[np.timedelta64(18, "h")])
    later = truth.assign_coords(time=truth.time + np.timedelta64(365, "D"))
    with pytest.raises(DataError, match="none of the forecast's valid times"):
        rmse_wb2(fc, later)
    noleap = truth.assign_coords(
        time=xr.date_range(
            "2018-01-01", periods=truth.sizes["time"], freq="6h", calendar="noleap", use_cftime=True
        )
    )
    with pytest.raises(DataError, match="calendars"):
        rmse_wb2(fc, noleap)
    with pytest.raises(DataError, match="prediction_timedelta"):
        rmse_wb2(truth, truth)
