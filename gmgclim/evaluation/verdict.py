"""Honest verdicts: at how many lead times a model beats each baseline, one line per variable.

``gmgclim score`` and ``gmgclim demo`` end with these lines, whatever they say.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["BASELINE_NAMES", "HEADLINE_METRICS", "verdict_lines"]

#: The score each verdict is about, first found in the table: RMSE for fields, CSI for rain.
HEADLINE_METRICS = ("rmse", "rmse_wb2", "rmse_wb1", "csi", "fss", "mae")


def _better(metric: str) -> str:
    from gmgclim.metrics import resolve_metric

    try:
        return resolve_metric(metric, "wb2").better
    except ValueError:
        return "lower"


#: Names of the reference forecasts in a score table's ``model`` column.
BASELINE_NAMES = ("persistence", "climatology", "extrapolation")


def verdict_lines(
    table: pd.DataFrame, model: str | None = None, metrics: Sequence[str] = HEADLINE_METRICS
) -> list[str]:
    """One line per variable (and threshold): where ``model`` beats each baseline.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`gmgclim.metrics.scores_to_table` of :func:`gmgclim.metrics.score_with_baselines`
        (a ``model`` column: the model and its baselines).
    model : str, optional
        Name of the forecast under test in the ``model`` column; by default the one entry that
        is not a baseline (:data:`BASELINE_NAMES`).
    metrics : sequence of str
        Candidate headline metrics, the first present per variable is used.

    Returns
    -------
    list of str
        E.g. ``"t2m RMSE: beats persistence at 8/8 leads, climatology at 7/8 leads"``; a tie
        does not count as beating. Empty when the table has no baseline.
    """
    if "model" not in table:
        return []
    if model is None:
        candidates = [m for m in dict.fromkeys(table["model"]) if m not in BASELINE_NAMES]
        if len(candidates) != 1:
            return []
        model = candidates[0]
    if model not in set(table["model"]):
        return []
    lines = []
    for variable, rows in table.groupby("variable", sort=False):
        metric = next((m for m in metrics if m in set(rows["metric"])), None)
        if metric is None:
            continue
        rows = rows[rows["metric"] == metric]
        higher = _better(metric) == "higher"
        keys = [c for c in ("threshold", "scale", "level") if c in rows and rows[c].notna().any()]
        groups = rows.groupby(keys, sort=True, dropna=False) if keys else [((), rows)]
        for key, part in groups:
            wide = part.pivot_table(
                index="lead_time_hours", columns="model", values="value", aggfunc="first"
            )
            if model not in wide:
                continue
            mine = wide[model].to_numpy(dtype=float)
            parts = []
            baselines = [m for m in dict.fromkeys(part["model"]) if m != model and m in wide]
            for baseline in baselines:
                ref = wide[baseline].to_numpy(dtype=float)
                valid = np.isfinite(mine) & np.isfinite(ref)
                wins = (mine > ref) if higher else (mine < ref)
                parts.append(f"{baseline} at {int((wins & valid).sum())}/{int(valid.sum())} leads")
            if not parts:
                continue
            label = f"{variable} {metric.upper()}"
            key = key if isinstance(key, tuple) else (key,)
            label += "".join(f" {k}={v:g}" for k, v in zip(keys, key, strict=True) if pd.notna(v))
            lines.append(f"{label}: {model} beats " + ", ".join(parts))
    return lines
