"""The full quickstart recipe beats persistence on its held-back test week (slow: ~5 min on 2 cores)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from gmgclim.config import load_recipe
from gmgclim.training import train
from gmgclim.training.evaluate import evaluate_split


@pytest.mark.slow
def test_quickstart_beats_persistence_on_the_test_week(tmp_path, monkeypatch):
    monkeypatch.delenv("GMGCLIM_NUM_THREADS", raising=False)  # the recipe as a user runs it
    recipe = load_recipe(
        REPO / "recipes" / "quickstart.yaml", overrides=[f"output.dir={tmp_path / 'qs'}"]
    )
    run_dir = train(recipe, progress=False)
    scores = evaluate_split(run_dir, "test")
    print(scores.table())
    assert scores.n_windows > 90  # 25-31 March, hourly init times
    model, persistence = scores.rmse_model[:, 0], scores.rmse_persistence[:, 0]
    longer = scores.lead_time_hours > 24
    # every lead beyond a day, and on average over the second day by a clear margin
    assert np.all(model[longer] < persistence[longer])
    assert model[longer].mean() < 0.9 * persistence[longer].mean()
