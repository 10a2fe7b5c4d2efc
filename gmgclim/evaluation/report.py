"""A readable score table: one block per metric, leads in the data's own unit, models side by side.

:func:`score_blocks` turns the long table of :func:`gmgclim.metrics.scores_to_table` (one row per
score) into small wide tables for a console: one per variable and metric (and level), rows the
lead times written in the unit the data's time step is in (``5 min``, ``6 h``, ``2 d``), plus the
FSS window scale where there is one, columns the models (the forecast, then its baselines), per
threshold for the categorical scores. Rows with no value in any column are dropped; numbers are
formatted in full (:func:`format_value`), never cut. The full table stays in the CSV/netCDF.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["ScoreBlock", "format_value", "lead_labels", "score_blocks"]

_UNITS = (("d", 24.0), ("h", 1.0), ("min", 1.0 / 60.0))


@dataclasses.dataclass(frozen=True)
class ScoreBlock:
    """One metric of one variable as a small wide table.

    Attributes
    ----------
    title : str
        ``variable metric [level] (units)``.
    table : pandas.DataFrame
        Strings; the first columns label the rows (``lead`` and, where present, ``scale``), the
        others are models (``threshold model`` for categorical scores).
    n_label_columns : int
        How many leading columns are row labels.
    """

    title: str
    table: pd.DataFrame
    n_label_columns: int


def lead_labels(lead_time_hours: np.ndarray) -> tuple[list[str], str]:
    """Lead times written in the largest unit (d, h, min) that makes every one a whole number.

    Parameters
    ----------
    lead_time_hours : np.ndarray
        Float hours, (n,).

    Returns
    -------
    labels : list of str
        One per lead, e.g. ``"5 min"``.
    unit : str
        ``"d"``, ``"h"`` or ``"min"``.
    """
    hours = np.asarray(lead_time_hours, dtype=np.float64)
    for unit, size in _UNITS:
        values = hours / size
        if np.allclose(values, np.round(values), atol=1e-6):
            return [f"{v:g} {unit}" for v in np.round(values)], unit
    return [f"{v:g} min" for v in hours * 60.0], "min"


def format_value(value: float) -> str:
    """A score in full: 4 significant digits (at least 4 decimals below 1), the sign kept."""
    if value is None or not np.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) < 1:
        return f"{value:.4f}" if abs(value) >= 1e-4 else f"{value:.3e}"
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.4e}"


def _threshold_label(value: float) -> str:
    return f">={value:g}"


def score_blocks(table: pd.DataFrame) -> list[ScoreBlock]:
    """The long score table as one small wide table per variable, metric and level.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`gmgclim.metrics.scores_to_table` (columns [model], variable, metric,
        lead_time_hours, [level], [threshold], [scale], value, units, ...).

    Returns
    -------
    list of ScoreBlock
        In the order of the metrics in ``table``; blocks with no value at all are left out.
    """
    if table.empty:
        return []
    table = table.copy()
    if "model" not in table:
        table["model"] = "model"
    models = list(dict.fromkeys(table["model"]))
    labels, _ = lead_labels(np.sort(table["lead_time_hours"].unique()))
    lead_label = dict(zip(np.sort(table["lead_time_hours"].unique()), labels, strict=True))
    group_keys = ["variable", "metric"] + (["level"] if "level" in table else [])
    blocks = []
    for key, part in table.groupby(group_keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        part = part.dropna(subset=["value"])
        if part.empty:
            continue
        rows = ["lead_time_hours"]
        if "scale" in part and part["scale"].notna().any():
            rows.append("scale")
        columns = ["model"]
        if "threshold" in part and part["threshold"].notna().any():
            columns = ["threshold", "model"]
        wide = part.pivot_table(index=rows, columns=columns, values="value", aggfunc="first")
        wide = wide.dropna(how="all")
        if columns == ["model"]:
            wide = wide.reindex(columns=[m for m in models if m in wide.columns])
        else:
            order = [(t, m) for t in sorted(part["threshold"].unique()) for m in models]
            wide = wide.reindex(columns=[c for c in order if c in wide.columns])
        out = pd.DataFrame({"lead": [lead_label[h] for h in wide.index.get_level_values(0)]})
        if "scale" in rows:
            out["scale"] = [f"{int(s)} px" for s in wide.index.get_level_values("scale")]
        n_labels = out.shape[1]
        for column in wide.columns:
            name = (
                f"{_threshold_label(column[0])} {column[1]}"
                if isinstance(column, tuple)
                else str(column)
            )
            out[name] = [format_value(v) for v in wide[column].values]
        variable, metric = key[0], key[1]
        level = f" {key[2]:g} hPa" if len(key) > 2 and pd.notna(key[2]) else ""
        units = str(part["units"].iloc[0]) if "units" in part else ""
        title = f"{variable} {metric}{level}" + (f" ({units})" if units else "")
        blocks.append(ScoreBlock(title=title, table=out, n_label_columns=n_labels))
    return blocks
