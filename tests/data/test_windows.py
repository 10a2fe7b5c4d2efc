"""Window index arithmetic: counts, gaps, strides, ranges, splits."""

import numpy as np
import pandas as pd
import pytest

from gmgclim.data.windows import (
    WEATHERBENCH_SPLITS,
    Split,
    build_windows,
    split_times,
    weatherbench_splits,
)


def _brute_force(times, t_in, t_out, step):
    """Reference: for each data time, are all window times present?"""
    present = set(times.tolist())
    inputs, targets, skipped = [], [], 0
    pos = {t: i for i, t in enumerate(times.tolist())}
    lo, hi = times[0], times[-1]
    for t0 in times:
        needed = [t0 + k * step for k in range(-(t_in - 1), t_out + 1)]
        if needed[0] < lo or needed[-1] > hi:
            continue
        if all(t in present for t in needed):
            inputs.append([pos[t] for t in needed[:t_in]])
            targets.append([pos[t] for t in needed[t_in:]])
        else:
            skipped += 1
    return np.array(inputs), np.array(targets), skipped


def test_no_gaps_count():
    times = pd.date_range("2000-01-01", periods=100, freq="h").values
    w = build_windows(times, 12, 12, "1h")
    assert len(w) == 100 - 11 - 12 and w.n_skipped == 0
    assert w.input_index[0].tolist() == list(range(12))
    assert w.target_index[0].tolist() == list(range(12, 24))
    assert w.init_times[0] == times[11]


@pytest.mark.parametrize(("t_in", "t_out", "step_h"), [(3, 2, 1), (2, 4, 3), (1, 1, 6), (4, 0, 2)])
def test_gaps_match_brute_force(t_in, t_out, step_h):
    rng = np.random.default_rng(0)
    times = pd.date_range("2000-01-01", periods=400, freq="h").values
    times = np.delete(times, rng.choice(400, size=15, replace=False))
    step = np.timedelta64(step_h, "h")
    w = build_windows(times, t_in, t_out, step)
    ref_in, ref_out, ref_skipped = _brute_force(times, t_in, t_out, step)
    np.testing.assert_array_equal(w.input_index, ref_in)
    np.testing.assert_array_equal(w.target_index, ref_out.reshape(len(ref_in), t_out))
    assert w.n_skipped == ref_skipped > 0
    # every window is evenly spaced in time
    allpos = np.concatenate([w.input_index, w.target_index], axis=1)
    assert np.all(np.diff(times[allpos], axis=1) == step)


def test_single_gap_counts():
    times = np.delete(pd.date_range("2000-01-01", periods=50, freq="h").values, 20)
    w = build_windows(times, 2, 3, "1h")
    # windows of 5 consecutive hours; the 5 windows containing hour 20 would need it, but
    # hour 20 itself is no init candidate: 4 skipped
    assert w.n_skipped == 4
    assert len(w) == (50 - 1) - 1 - 3 - 4


def test_start_end_keep_whole_window_inside():
    times = pd.date_range("2000-01-01", "2000-01-10 23:00", freq="h").values
    w = build_windows(times, 2, 2, "1h", start="2000-01-02", end="2000-01-03")
    all_times = times[np.concatenate([w.input_index, w.target_index], axis=1)]
    assert all_times.min() >= np.datetime64("2000-01-02") and all_times.max() <= np.datetime64(
        "2000-01-03T23:00"
    )
    assert len(w) == 48 - 1 - 2


def test_stride_and_subset():
    times = pd.date_range("2000-01-01", periods=48, freq="h").values
    w = build_windows(times, 1, 1, "1h", stride=6)
    assert len(w) == 8 and np.all(np.diff(w.init_times) == np.timedelta64(6, "h"))
    assert len(w.subset(np.arange(3))) == 3


def test_errors():
    times = pd.date_range("2000-01-01", periods=5, freq="h").values
    with pytest.raises(ValueError, match=r"strictly increasing"):
        build_windows(times[[0, 2, 1]], 1, 1, "1h")
    with pytest.raises(ValueError, match=r"step must be positive"):
        build_windows(times, 1, 1, "0h")
    assert len(build_windows(times, 3, 3, "1h")) == 0


def test_forty_years_hourly_indexes():
    # 350 640 hourly times; timing lives in benchmarks/bench_data.py
    times = pd.date_range("1979-01-01", "2018-12-31 23:00", freq="h").values
    w = build_windows(times, 12, 12, "1h")
    assert len(w) == times.size - 23 and w.input_index.shape == (len(w), 12)


def test_splits():
    splits = weatherbench_splits()
    assert splits == WEATHERBENCH_SPLITS and set(splits) == {"train", "valid", "test"}
    times = pd.date_range("2015-12-31", "2017-01-01 23:00", freq="6h").values
    train = split_times(times, splits["train"])
    valid = split_times(times, splits["valid"])
    test = split_times(times, splits["test"])
    assert train.sum() == 4 and valid.sum() == 366 * 4 and test.sum() == 4
    assert not np.any(train & valid)
    _, hi = Split("2016-02", "2016-02").bounds()
    assert str(hi).startswith("2016-02-29T23:59:59")
