"""Verdict lines: at how many leads the model beats each baseline (hand-made tables)."""

from __future__ import annotations

import pandas as pd

from gmgclim.evaluation.verdict import verdict_lines


def _rows(model, metric, values, **extra):
    return [
        {"model": model, "variable": "t2m", "metric": metric, "lead_time_hours": 6.0 * (i + 1),
         "value": v, **extra}
        for i, v in enumerate(values)
    ]  # fmt: skip


def test_lower_is_better_and_ties_do_not_count():
    table = pd.DataFrame(
        _rows("model", "rmse", [1.0, 1.5, 2.0])
        + _rows("persistence", "rmse", [1.2, 1.5, 2.5])
        + _rows("climatology", "rmse", [0.9, 1.0, 1.9])
    )
    assert verdict_lines(table) == [
        "t2m RMSE: model beats persistence at 2/3 leads, climatology at 0/3 leads"
    ]


def test_csi_per_threshold_higher_is_better():
    table = pd.DataFrame(
        _rows("model", "csi", [0.5, 0.4], threshold=1.0)
        + _rows("extrapolation", "csi", [0.6, 0.3], threshold=1.0)
        + _rows("model", "csi", [0.2, 0.1], threshold=5.0)
        + _rows("extrapolation", "csi", [0.1, float("nan")], threshold=5.0)
    )
    assert verdict_lines(table) == [
        "t2m CSI threshold=1: model beats extrapolation at 1/2 leads",
        "t2m CSI threshold=5: model beats extrapolation at 1/1 leads",
    ]


def test_the_model_is_found_among_the_baselines():
    table = pd.DataFrame(_rows("gmg", "rmse", [1.0]) + _rows("persistence", "rmse", [2.0]))
    assert verdict_lines(table) == ["t2m RMSE: gmg beats persistence at 1/1 leads"]


def test_no_baseline_no_verdict():
    assert verdict_lines(pd.DataFrame(_rows("model", "rmse", [1.0]))) == []
