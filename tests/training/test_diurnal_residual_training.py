"""``data.residual: diurnal`` end to end: the train split's mean day travels in the checkpoint."""

from __future__ import annotations

import numpy as np
import torch
from conftest import tiny_recipe, write_recipe

from gmgclim.config import load_recipe
from gmgclim.data.normalization import compute_stats
from gmgclim.data.task import Task, open_task_data
from gmgclim.inference import forecast, load_forecaster
from gmgclim.models.checkpoint import find_checkpoint
from gmgclim.training import train


def test_diurnal_mean_round_trips_through_the_checkpoint(tmp_path):
    recipe = tiny_recipe(tmp_path / "diurnal", max_steps=2)
    recipe["data"]["residual"] = "diurnal"
    run_dir = train(load_recipe(write_recipe(tmp_path / "diurnal.yaml", recipe)), progress=False)
    # a plain torch checkpoint: weights_only loading reads the diurnal mean as lists
    raw = torch.load(find_checkpoint(run_dir, "latest"), weights_only=True)
    assert np.asarray(raw["normalization"]["diurnal"]).shape == (24, 1, 8, 8)
    forecaster = load_forecaster(run_dir)
    task = Task.from_dict(raw["task"])
    assert task.residual == "diurnal"
    # the train split's hour means on the task's grid (hourly data: every hour is known)
    expected = compute_stats(
        open_task_data(task), ["t2m"], slice(*task.split_bounds("train")), diurnal=True
    ).diurnal
    np.testing.assert_allclose(forecaster.diurnal, expected, rtol=1e-12)
    assert np.isfinite(forecaster.diurnal).all()
    fc = forecast(run_dir, split="test")
    assert np.isfinite(fc["2m_temperature"].values).all()
