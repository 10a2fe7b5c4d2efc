"""The Forecaster holds a typed Task: built from arguments, a partial dict or a Task itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gmgclim.data.task import Task
from gmgclim.distributed import join_process_group, rank_and_world_size
from gmgclim.inference import Forecaster, forecast
from gmgclim.testing import mock_gridded_dataset


class Persistence(torch.nn.Module):
    """(B, T_in, C, H, W) -> (B, 2, C, H, W): the last frame, twice."""

    def forward(self, inputs, targets=None, teacher_forcing_mask=None):
        return inputs[:, -1:].expand(-1, 2, -1, -1, -1)


def test_arguments_and_partial_task_build_a_typed_task():
    recipe = {"data": {"entry": "mock", "fill_nan": -1.0, "stats": "ignored.json"}}
    f = Forecaster(
        Persistence(), ["t2m"], 2, 2, np.timedelta64(360, "m"), [280.0], [2.0],
        recipe=recipe, task={"splits": {"test": {"start": "2000-01-05", "end": "2000-01-06"}}},
    )  # fmt: skip
    assert isinstance(f.task, Task)
    assert f.task.step == "6h"  # a timedelta step is stored as the text a recipe would hold
    assert f.step == np.timedelta64(6, "h")
    assert f.entry == "mock" and f.task.fill_nan == -1.0  # from the recipe's data section
    assert f.task.split_bounds("test") == ("2000-01-05", "2000-01-06")
    assert f.lead_times.tolist() == np.array([6, 12], "timedelta64[h]").astype("m8[ns]").tolist()


def test_a_task_is_used_as_it_is_and_must_agree_with_the_arguments():
    task = Task(entry="mock", channels=("t2m",), step="6h", input_steps=2, output_steps=2)
    f = Forecaster(Persistence(), mean=[280.0], std=[2.0], task=task)
    assert f.task is task and f.channels == ("t2m",)
    same = Forecaster(Persistence(), ["t2m"], 2, 2, "360min", [280.0], [2.0], task=task)
    assert same.task is task
    with pytest.raises(ValueError, match="differ from its task"):
        Forecaster(Persistence(), ["t850"], 2, 2, "6h", [280.0], [2.0], task=task)
    with pytest.raises(ValueError, match="lacks"):
        Forecaster(Persistence(), ["t2m"], 2, None, "6h", [280.0], [2.0])


def test_store_attributes_carry_the_task_as_json():
    ds = mock_gridded_dataset(periods=12, n_lat=4, n_lon=8)
    f = Forecaster(
        Persistence(), ["t2m"], 2, 2, "6h", [280.0], [2.0], recipe={"data": {"entry": "m"}}
    )
    fc = forecast(f, ds)
    recorded = json.loads(fc.attrs["forecast_task"])
    assert "latitude" not in recorded  # the grid's coordinates are in the store itself
    assert Task.from_dict(recorded) == f.task
    assert json.loads(fc.attrs["forecast_channels"]) == ["t2m"]
    assert fc.attrs["forecast_input_steps"] == 2


def test_outside_torchrun_inference_runs_as_rank_0_of_1(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert join_process_group() is False
    assert rank_and_world_size() == (0, 1)
