"""Scores computed in many init-time blocks equal the one-graph lazy scores (issue 12).

The lazy path (``compute=False``) is the reference: one dask graph over all init times, as before
scoring streamed. Streaming must change no number beyond float round-off, with partial truth
coverage, NaN pixels, baselines and both conventions.
"""

import numpy as np
import pytest
import xarray as xr

from gmgclim.metrics import compute_climatology, score_forecast, score_with_baselines
from gmgclim.metrics.blocks import TruthFrames, init_blocks


def _pair(mock):
    truth = mock.truth(n_times=20, n_lat=6, n_lon=8)
    fc = mock.forecast(truth, n_init=10, leads_h=[6, 12, 24])
    # NaN pixels in forecast and truth, and a truth that misses its last valid times
    fc["t2m"][3, 1, 2, 3] = np.nan
    truth["t2m"][10, 4, 5] = np.nan
    truth = truth.isel(time=slice(0, 13))
    return fc, truth


def _both(fn, **kw):
    lazy = fn(compute=False, **kw).compute()
    streamed = fn(block_bytes=1, **kw)  # one init time per block
    return lazy, streamed


@pytest.mark.parametrize("convention", ["wb2", "wb1"])
@pytest.mark.parametrize("skipna", [False, True])
def test_streamed_equals_lazy(mock, convention, skipna):
    fc, truth = _pair(mock)
    clim = compute_climatology(truth, hour_of_day=False)
    metrics = ["rmse", "rmse_wb1", "rmse_sqrt_before_time_mean", "mse", "mae", "bias", "acc"]
    metrics += ["csi", "pod", "far", "ets", "fss"]
    calls = []
    lazy, streamed = _both(
        lambda **kw: score_forecast(
            fc,
            truth,
            metrics=metrics,
            climatology=clim,
            convention=convention,
            thresholds=[280.0, 283.0],
            scales=[1, 3],
            skipna=skipna,
            **kw,
        ),
    )
    assert set(lazy.data_vars) == set(streamed.data_vars)
    for name in lazy.data_vars:
        np.testing.assert_allclose(streamed[name].values, lazy[name].values, rtol=1e-9, atol=1e-12)
    assert streamed["t2m_n_verified"].values.tolist() == [10, 10, 9]
    assert streamed.attrs == lazy.attrs
    # progress is reported after every block, ending at the number of init times
    score_forecast(fc, truth, metrics=["mae"], block_bytes=1, progress=lambda d, n: calls.append(d))
    assert calls[-1] == 10 and len(calls) == 10


def test_streamed_baselines_equal_lazy(mock):
    fc, truth = _pair(mock)
    clim = compute_climatology(truth, hour_of_day=False)
    fc_dask = mock.as_backend(fc, "dask")
    tr_dask = mock.as_backend(truth, "dask")
    lazy, streamed = _both(
        lambda **kw: score_with_baselines(
            fc_dask,
            tr_dask,
            baselines=["persistence", "climatology"],
            climatology=clim,
            metrics=["rmse", "mae", "csi", "fss"],
            thresholds=[281.0],
            **kw,
        ),
    )
    assert streamed.model.values.tolist() == ["model", "persistence", "climatology"]
    for name in lazy.data_vars:
        np.testing.assert_allclose(streamed[name].values, lazy[name].values, rtol=1e-9)


def test_truth_frames_are_read_once(mock):
    truth = mock.truth(n_times=20)
    frames = TruthFrames(truth)
    first = frames.get(np.array([0, 1, 2, 3]))
    second = frames.get(np.array([2, 3, 4]))
    assert frames.n_read == 5
    xr.testing.assert_identical(second, truth.isel(time=[2, 3, 4]))
    xr.testing.assert_identical(first, truth.isel(time=[0, 1, 2, 3]))


def test_init_blocks_cover_all_inits():
    blocks = init_blocks(10, per_init_bytes=3, block_bytes=9)
    assert [(b.start, b.stop) for b in blocks] == [(0, 3), (3, 6), (6, 9), (9, 10)]


