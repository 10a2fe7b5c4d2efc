"""The console score table: leads in the data's unit, one block per metric, nothing cut."""

import numpy as np
import pandas as pd

from gmgclim.evaluation.report import format_value, lead_labels, score_blocks


def test_lead_labels_use_the_data_unit():
    assert lead_labels(np.array([5, 10, 60]) / 60) == (["5 min", "10 min", "60 min"], "min")
    assert lead_labels(np.array([6.0, 12.0, 30.0])) == (["6 h", "12 h", "30 h"], "h")
    assert lead_labels(np.array([24.0, 48.0])) == (["1 d", "2 d"], "d")


def test_values_are_never_cut():
    assert format_value(-0.006123456) == "-0.0061"
    assert format_value(-8.157e-05) == "-8.157e-05"
    assert format_value(1234.5678) == "1235"
    assert format_value(float("nan")) == ""


def _table():
    rows = []
    for model in ("gmg", "persistence"):
        for lead in (5 / 60, 10 / 60):
            rows.append(("rmse", model, lead, np.nan, np.nan, 0.5 if model == "gmg" else -0.25))
            rows.append(("rmse", model, 15 / 60, np.nan, np.nan, np.nan))  # all-NaN lead
            for thr in (0.5, 1.0):
                rows.append(("fss", model, lead, thr, 3.0, 0.7))
    table = pd.DataFrame(
        rows, columns=["metric", "model", "lead_time_hours", "threshold", "scale", "value"]
    )
    table["variable"] = "precipitation_rate"
    table["units"] = np.where(table.metric == "rmse", "mm h-1", "1")
    return table


def test_one_block_per_metric_models_side_by_side():
    blocks = {b.title: b for b in score_blocks(_table())}
    assert set(blocks) == {"precipitation_rate rmse (mm h-1)", "precipitation_rate fss (1)"}
    rmse = blocks["precipitation_rate rmse (mm h-1)"].table
    assert list(rmse.columns) == ["lead", "gmg", "persistence"]
    assert rmse["lead"].tolist() == ["5 min", "10 min"]  # the all-NaN 15 min row is dropped
    assert rmse["persistence"].tolist() == ["-0.2500", "-0.2500"]
    fss = blocks["precipitation_rate fss (1)"]
    assert fss.n_label_columns == 2
    assert list(fss.table.columns) == [
        "lead",
        "scale",
        ">=0.5 gmg",
        ">=0.5 persistence",
        ">=1 gmg",
        ">=1 persistence",
    ]
