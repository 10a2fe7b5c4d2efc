"""Opening forecast stores: written init times only, and the task they record."""

from __future__ import annotations

import json

import pytest

from gmgclim.data.task import GridSpec, Task
from gmgclim.errors import GmgclimError
from gmgclim.evaluation import open_forecast_store, task_from_attrs


def test_task_round_trips_through_the_store(tmp_path, stores):
    task = stores.task()
    store = open_forecast_store(stores.write(tmp_path / "fc.zarr", task))
    assert store.task == task
    assert store.variables == ["2m_temperature"]  # not the grid mapping
    assert store.model_name == "gmg" and store.input_steps == 2
    assert not store.is_partial and store.partial_note() is None


def test_only_written_init_times(tmp_path, stores):
    path = stores.write(tmp_path / "fc.zarr", stores.task(), written=[True, False, True])
    store = open_forecast_store(path)
    assert list(store.forecast["time"].values) == [stores.INIT_TIMES[0], stores.INIT_TIMES[2]]
    assert "init_written" not in store.forecast.coords
    assert store.is_partial
    assert store.partial_note("scoring") == (
        f"{path} holds 2 of 3 init times; scoring those (resume the forecast to finish it)"
    )


def test_nothing_written_is_an_error(tmp_path, stores):
    path = stores.write(tmp_path / "fc.zarr", stores.task(), written=[False, False, False])
    with pytest.raises(GmgclimError, match="no init time is written yet"):
        open_forecast_store(path)


def test_missing_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_forecast_store(tmp_path / "nope.zarr")


def test_old_store_falls_back_to_the_recipe(stores):
    """Stores without ``forecast_task``: the recipe's data section, channels and step attributes."""
    recipe = {
        "data": {
            "entry": stores.ENTRY,
            "channels": ["t2m"],
            "step": "6h",
            "input_steps": 2,
            "output_steps": 4,
            "grid": {"target_grid": None, "crop": {"latitude": [1, 7]}, "coarsen": None},
            "splits": {"train": {"start": "2000-01-01", "end": "2000-01-02"}, "valid": None},
            "stats": None,  # recipe keys that are no task field are ignored
            "in_memory": True,
        }
    }
    task = task_from_attrs({"forecast_recipe": json.dumps(recipe)}, n_lead_times=4)
    assert task.entry == stores.ENTRY and task.channels == ("t2m",)
    assert task.grid == GridSpec(crop=(("latitude", 1, 7),))
    assert task.splits == {"train": ("2000-01-01", "2000-01-02")}


def test_partial_task_filled_from_attributes(stores):
    attrs = {
        "forecast_task": json.dumps({"entry": stores.ENTRY, "splits": None}),
        "forecast_recipe": json.dumps({"data": {"entry": "other", "fill_nan": 0.5}}),
        "forecast_channels": json.dumps(["t2m"]),
        "forecast_step": "6h",
        "forecast_input_steps": 3,
    }
    task = task_from_attrs(attrs, n_lead_times=5)
    assert task == Task(
        entry=stores.ENTRY,
        channels=("t2m",),
        step="6h",
        input_steps=3,
        output_steps=5,
        fill_nan=0.5,
    )


def test_extrapolation_store_records_no_task():
    attrs = {"forecast_model_name": "extrapolation", "forecast_recipe": json.dumps({})}
    assert task_from_attrs(attrs, n_lead_times=3) is None
    assert task_from_attrs({"forecast_task": "not json"}) is None
