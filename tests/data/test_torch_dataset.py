"""WindowDataset: values, normalisation, NaN masks, DataLoader workers, DistributedSampler."""

import numpy as np
import pytest
import torch

from gmgclim import testing
from gmgclim.data import gridded, weatherbench
from gmgclim.data.catalog import open_entry
from gmgclim.data.channels import select_channels
from gmgclim.data.normalization import NormalizationStats, compute_stats
from gmgclim.data.torch_dataset import WindowDataset
from gmgclim.data.windows import build_windows
from gmgclim.errors import DataError

CHANNELS = ["t850", "z500", "t2m"]


@pytest.mark.parametrize("chunks", [None, {"time": 5}])
def test_items_match_manual_normalisation(chunks):
    ds = testing.mock_gridded_dataset(periods=30, chunks=chunks)
    stats = compute_stats(ds, CHANNELS)
    windows = build_windows(ds["time"].values, 3, 2, "6h")
    data = WindowDataset(ds, CHANNELS, windows, stats)
    assert len(data) == 30 - 2 - 2 and data.spatial_shape == (8, 16)
    item = data[5]
    assert item["inputs"].shape == (3, 3, 8, 16) and item["targets"].shape == (2, 3, 8, 16)
    assert item["inputs"].dtype == torch.float32
    raw = select_channels(ds, CHANNELS).values
    expected = (raw[5:10] - stats.mean[None, :, None, None]) / stats.std[None, :, None, None]
    np.testing.assert_allclose(item["inputs"].numpy(), expected[:3], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(item["targets"].numpy(), expected[3:], rtol=1e-5, atol=1e-5)
    assert int(item["init_time"]) == ds["time"].values[7].astype("datetime64[ns]").astype(np.int64)
    with pytest.raises(IndexError):
        data[len(data)]


def test_subsampled_step_reads_strided_frames():
    ds = testing.mock_gridded_dataset(periods=40, freq="1h", variables=["2m_temperature"])
    stats = NormalizationStats(["t2m"], [0.0], [1.0])
    data = WindowDataset(ds, ["t2m"], build_windows(ds["time"].values, 2, 2, "6h"), stats)
    item = data[0]
    hours = np.array([0, 6, 12, 18])
    expected = testing.field_value(280.0, hours, 0, 0)
    got = np.concatenate([item["inputs"][:, 0, 0, 0], item["targets"][:, 0, 0, 0]])
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_radar_mask_and_fill():
    ds = testing.mock_radar_dataset(periods=8)
    stats = compute_stats(ds, ["precip"])
    data = WindowDataset(
        ds, ["precip"], build_windows(ds["time"].values, 4, 4, "5min"), stats, return_mask=True
    )
    item = data[0]
    mask = item["mask"]
    assert mask.dtype == torch.bool and mask.shape == (4, 1, 24, 20)
    assert not mask[:, :, :6, :5].any() and mask[:, :, 6:, :].all()
    assert torch.all(item["targets"][~mask] == 0.0) and torch.isfinite(item["inputs"]).all()


def test_real_knmi_windows_have_rain_and_mask():
    ds = open_entry("knmi-radar", time=("2010-08-26T03:00", "2010-08-26T04:00"))
    stats = compute_stats(ds, ["precip"])
    windows = build_windows(ds["time"].values, 4, 4, "5min")
    data = WindowDataset(ds, ["precip"], windows, stats, return_mask=True)
    item = data[len(data) // 2]
    valid_fraction = item["mask"].float().mean().item()
    assert valid_fraction == pytest.approx(1 - 0.744, abs=0.002)
    rain = item["targets"][item["mask"]] * stats.std[0] + stats.mean[0]
    assert (rain > 0.1).any()


def test_dataloader_workers_and_distributed_sampler(wb1_root):
    ds = weatherbench.open_weatherbench1(wb1_root, channels=CHANNELS, years=[2000])
    stats = NormalizationStats(CHANNELS, [250.0, 50000.0, 280.0], [1.0, 1.0, 1.0])
    windows = build_windows(ds["time"].values, 2, 2, "6h").subset(np.arange(40))
    data = WindowDataset(ds, CHANNELS, windows, stats)
    loader = torch.utils.data.DataLoader(data, batch_size=8, num_workers=2, shuffle=False)
    batches = list(loader)
    assert len(batches) == 5 and batches[0]["inputs"].shape == (8, 2, 3, 8, 16)
    np.testing.assert_allclose(batches[1]["inputs"][0].numpy(), data[8]["inputs"].numpy())
    # two ranks see disjoint halves that together cover every window
    seen = []
    for rank in range(2):
        sampler = torch.utils.data.distributed.DistributedSampler(
            data, num_replicas=2, rank=rank, shuffle=True, seed=1
        )
        seen.append(list(sampler))
    assert not set(seen[0]) & set(seen[1]) and set(seen[0]) | set(seen[1]) == set(range(40))


def test_zarr_fast_path_equals_dask(wb1_root, tmp_path):
    ds = weatherbench.open_weatherbench1(wb1_root, channels=CHANNELS, years=[2000])
    store = gridded.prepare_zarr(ds, tmp_path / "p.zarr", time_chunk=16)
    fast = gridded.open_zarr(str(store), dask=False)
    stats = NormalizationStats(CHANNELS, [250.0, 50000.0, 280.0], [2.0, 3.0, 4.0])
    windows = build_windows(ds["time"].values, 4, 4, "6h")
    a, b = (
        WindowDataset(ds, CHANNELS, windows, stats),
        WindowDataset(fast, CHANNELS, windows, stats),
    )
    assert a._dask and not b._dask
    for i in (0, 77, len(windows) - 1):
        torch.testing.assert_close(a[i]["inputs"], b[i]["inputs"])
        torch.testing.assert_close(a[i]["targets"], b[i]["targets"])


def test_mismatches_raise():
    ds = testing.mock_gridded_dataset(periods=10)
    windows = build_windows(ds["time"].values, 2, 2, "6h")
    stats = NormalizationStats(["t850"], [0.0], [1.0])
    with pytest.raises(ValueError, match=r"normalisation channels"):
        WindowDataset(ds, ["z500"], windows, stats)
    other = build_windows(ds["time"].values[:5], 2, 2, "6h")
    with pytest.raises(ValueError, match=r"different time axis"):
        WindowDataset(ds, ["t850"], other, stats)
    with pytest.raises(DataError, match=r"no level 300 hPa"):
        select_channels(ds, ["t300"])
