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
