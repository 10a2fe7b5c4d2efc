"""The typed task: construction from a recipe, JSON round trip, old checkpoint dicts, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gmgclim.config import load_recipe
from gmgclim.data.task import GridSpec, Task
from gmgclim.errors import DataError

# The task dict of a gmgclim 0.1 checkpoint (quickstart), as it is on disk.
OLD_TASK = {
    "entry": "era5-uk-t2m",
    "channels": ["t2m"],
    "input_steps": 4,
    "output_steps": 8,
    "step": "6h",
    "grid": {
        "target_grid": None,
        "crop": {"latitude": [1, 33], "longitude": [0, 48]},
        "coarsen": {"latitude": 2, "longitude": 2},
    },
    "splits": {
        "train": {"start": "2019-03-01", "end": "2019-03-20"},
        "valid": {"start": "2019-03-21", "end": "2019-03-24"},
        "test": {"start": "2019-03-25", "end": "2019-03-31"},
    },
    "fill_nan": 0.0,
    "spatial_dims": ["latitude", "longitude"],
    "height": 16,
    "width": 24,
    "latitude": [50.5, 51.0],
    "longitude": [350.0, 350.5],
}


def test_old_checkpoint_task_loads_and_round_trips_through_json():
    task = Task.from_dict(OLD_TASK)
    assert task.channels == ("t2m",)
    assert task.grid == GridSpec(
        crop=(("latitude", 1, 33), ("longitude", 0, 48)),
        coarsen=(("latitude", 2), ("longitude", 2)),
    )
    assert task.split_bounds("test") == ("2019-03-25", "2019-03-31")
    assert task.shape == (16, 24) and task.is_latlon
    assert task.forcings == () and task.residual == "none" and task.context_channels == 0
    again = Task.from_dict(json.loads(json.dumps(task.to_dict())))
    assert again == task
    assert task.lead_times[-1] == np.timedelta64(48, "h")
    assert task.time_range() == ("2019-03-01", "2019-03-31")


def test_task_from_the_quickstart_recipe():
    task = Task.from_recipe(load_recipe("recipes/quickstart.yaml"))
    assert task.entry == "era5-uk-t2m" and task.step_timedelta == np.timedelta64(6, "h")
    assert task.height is None  # known once the data is opened (Task.with_grid)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"forcings": ["moon_phase"]}, "unknown forcings"),
        ({"statics": ["orography_typo"]}, "unknown statics"),
        ({"transform": "sqrt"}, "unknown transform"),
        ({"residual": "climatology"}, "data.residual"),
        ({"residual": "daily_persistence", "input_steps": 2}, "input_steps covering a day"),
        ({"residual": "daily_persistence", "step": "5h"}, "divides one day"),
        ({"step": "six hours"}, "step must look like"),
        ({"colour": "red"}, r"unknown task keys \['colour'\]"),
        ({"grid": {"crop": None, "zoom": 2}}, r"unknown keys \['zoom'\]"),
    ],
)
def test_bad_task_values_name_the_key(change, message):
    with pytest.raises((DataError, ValueError), match=message):
        Task.from_dict({**OLD_TASK, **change}, source="ckpt.pt")


def test_daily_persistence_lag_is_a_day_of_frames():
    task = Task.from_dict({**OLD_TASK, "residual": "daily_persistence", "input_steps": 4})
    assert task.residual_lag == 4  # 24 h of 6 h steps
    assert Task.from_dict(OLD_TASK).residual_lag == 1


def test_missing_keys_and_splits_are_named():
    with pytest.raises(DataError, match=r"ckpt.pt: task lacks \['step'\]"):
        Task.from_dict({k: v for k, v in OLD_TASK.items() if k != "step"}, source="ckpt.pt")
    with pytest.raises(DataError, match="split 'extra' is not in the task"):
        Task.from_dict(OLD_TASK).split_bounds("extra")