def _fss_sums_whole_field(fc, ob, thresholds, scales):
    """Reference: fractions over the whole field with scipy (NaN pixels not valid)."""
    from scipy import ndimage

    valid = np.isfinite(fc) & np.isfinite(ob)
    out = np.zeros((len(thresholds), len(scales), 2))

    def box(a, size):
        return ndimage.uniform_filter(a.astype(float), size, mode="constant") * size**2

    for k, size in enumerate(scales):
        n = box(valid, size)
        n = np.where(n > 0.5, n, np.inf)
        for i, thr in enumerate(thresholds):
            pf = box((fc >= thr) & valid, size) / n
            po = box((ob >= thr) & valid, size) / n
            out[i, k, 0] = ((pf - po) ** 2)[valid].sum()
            out[i, k, 1] = (pf**2 + po**2)[valid].sum()
    return out


def test_fss_on_the_event_box_equals_the_whole_field():
    # sparse rain cells near an edge and NaN outside a radar circle: the box shortcut must not
    # change the sums
    from gmgclim.metrics.categorical import _fss_sums

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:60, :50]
    fc = np.where(rng.random((60, 50)) > 0.97, 6.0, 0.1)
    ob = np.roll(fc, 2, axis=1)
    outside = (yy - 30) ** 2 + (xx - 25) ** 2 > 27**2
    fc[outside], ob[outside] = np.nan, np.nan
    fc[:, :3] = 0.0
    ob[40:, :] = 0.0
    thresholds, scales = [0.5, 5.0, 50.0], [1, 3, 4, 9]
    got = _fss_sums(fc[None], ob[None], thresholds, scales)[0]
    np.testing.assert_allclose(got, _fss_sums_whole_field(fc, ob, thresholds, scales), atol=1e-9)


def test_fss_with_cached_observed_fractions_equals_the_whole_field():
    """The truth's fractions kept per frame (shared by pairs) give the same sums as masking both
    fields, with and without weights, also for a forecast missing where the truth is not."""
    from gmgclim.metrics.categorical import _fss_sums
    from gmgclim.metrics.observed_fractions import ObservedFractions

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:60, :50]
    outside = (yy - 30) ** 2 + (xx - 25) ** 2 > 27**2
    fields = []
    for _ in range(3):
        f = np.where(rng.random((60, 50)) > 0.95, rng.uniform(0.5, 9.0, (60, 50)), 0.0)
        f[outside] = np.nan
        fields.append(f)
    ob = fields[0]
    fc_ok = np.where(outside, np.nan, np.roll(ob, 3, axis=0))
    fc_ok[~outside & (xx < 5)] = 0.2  # finite wherever the truth is
    fc_gap = fc_ok.copy()
    fc_gap[30, 25] = np.nan  # missing where the truth is not
    fc_gap[10:20, :][ob[10:20, :] >= 0.5] = np.nan  # ... and where it has events
    assert np.isnan(fc_gap[10:20][ob[10:20] >= 0.5]).sum() > 3
    thresholds, scales = [0.5, 5.0, 50.0], [1, 3, 4, 9]
    weights = rng.uniform(0.5, 1.5, (60, 50))
    for w in (None, weights):
        observed = ObservedFractions()
        observed.configure(np.asarray(thresholds), np.asarray(scales), w)
        fc = np.stack([fc_ok, fc_gap, fields[1], ob])
        obs = np.stack([ob, ob, fields[2], ob])
        keys = np.array([[7, 0], [7, 0], [8, 0], [7, 0]])
        got = _fss_sums(fc, obs, thresholds, scales, w, observed=observed, keys=keys)
        want = _fss_sums(fc, obs, thresholds, scales, w)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
        # spread over threads: the same sums, with or without the cache
        threaded = _fss_sums(
            fc, obs, thresholds, scales, w, observed=observed, keys=keys, threads=3
        )
        np.testing.assert_array_equal(threaded, got)
        np.testing.assert_array_equal(_fss_sums(fc, obs, thresholds, scales, w, threads=2), want)
        assert observed.n_computed == 2  # one per truth frame, not per pair
        if w is None:
            np.testing.assert_allclose(got[0], _fss_sums_whole_field(fc_ok, ob, thresholds, scales))
        np.testing.assert_allclose(got[3, :, :, 0], 0.0, atol=1e-9)  # a perfect forecast
    observed.forget_before(8)
    assert observed.n_computed == 2 and len(observed._frames) == 1


