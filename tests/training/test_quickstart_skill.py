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
    """Train the shipped quickstart recipe and score its best checkpoint on 25-31 March.

    Persistence of a 2 m temperature field is hard to beat at whole days of lead time, when the
    diurnal phase matches (in this week 24 h persistence scores about 1.3 K). The claim checked is
    the one the quickstart makes: better than persistence at every lead that is not a whole day,
    and on average over the second day (30-48 h).
    """
    monkeypatch.delenv("GMGCLIM_NUM_THREADS", raising=False)  # the recipe as a user runs it
    recipe = load_recipe(
        REPO / "recipes" / "quickstart.yaml", overrides=[f"output.dir={tmp_path / 'qs'}"]
    )
    run_dir = train(recipe, progress=False)
    scores = evaluate_split(run_dir, "test")
    print(scores.table())
    assert scores.n_windows > 90  # 25-31 March, hourly init times
    model, persistence = scores.rmse_model[:, 0], scores.rmse_persistence[:, 0]
    lead = scores.lead_time_hours
    off_day = lead % 24 != 0
    assert np.all(model[off_day] < persistence[off_day])
    second_day = lead > 24
    assert model[second_day].mean() < 0.95 * persistence[second_day].mean()
