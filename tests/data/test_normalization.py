"""Normalisation statistics against numpy; NaN handling; dict/JSON round trips; caching."""

import numpy as np
import pytest

from gmgclim import testing
from gmgclim.data.normalization import NormalizationStats, compute_or_load_stats, compute_stats
from gmgclim.errors import DataError

CHANNELS = ["t850", "z500", "t2m"]


@pytest.mark.parametrize("chunks", [None, {"time": 7}])
def test_stats_match_numpy(chunks):
    ds = testing.mock_gridded_dataset(periods=40, chunks=chunks)
    stats = compute_stats(ds, CHANNELS, time_slice=("2000-01-01", "2000-01-05"), climatology=True)
    sel = ds.sel(time=slice("2000-01-01", "2000-01-05"))
    arrays = [
        sel["temperature"].sel(level=850).values,
        sel["geopotential"].sel(level=500).values,
        sel["2m_temperature"].values,
    ]
    np.testing.assert_allclose(
        stats.mean, [a.astype(np.float64).mean() for a in arrays], rtol=1e-12
    )
    np.testing.assert_allclose(stats.std, [a.astype(np.float64).std() for a in arrays], rtol=1e-6)
    np.testing.assert_allclose(stats.climatology[2], arrays[2].mean(axis=0), rtol=1e-6)
    assert stats.meta["n_times"] == 20


def test_nan_ignored():
    ds = testing.mock_radar_dataset(periods=6)
    stats = compute_stats(ds, ["precip"])
    values = ds["precipitation_rate"].values.astype(np.float64)
    assert stats.mean[0] == pytest.approx(np.nanmean(values))
    assert stats.std[0] == pytest.approx(np.nanstd(values), rel=1e-6)


def test_normalize_roundtrip_and_dicts(tmp_path):
    stats = NormalizationStats(["a", "b"], [1.0, 10.0], [2.0, 5.0])
    x = np.arange(2 * 2 * 3 * 4, dtype=np.float32).reshape(2, 2, 3, 4)
    z = stats.normalize(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 1], (x[:, 1] - 10.0) / 5.0)
    np.testing.assert_allclose(stats.denormalize(z), x, rtol=1e-6)
    d = stats.to_dict()
    assert d == {"channels": ["a", "b"], "mean": [1.0, 10.0], "std": [2.0, 5.0], "meta": {}}
    back = NormalizationStats.from_dict(d)
    np.testing.assert_array_equal(back.mean, stats.mean)
    loaded = NormalizationStats.load(stats.save(tmp_path / "n.json"))
    np.testing.assert_array_equal(loaded.std, stats.std)
    with pytest.raises(ValueError, match=r"positive"):
        NormalizationStats(["a"], [0.0], [0.0])


def test_xarray_normalize_by_channel_name():
    from gmgclim.data.channels import select_channels

    ds = testing.mock_gridded_dataset(periods=4)
    stats = compute_stats(ds, CHANNELS)
    fields = select_channels(ds, CHANNELS[::-1])  # other order: matched by name
    z = stats.normalize(fields)
    np.testing.assert_allclose(float(z.sel(channel="t2m").mean()), 0.0, atol=1e-4)


def test_cache_reused_and_invalidated(tmp_path):
    ds = testing.mock_gridded_dataset(periods=40)
    path = tmp_path / "run" / "normalization.json"
    first = compute_or_load_stats(ds, CHANNELS, ("2000-01-01", "2000-01-05"), path)
    path.write_text(path.read_text().replace(str(first.mean[0]), "123.0"))
    cached = compute_or_load_stats(ds, CHANNELS, ("2000-01-01", "2000-01-05"), path)
    assert cached.mean[0] == 123.0  # read from the cache, not recomputed
    other = compute_or_load_stats(ds, CHANNELS, ("2000-01-01", "2000-01-07"), path)
    assert other.meta["n_times"] == 28  # different period: recomputed


def test_empty_period_and_all_nan():
    ds = testing.mock_gridded_dataset(periods=4)
    with pytest.raises(DataError, match=r"no data in the statistics time range"):
        compute_stats(ds, CHANNELS, ("1990", "1991"))
    nan = ds.assign(**{"2m_temperature": ds["2m_temperature"] * np.nan})
    with pytest.raises(DataError, match=r"channels \['t2m'\] have no finite values \(all NaN"):
        compute_stats(nan, ["t2m"])


@pytest.mark.slow
def test_distributed_client():
    distributed = pytest.importorskip("dask.distributed")
    ds = testing.mock_gridded_dataset(periods=12, chunks={"time": 4})
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1) as client:
        stats = compute_stats(ds, CHANNELS, client=client)
    np.testing.assert_allclose(stats.mean, compute_stats(ds, CHANNELS).mean)
