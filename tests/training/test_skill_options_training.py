"""Skill options end to end: forcings, statics, residual, crops and a rain transform train and forecast."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr
from conftest import tiny_recipe, write_recipe

from gmgclim.config import load_recipe
from gmgclim.data.task import Task
from gmgclim.inference import Forecaster, forecast, load_forecaster
from gmgclim.testing import mock_gridded_dataset
from gmgclim.training import load_checkpoint, train


def test_crop_trained_model_with_forcings_and_statics_forecasts_the_whole_grid(tmp_path):
    recipe = tiny_recipe(tmp_path / "skill", max_steps=3)
    recipe["data"]["grid"] = {"crop": {"latitude": [8, 24], "longitude": [16, 32]}}  # 16 x 16
    recipe["data"].update(
        forcings=["toa_insolation", "local_hour_sin", "local_hour_cos"],
        statics=["land_sea_mask", "sin_latitude"],
        residual="persistence",
        crop=[8, 8],
    )
    run_dir = train(load_recipe(write_recipe(tmp_path / "skill.yaml", recipe)), progress=False)
    ckpt = load_checkpoint(run_dir)
    # the model reads 5 context channels and predicts the change from the frame it is fed
    assert ckpt.model_config["context_channels"] == 5
    assert ckpt.model_config["residual"] is True
    assert (ckpt.model_config["height"], ckpt.model_config["width"]) == (8, 8)  # the crops
    task = Task.from_dict(ckpt.task)
    assert task.crop == (8, 8) and task.shape == (16, 16)
    fc = forecast(run_dir, split="test")
    assert fc["2m_temperature"].shape[-2:] == (16, 16)  # the whole grid, not a crop
    assert np.isfinite(fc["2m_temperature"].values).all()
    assert json.loads(fc.attrs["forecast_task"])["forcings"][0] == "toa_insolation"


class _Negative(torch.nn.Module):
    """(B, T_in, C, H, W) -> (B, 2, C, H, W) filled with -3 (normalised units)."""

    def forward(self, inputs, targets=None, teacher_forcing_mask=None, context=None):
        return torch.full_like(inputs[:, -1:].expand(-1, 2, -1, -1, -1), -3.0)


@pytest.mark.parametrize("transform", ["none", "log", "dbr"])
def test_rain_forecasts_are_never_negative(transform):
    ds = mock_gridded_dataset(periods=12, n_lat=4, n_lon=8)
    ds = xr.Dataset({"precipitation_rate": ds["2m_temperature"] * 0 + 1.0}, coords=ds.coords)
    task = Task(entry="m", channels=("precip",), step="6h", input_steps=2, output_steps=2,
                transform=transform)  # fmt: skip
    f = Forecaster(_Negative(), mean=[0.5], std=[1.0], task=task)
    out = forecast(f, ds)["precipitation_rate"].values
    assert out.min() >= 0.0
    if transform == "none":
        assert out.max() == 0.0  # -3 * 1 + 0.5 clipped


def test_forecaster_refuses_a_missing_context():
    task = Task(entry="m", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
                forcings=("toa_insolation",))  # fmt: skip
    f = Forecaster(_Negative(), mean=[0.0], std=[1.0], task=task)
    with pytest.raises(ValueError, match="toa_insolation"):
        f.predict(np.zeros((1, 2, 1, 4, 4), np.float32))


def test_checkpoint_round_trip_keeps_the_options(tmp_path):
    recipe = tiny_recipe(tmp_path / "log", max_steps=2)
    recipe["data"].update(transform="log", statics=["cos_latitude"])
    run_dir = train(load_recipe(write_recipe(tmp_path / "log.yaml", recipe)), progress=False)
    f = load_forecaster(run_dir)
    assert f.task.transform == "log" and f.task.statics == ("cos_latitude",)


def test_event_weights_need_a_precipitation_channel(tmp_path):
    from gmgclim.errors import RecipeError

    recipe = tiny_recipe(tmp_path / "bmse", max_steps=3)
    recipe["training"]["loss"] = {"event_weights": {"thresholds": [1.0], "weights": [2.0]}}
    with pytest.raises(RecipeError, match=r"event_weights .* none of data.channels \['t2m'\]"):
        train(load_recipe(write_recipe(tmp_path / "bmse.yaml", recipe)), progress=False)


def test_amplitude_term_trains_and_changes_the_loss(tmp_path):
    import csv

    def first_loss(weight: float) -> float:
        recipe = tiny_recipe(tmp_path / f"amp{weight}", max_steps=3)
        recipe["training"]["loss"]["amplitude_weight"] = weight
        recipe["training"]["log_every"] = 1
        run_dir = train(
            load_recipe(write_recipe(tmp_path / f"amp{weight}.yaml", recipe)), progress=False
        )
        with open(run_dir / "metrics.csv") as f:
            rows = [r for r in csv.reader(f) if r[2:4] == ["train", "loss"]]
        return float(rows[0][4])

    plain, with_amplitude = first_loss(0.0), first_loss(5.0)
    assert np.isfinite(with_amplitude)
    assert with_amplitude > plain  # same seed and first batch: the amplitude term adds to the MSE
