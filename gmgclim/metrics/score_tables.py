"""Reading a scores Dataset: single scores without the layout's padding, and a long table.

The layout (from :func:`gmgclim.metrics.score.score_forecast` or
:func:`~gmgclim.metrics.score.score_with_baselines`) is described in :mod:`gmgclim.metrics.score`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd
import xarray as xr

from gmgclim.conventions import LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import lead_hours
from gmgclim.metrics.assembly import PIXEL_SCALE, SCORE_KINDS
from gmgclim.metrics.registry import Metric, resolve_metric


def _score_kind(da: xr.DataArray) -> str | None:
    return da.attrs.get("score_kind")


def iter_scores(
    scores: xr.Dataset,
    variables: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> Iterator[tuple[str, str, xr.DataArray]]:
    """Every score of a scores Dataset, without the layout's NaN padding.

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`~gmgclim.metrics.score.score_forecast` or
        :func:`~gmgclim.metrics.score.score_with_baselines`.
    variables, metrics : sequence of str, optional
        Subsets (default all).

    Yields
    ------
    variable : str
        Forecast variable.
    metric : str
        Metric name as scored (e.g. ``rmse``, ``csi``).
    score : xr.DataArray
        dims ([model], [threshold], [scale], prediction_timedelta, [level]); ``metric`` dropped,
        and ``scale`` dropped for the pixel scores csi/pod/far/ets.
    """
    for da in scores.data_vars.values():
        kind = _score_kind(da)
        if kind not in SCORE_KINDS or "metric" not in da.dims:
            continue
        variable = str(da.attrs.get("variable", da.name))
        if variables is not None and variable not in variables:
            continue
        convention = str(scores.attrs.get("convention", "wb2"))
        for metric_name in da["metric"].values.tolist():
            metric: Metric = resolve_metric(str(metric_name), convention)
            if metric.kind not in SCORE_KINDS[kind]:
                continue
            if metrics is not None and metric_name not in metrics:
                continue
            score = da.sel(metric=metric_name, drop=True)
            if metric.kind == "contingency" and "scale" in score.dims:
                score = score.sel(scale=PIXEL_SCALE, drop=True)
            score.attrs = dict(da.attrs, metric=str(metric_name))
            score.attrs["units"] = metric.units(str(da.attrs.get("units", "")))
            yield variable, str(metric_name), score


def select_score(scores: xr.Dataset, variable: str, metric: str) -> xr.DataArray:
    """One score of one variable from a scores Dataset (see :func:`iter_scores`).

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`~gmgclim.metrics.score.score_forecast` or
        :func:`~gmgclim.metrics.score.score_with_baselines`.
    variable : str
        Forecast variable, e.g. ``"precipitation_rate"``.
    metric : str
        Metric as scored, e.g. ``"rmse"`` or ``"csi"``.

    Returns
    -------
    xr.DataArray
        dims ([model], [threshold], [scale], prediction_timedelta, [level]), ``units`` attribute.

    Raises
    ------
    DataError
        The scores hold no such metric for that variable.
    """
    for _, _, score in iter_scores(scores, [variable], [metric]):
        return score
    held = sorted({(v, m) for v, m, _ in iter_scores(scores)})
    raise DataError(f"no {metric!r} scores for {variable!r}; the scores hold {held}")


def scores_to_table(scores: xr.Dataset) -> pd.DataFrame:
    """Flatten a scores Dataset into one row per score.

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`~gmgclim.metrics.score.score_forecast` or
        :func:`~gmgclim.metrics.score.score_with_baselines`.

    Returns
    -------
    pandas.DataFrame
        Columns: [model], variable, metric, lead_time_hours, [level], [threshold], [scale], value,
        units, n_verified; sorted by model, variable, metric, lead time, level, threshold and scale.
        ``scale`` is NaN for the pixel scores csi/pod/far/ets.
    """
    frames = []
    for variable, metric, da in iter_scores(scores):
        df = da.drop_vars("lead_time_hours", errors="ignore").to_dataframe(name="value")
        df = df.reset_index()
        df["variable"] = variable
        df["metric"] = metric
        df["units"] = da.attrs["units"]
        counts = next(
            (
                v
                for v in scores.data_vars.values()
                if _score_kind(v) == "n_verified" and v.attrs.get("variable") == variable
            ),
            None,
        )
        if counts is not None:
            count_df = counts.to_series().rename("n_verified").reset_index()
            keys = ["model", LEAD_DIM] if "model" in counts.dims else [LEAD_DIM]
            df = df.merge(count_df, on=keys, how="left")
        df["lead_time_hours"] = lead_hours(df[LEAD_DIM].values)
        frames.append(df.drop(columns=[LEAD_DIM]))
    if not frames:
        return pd.DataFrame(columns=["variable", "metric", "lead_time_hours", "value"])
    table = pd.concat(frames, ignore_index=True)
    first = [c for c in ("model", "variable", "metric", "lead_time_hours", "level") if c in table]
    rest = [c for c in ("threshold", "scale", "value", "units", "n_verified") if c in table]
    table = table[first + rest]
    order = ("model", "variable", "metric", "lead_time_hours", "level", "threshold", "scale")
    return table.sort_values([c for c in order if c in table]).reset_index(drop=True)
