"""The full quickstart recipe beats persistence on its held-back test week (slow: ~5 min on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from gmgclim.config import load_recipe
from gmgclim.data.task import Task, open_task_data
from gmgclim.inference import forecast
from gmgclim.metrics import score_with_baselines, scores_to_table
from gmgclim.models.checkpoint import find_checkpoint, load_checkpoint
from gmgclim.training import train


@pytest.mark.slow
def test_quickstart_beats_persistence_and_climatology_on_the_test_week(tmp_path, monkeypatch):
    """Train the shipped quickstart recipe and score its best checkpoint on 25-31 March.

    The claim the quickstart makes, as measured (README): on the held-back week its RMSE
    (WeatherBench 2 convention, cell-area weights from the grid's own cell bounds) is below
    persistence's and below the training period's time-mean field's (the climatology
    ``gmgclim score`` falls back to for a one-month sample) at every lead (closest at +24 h, where
    persistence repeats the diurnal phase: 1.26 vs 1.29 K when measured). Its domain-mean diurnal
    cycle is still flatter than the truth's (about 0.6 of its range at +6 h): asserted as at least
    40 % so a regression shows.

    Scores go through the public path: ``gmgclim.inference.forecast`` of the run's best checkpoint
    over the test split, then ``score_with_baselines``.
    """
    monkeypatch.delenv("GMGCLIM_NUM_THREADS", raising=False)  # the recipe as a user runs it
    recipe = load_recipe(
        REPO / "recipes" / "quickstart.yaml", overrides=[f"output.dir={tmp_path / 'qs'}"]
    )
    run_dir = train(recipe, progress=False)
    fc = forecast(run_dir, split="test", batch_size=16)  # the run's best checkpoint
    task = Task.from_dict(load_checkpoint(find_checkpoint(run_dir, "best")).task)
    truth = open_task_data(task, time=slice(*task.split_bounds("test"))).load()
    train_truth = open_task_data(task, time=slice(*task.split_bounds("train")))
    climatology = train_truth.mean("time", keep_attrs=True).load()
    scores = score_with_baselines(
        fc, truth, baselines=("persistence", "climatology"), climatology=climatology,
        metrics=("rmse",),
    )  # fmt: skip
    print(scores_to_table(scores).to_string())
    assert fc.sizes["time"] > 90  # 25-31 March, hourly init times
    (variable,) = (v for v in fc.data_vars if {"time", "prediction_timedelta"} <= set(fc[v].dims))
    rmse = scores[variable].sel(metric="rmse")
    model = rmse.sel(model="model").values
    persistence, climatology = (rmse.sel(model=m).values for m in ("persistence", "climatology"))
    assert np.all(model < persistence), (model, persistence)
    assert np.all(model < climatology), (model, climatology)

    # the day-night cycle: domain-mean temperature by valid time, forecast vs truth (+6 h lead)
    first = fc[variable].isel(prediction_timedelta=0)
    valid = first["time"].values + first["prediction_timedelta"].values
    forecast_mean = first.mean(("latitude", "longitude")).values
    truth_mean = truth[variable].sel(time=valid).mean(("latitude", "longitude")).values
    hours = (valid.astype("datetime64[h]").astype(int)) % 24
    forecast_range = np.ptp([forecast_mean[hours == h].mean() for h in range(24)])
    truth_range = np.ptp([truth_mean[hours == h].mean() for h in range(24)])
    assert forecast_range >= 0.4 * truth_range, (forecast_range, truth_range)