def _radar_pair(n_init=6):
    """A y/x rain field covered only inside a disk, with a forecast that misses a few cells."""
    rng = np.random.default_rng(11)
    times = np.datetime64("2020-01-01T00:00", "ns") + np.arange(18) * np.timedelta64(5, "m")
    yy, xx = np.mgrid[:40, :36]
    covered = (yy - 22) ** 2 + (xx - 18) ** 2 <= 14**2
    rain = rng.gamma(0.6, 2.0, (times.size, 40, 36)) * (rng.random((times.size, 40, 36)) > 0.6)
    rain = np.where(covered, rain, np.nan).astype(np.float32)
    coords = {"y": np.arange(40.0), "x": np.arange(36.0)}
    attrs = {"units": "mm h-1"}
    truth = xr.Dataset({"rr": (("time", "y", "x"), rain, attrs)}, coords={"time": times, **coords})
    leads = np.arange(1, 4) * np.timedelta64(5, "m")
    fc_values = np.stack([rain[i + 1 : i + 4] for i in range(n_init)]) * 0.9
    fc_values[1, 2, 20, 18] = np.nan  # a forecast gap inside the coverage
    fc = xr.Dataset(
        {"rr": (("time", "prediction_timedelta", "y", "x"), fc_values, attrs)},
        coords={"time": times[:n_init], "prediction_timedelta": leads, **coords},
    )
    return fc, truth


def test_streamed_radar_scores_on_the_covered_box_equal_lazy():
    """Cut to the box of covered cells (and with cached observed fractions), NaN-aware scores are
    those of the whole grid."""
    fc, truth = _radar_pair()
    lazy, streamed = _both(
        lambda **kw: score_with_baselines(
            fc,
            truth,
            baselines=["persistence"],
            metrics=["rmse", "mae", "bias", "csi", "ets", "fss"],
            thresholds=[0.5, 2.0],
            scales=[1, 3, 4],
            skipna=True,
            **kw,
        ),
    )
    for name in lazy.data_vars:
        np.testing.assert_allclose(streamed[name].values, lazy[name].values, rtol=1e-9, atol=1e-12)
    assert np.isfinite(streamed["rr_categorical"].values).any()


def test_covered_box_only_grows():
    from gmgclim.metrics.blocks import CoveredBox

    _, truth = _radar_pair()
    box = CoveredBox(("y", "x"))
    first = box.update(truth.isel(time=[0]))
    assert first == {"y": slice(8, 37), "x": slice(4, 33)}
    shifted = truth.isel(time=[1]).copy(deep=True)
    shifted["rr"][:] = np.nan
    shifted["rr"][0, 0, 0] = 1.0
    assert box.update(shifted) == {"y": slice(0, 37), "x": slice(0, 33)}
    assert box.update(shifted.where(False)) == {"y": slice(0, 37), "x": slice(0, 33)}


def test_missing_forecast_cells_are_skipped_and_counted(mock):
    """A few NaN/inf forecast cells leave the other cells' scores intact (NaN-aware) and are
    counted per lead time, next to the truth's cells."""
    truth = mock.truth(n_times=20, n_lat=6, n_lon=8)
    fc = mock.forecast(truth, n_init=10, leads_h=[6, 12])
    fc["t2m"][3, 1, 2, 3] = np.nan
    fc["t2m"][4, 1, 0, 0] = np.inf
    fc["t2m"][5, 0, 1, 1] = -np.inf
    scores = score_forecast(fc, truth, metrics=["rmse", "mae"], skipna=True, block_bytes=1)
    assert np.isfinite(scores["t2m"].values).all()
    cells = scores["t2m_n_cells"]
    assert cells.sel(cells="missing").values.tolist() == [1, 2]
    n_verified = scores["t2m_n_verified"].values
    assert cells.sel(cells="truth").values.tolist() == (n_verified * 6 * 8).tolist()
    # the skipped cells are left out, not filled: equal to scoring without them by hand
    clean = fc.copy(deep=True)
    clean["t2m"][3, 1, 2, 3] = clean["t2m"][4, 1, 0, 0] = clean["t2m"][5, 0, 1, 1] = np.nan
    again = score_forecast(clean, truth, metrics=["rmse", "mae"], skipna=True)
    np.testing.assert_allclose(scores["t2m"].values, again["t2m"].values, rtol=1e-12)
