import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import ndimage

from gmgclim.metrics import contingency_table, csi, ets, far, fss, pod
from gmgclim.metrics.categorical import window_sum

H5 = np.timedelta64(5, "m")


def _radar_pair(fc_fields: np.ndarray, ob_fields: np.ndarray):
    """Forecast (n_init, 1 lead of 5 min, y, x) and truth on valid times, mm/h on a y/x grid."""
    n_init, ny, nx = fc_fields.shape
    times = pd.date_range("2021-06-01", periods=n_init + 1, freq="5min")
    coords = {"y": np.arange(ny) * 1000.0, "x": np.arange(nx) * 1000.0}
    truth = np.concatenate([np.zeros((1, ny, nx)), ob_fields])  # valid time = init + 5 min
    truth = xr.DataArray(
        truth,
        dims=("time", "y", "x"),
        coords={"time": times, **coords},
        name="precip",
        attrs={"units": "mm h-1"},
    )
    fc = xr.DataArray(
        fc_fields[:, None],
        dims=("time", "prediction_timedelta", "y", "x"),
        coords={"time": times[:n_init], "prediction_timedelta": [H5], **coords},
        name="precip",
        attrs={"units": "mm h-1"},
    )
    return fc, truth


def test_contingency_scores_hand_values():
    # 3x3 grid, threshold 1 mm/h. Forecast events at 4 pixels, observed at 3, 2 in common:
    # H = 2, M = 1, F = 2, C = 4, N = 9. pod 2/3, far 2/4, csi 2/5,
    # random hits (H+M)(H+F)/N = 3*4/9 = 4/3, ets = (2 - 4/3) / (5 - 4/3) = 2/11.
    fc = np.array([[[2.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]]])
    ob = np.array([[[1.0, 3.0, 1.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    table = contingency_table(*_radar_pair(fc, ob), thresholds=[1.0])
    assert table.hits.values.tolist() == [[2]]
    assert table.correct_negatives.values.tolist() == [[4]]
    np.testing.assert_allclose(pod(table).values, [[2 / 3]])
    np.testing.assert_allclose(far(table).values, [[0.5]])
    np.testing.assert_allclose(csi(table).values, [[0.4]])
    np.testing.assert_allclose(ets(table).values, [[2 / 11]])
    assert csi(table).dims == ("threshold", "prediction_timedelta")


def test_nan_pixels_are_excluded_from_counts():
    # Same fields, with the observed value at a hit pixel missing: H 2 -> 1 and N 9 -> 8.
    fc = np.array([[[2.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]]])
    ob = np.array([[[np.nan, 3.0, 1.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    table = contingency_table(*_radar_pair(fc, ob), thresholds=[1.0, 10.0])
    total = sum(table[k] for k in ("hits", "misses", "false_alarms", "correct_negatives"))
    assert total.values.ravel().tolist() == [8, 8]
    assert table.hits.sel(threshold=1.0).values.tolist() == [1]
    # No event at 10 mm/h in either field: scores are undefined, not zero.
    assert np.isnan(csi(table).sel(threshold=10.0).values).all()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_window_sum_matches_scipy_uniform_filter(size):
    rng = np.random.default_rng(size)
    a = rng.random((2, 9, 11))
    expected = ndimage.uniform_filter(a, size=(1, size, size), mode="constant") * size**2
    np.testing.assert_allclose(window_sum(a, size), expected, atol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 8, 9, 15, 16])
def test_window_sum_of_masks_counts_events_exactly(size):
    """Masks (the uint8 shifted-add path up to 15 px, uniform_filter beyond) against a loop."""
    rng = np.random.default_rng(size)
    mask = rng.random((2, 13, 10)) < 0.5
    expected = np.zeros(mask.shape)
    before = size // 2
    for i in range(13):
        for j in range(10):
            rows = slice(max(i - before, 0), max(i - before + size, 0))
            cols = slice(max(j - before, 0), max(j - before + size, 0))
            expected[:, i, j] = mask[:, rows, cols].sum(axis=(1, 2))
    got = window_sum(mask, size)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    assert window_sum(np.ones((3, 3), bool), 15).tolist() == [[9.0] * 3] * 3  # window > grid


def test_fss_identical_disjoint_and_hand_case():
    rng = np.random.default_rng(0)
    field = rng.gamma(0.5, 2.0, (2, 6, 6))
    fc, truth = _radar_pair(field, field)
    np.testing.assert_allclose(fss(fc, truth, [0.5, 2.0], [1, 3]).values, 1.0)

    # Forecast event top-left, observed bottom-right: at scale 1 the fractions never overlap.
    a = np.zeros((1, 5, 5))
    b = np.zeros((1, 5, 5))
    a[0, 0, 0] = b[0, 4, 4] = 1.0
    np.testing.assert_allclose(fss(*_radar_pair(a, b), [0.5], [1]).values, 0.0)

    # 2x2 grid, forecast event at (0,0), observed at (0,1), window 2 covering rows/cols i-1..i.
    # Fractions of the in-grid pixels: (0,0): Pf 1, Po 0; (0,1): 1/2, 1/2; (1,0): 1/2, 0;
    # (1,1): 1/4, 1/4. sum (Pf-Po)^2 = 1 + 0 + 1/4 + 0 = 5/4;
    # sum Pf^2 + Po^2 = 1 + 1/2 + 1/4 + 1/8 = 15/8 -> FSS = 1 - (5/4) / (15/8) = 1/3.
    a = np.array([[[1.0, 0.0], [0.0, 0.0]]])
    b = np.array([[[0.0, 1.0], [0.0, 0.0]]])
    out = fss(*_radar_pair(a, b), [0.5], [1, 2])
    np.testing.assert_allclose(out.sel(scale=2).values, [[1 / 3]])
    np.testing.assert_allclose(out.sel(scale=1).values, [[0.0]])
    assert out.dims == ("threshold", "scale", "prediction_timedelta")


def test_fss_ignores_nan_pixels():
    # A NaN (no coverage) pixel neither counts as "no event" nor enters the sums: a forecast
    # identical to the truth on the covered pixels scores 1 even when the uncovered forecast
    # pixel says rain.
    field = np.array([[[3.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 1.0, 0.0]]])
    ob = field.copy()
    ob[0, 0, 2] = np.nan
    fc = field.copy()
    fc[0, 0, 2] = 9.0
    np.testing.assert_allclose(fss(*_radar_pair(fc, ob), [0.5], [1, 3]).values, 1.0)


def test_categorical_numpy_and_dask_agree():
    rng = np.random.default_rng(4)
    fc, truth = _radar_pair(rng.gamma(0.4, 2.0, (6, 12, 10)), rng.gamma(0.4, 2.0, (6, 12, 10)))
    truth[:, 0, :3] = np.nan
    eager = fss(fc, truth, [0.1, 1.0], [1, 5])
    lazy = fss(fc.chunk({"time": 1}), truth.chunk({"time": 2}), [0.1, 1.0], [1, 5])
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, eager.values)
    t_eager = contingency_table(fc, truth, [0.1, 1.0])
    t_lazy = contingency_table(fc.chunk({"time": 1}), truth.chunk({"time": 1}), [0.1, 1.0])
    xr.testing.assert_equal(t_eager.compute(), t_lazy.compute())


def _latlon_pair(fc_rows, ob_rows, lat=(0.0, 60.0)):
    """One init, one 6 h lead, a single longitude column: rows are the latitude values."""
    times = pd.date_range("2021-06-01", periods=2, freq="6h")
    coords = {"latitude": list(lat), "longitude": [0.0]}
    truth = xr.DataArray(
        np.array([np.zeros(len(lat)), ob_rows])[:, :, None],
        dims=("time", "latitude", "longitude"),
        coords={"time": times, **coords},
        name="precip",
    )
    fc = xr.DataArray(
        np.array(fc_rows, dtype=float)[None, None, :, None],
        dims=("time", "prediction_timedelta", "latitude", "longitude"),
        coords={"time": times[:1], "prediction_timedelta": [np.timedelta64(6, "h")], **coords},
        name="precip",
    )
    return fc, truth


def test_area_weighted_contingency_and_fss_hand_values():
    # Rows at 0 and 60 N with WB1 weights 4/3 and 2/3 (cos 0 = 1, cos 60 = 1/2, mean 3/4).
    # Forecast event on row 0 only, observed on both rows: H = w0 = 4/3, M = w1 = 2/3, F = C = 0,
    # so csi = (4/3) / 2 = 2/3 (unweighted: 1/2). FSS at scale 1: sum w (Pf - Po)^2 = 2/3 and
    # sum w (Pf^2 + Po^2) = 2 * 4/3 + 2/3 = 10/3 -> 1 - (2/3) / (10/3) = 0.8 (unweighted 1 - 1/3).
    fc, truth = _latlon_pair([1.0, 0.0], [1.0, 1.0])
    table = contingency_table(fc, truth, [0.5], weights="wb1")
    np.testing.assert_allclose(table.hits.values, [[4 / 3]])
    np.testing.assert_allclose(table.misses.values, [[2 / 3]])
    np.testing.assert_allclose(csi(table).values, [[2 / 3]])
    np.testing.assert_allclose(csi(contingency_table(fc, truth, [0.5])).values, [[0.5]])
    assert contingency_table(fc, truth, [0.5]).hits.dtype == np.int64  # default unchanged
    np.testing.assert_allclose(fss(fc, truth, [0.5], [1], weights="wb1").values, [[[0.8]]])
    np.testing.assert_allclose(fss(fc, truth, [0.5], [1]).values, [[[2 / 3]]])


def test_radar_scores_ignore_area_weights():
    rng = np.random.default_rng(7)
    fc, truth = _radar_pair(rng.gamma(0.4, 2.0, (3, 8, 9)), rng.gamma(0.4, 2.0, (3, 8, 9)))
    xr.testing.assert_equal(
        contingency_table(fc, truth, [1.0]).drop_attrs(),
        contingency_table(fc, truth, [1.0], weights="wb2").drop_attrs(),
    )
    np.testing.assert_array_equal(
        fss(fc, truth, [1.0], [1, 3]).values, fss(fc, truth, [1.0], [1, 3], weights="wb2").values
    )
