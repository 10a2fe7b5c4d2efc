"""Sample windows with context channels, target transforms and random crops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.data.context import ContextFields, grid_latlon
from gmgclim.data.normalization import NormalizationStats
from gmgclim.data.torch_dataset import WindowDataset
from gmgclim.data.windows import build_windows
from gmgclim.errors import DataError


def _dataset(n_time: int = 12, height: int = 8, width: int = 10) -> xr.Dataset:
    times = pd.date_range("2019-03-01", periods=n_time, freq="6h").values
    values = np.arange(n_time * height * width, dtype=np.float32).reshape(n_time, height, width)
    return xr.Dataset(
        {"2m_temperature": (("time", "latitude", "longitude"), values)},
        coords={
            "time": times,
            "latitude": np.linspace(50.0, 57.0, height),
            "longitude": np.linspace(350.0, 359.0, width),
        },
    )


def _window_set(ds: xr.Dataset, **kwargs) -> WindowDataset:
    windows = build_windows(ds["time"].values, 2, 3, "6h")
    stats = NormalizationStats(["t2m"], mean=[0.0], std=[1.0])
    return WindowDataset(ds, ["t2m"], windows, stats, **kwargs)


def test_context_follows_the_window_times_and_grid():
    ds = _dataset()
    lat, lon = grid_latlon(ds)
    context = ContextFields(["utc_hour_cos", "toa_insolation"], ["sin_latitude"], lat, lon)
    sample = _window_set(ds, context=context)[1]
    assert sample["context"].shape == (5, 3, 8, 10)
    # window 1 starts at 06 UTC: frames at 06, 12, 18, 00, 06 -> cos(hour / 24 * 2 pi)
    np.testing.assert_allclose(sample["context"][:, 0, 0, 0].numpy(), [0, -1, 0, 1, 0], atol=1e-6)
    # the static channel is the same in every frame: sin(50 deg) in the first row
    np.testing.assert_allclose(sample["context"][:, 2, 0, 0].numpy(), np.sin(np.deg2rad(50.0)))
    assert float(sample["context"][3, 1].max()) == 0.0  # midnight over the UK: no sun


def test_random_crops_are_fresh_each_epoch_reproducible_and_consistent():
    ds = _dataset()
    lat, lon = grid_latlon(ds)
    context = ContextFields([], ["sin_latitude"], lat, lon)
    data = _window_set(ds, crop=(4, 6), seed=3, context=context)
    first = [data.crop_window(i) for i in range(len(data))]
    again = [_window_set(ds, crop=(4, 6), seed=3).crop_window(i) for i in range(len(data))]
    assert first == again
    data.set_epoch(1)
    assert [data.crop_window(i) for i in range(len(data))] != first
    sample = data[0]
    rows, cols = data.crop_window(0)
    assert sample["inputs"].shape == (2, 1, 4, 6)
    full = ds["2m_temperature"].values
    np.testing.assert_array_equal(sample["inputs"][0, 0].numpy(), full[0, rows, cols])
    np.testing.assert_allclose(
        sample["context"][0, 0].numpy(), np.sin(np.deg2rad(lat[rows, cols])), rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"data.crop \[9, 6\] does not fit the 8 x 10 grid"):
        _window_set(ds, crop=(9, 6))


def test_transform_is_applied_before_normalisation():
    ds = _dataset()
    sample = _window_set(ds, transform="log")[0]
    expected = np.log(ds["2m_temperature"].values[0] + 0.1) - np.log(0.1)
    np.testing.assert_allclose(sample["inputs"][0, 0].numpy(), expected, rtol=1e-5)


def test_projected_grid_without_latlon_is_refused():
    ds = xr.Dataset({"v": (("y", "x"), np.zeros((2, 2)))})
    with pytest.raises(DataError, match="latitude/longitude"):
        grid_latlon(ds)


def test_extrapolation_baseline_moves_a_rain_blob_with_its_motion():
    """A blob moving 2 cells east per frame: the baseline carries it on (pysteps LK + advection)."""
    times = pd.date_range("2010-08-26", periods=10, freq="5min").values
    frames = np.zeros((10, 48, 48), np.float32)
    for k in range(10):
        frames[k, 16:28, 6 + 2 * k : 18 + 2 * k] = 5.0
    ds = xr.Dataset(
        {"precipitation_rate": (("time", "y", "x"), frames)},
        coords={"time": times, "y": np.arange(48.0), "x": np.arange(48.0)},
    )
    windows = build_windows(ds["time"].values, 3, 2, "5min")
    stats = NormalizationStats(["precip"], mean=[0.0], std=[1.0])
    data = WindowDataset(ds, ["precip"], windows, stats, baseline="extrapolation")
    sample = data[0]  # inputs: frames 0..2, targets 3..4
    base = sample["baseline"].numpy()[:, 0]
    assert base.shape == (2, 48, 48)
    target = sample["targets"].numpy()[:, 0]
    persistence_error = np.abs(sample["inputs"].numpy()[-1, 0] - target[1]).mean()
    assert np.abs(base[1] - target[1]).mean() < 0.5 * persistence_error


def test_dihedral_gives_the_eight_symmetries_of_the_square():
    import torch

    from gmgclim.data.torch_dataset import dihedral

    x = torch.tensor([[1, 2], [3, 4]])
    images = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(images) == 8  # all distinct: 4 turns x (flipped or not)
    assert dihedral(x, 1).tolist() == [[2, 4], [1, 3]]  # a quarter turn counter-clockwise
    assert dihedral(x, 4).tolist() == [[3, 4], [1, 2]]  # rows flipped
    assert dihedral(torch.zeros(2, 3, 5), 6).shape == (2, 3, 5)  # even k keep the shape


def test_dihedral_augmentation_turns_every_field_of_a_sample_alike():
    ds = _dataset(height=6, width=6)
    lat, lon = grid_latlon(ds)
    context = ContextFields([], ["sin_latitude"], lat, lon)
    plain = _window_set(ds, context=context, return_mask=True)
    turned = _window_set(ds, context=context, return_mask=True, augment="dihedral", seed=5)
    from gmgclim.data.torch_dataset import dihedral

    ks = [turned.symmetry(i) for i in range(len(turned))]
    assert ks == [_window_set(ds, augment="dihedral", seed=5).symmetry(i) for i in range(len(ks))]
    assert len(set(ks)) > 1  # different samples, different symmetries
    for i, k in enumerate(ks):
        a, b = plain[i], turned[i]
        for key in ("inputs", "targets", "mask", "input_mask", "context"):
            assert b[key].equal(dihedral(a[key], k)), key
    turned.set_epoch(1)
    assert [turned.symmetry(i) for i in range(len(ks))] != ks  # fresh each epoch
    # a non-square sample keeps its shape: half turns and flips only
    wide = _window_set(_dataset(), augment="dihedral", seed=1)
    assert all(wide[i]["inputs"].shape == (2, 1, 8, 10) for i in range(len(wide)))
    with pytest.raises(ValueError, match="augment must be one of"):
        _window_set(ds, augment="mirror")


def test_augmentation_refuses_latitude_weighted_losses():
    from gmgclim.config.schema import Recipe

    recipe = {
        "data": {"entry": "x", "channels": ["t2m"], "step": "6h", "input_steps": 2,
                 "output_steps": 2, "augment": "dihedral",
                 "splits": {"train": {"start": "2019-01-01", "end": "2019-01-02"},
                            "valid": {"start": "2019-01-03", "end": "2019-01-04"}}},
        "model": {"name": "gmg"},
        "training": {"max_steps": 1, "batch_size": 1, "lr": 1e-3,
                     "loss": {"latitude_weighted": True}},
        "output": {"dir": "runs/x"},
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"data.augment: dihedral [^\n]*latitude_weighted"):
        Recipe.model_validate(recipe)
