"""The metrics gmgclim scores, by name: :data:`METRICS` maps a name to a :class:`Metric`.

Each metric is one function, called by :func:`gmgclim.metrics.score.score_forecast` through this
table:

- ``deterministic``: ``function(pair, weights=..., skipna=...[, climatology=...])`` on an aligned
  pair (:mod:`gmgclim.metrics.deterministic`), dims (prediction_timedelta, [level]);
- ``contingency``: ``function(table)`` on a contingency table
  (:func:`gmgclim.metrics.categorical.score_contingency_table`), dims (threshold,
  prediction_timedelta, [level]);
- ``fss``: ``function(pair, thresholds, scales, weights=...)``, dims (threshold, scale,
  prediction_timedelta, [level]).

Two names depend on the convention (``wb1`` or ``wb2``): ``rmse`` is ``rmse_wb1`` or ``rmse_wb2``
and ``acc`` is ``acc_pooled_wb1`` or ``acc_wb2`` (:func:`resolve_metric`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

from gmgclim.metrics import categorical, deterministic

Kind = Literal["deterministic", "contingency", "fss"]


def _same(units: str) -> str:
    return units


def _squared(units: str) -> str:
    return f"({units})2" if units else ""


def _dimensionless(units: str) -> str:
    return "1"


@dataclasses.dataclass(frozen=True)
class Metric:
    """One score.

    Attributes
    ----------
    name : str
        Registry key.
    kind : {"deterministic", "contingency", "fss"}
        How it is called (see the module docstring) and where it goes in a scores Dataset.
    function : callable
        The one implementation.
    better : {"lower", "higher", "zero"}
        Which values are better (for plots).
    units : callable
        Units of the score from the field's units.
    weights : {"wb1", "wb2"} or None
        Weights this metric always uses; None: the run's convention.
    needs_climatology : bool
        Called with ``climatology=``.
    parts : DeterministicParts or None
        A deterministic metric split into per-init statistics and their reduction, which
        :func:`~gmgclim.metrics.score.score_forecast` uses to score init-time blocks one by one.
    """

    name: str
    kind: Kind
    function: Callable
    better: Literal["lower", "higher", "zero"]
    units: Callable[[str], str] = _same
    weights: str | None = None
    needs_climatology: bool = False
    parts: deterministic.DeterministicParts | None = None


def _deterministic(name, function, better="lower", **kw) -> Metric:
    return Metric(name, "deterministic", function, better, **kw)


def _anomaly_correlation(name, function, parts) -> Metric:
    """An ACC: higher is better, dimensionless, scored against a climatology."""
    return _deterministic(
        name, function, "higher", units=_dimensionless, needs_climatology=True, parts=parts
    )


def _contingency(name, function, better="higher") -> Metric:
    return Metric(name, "contingency", function, better, units=_dimensionless)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _deterministic(
            "rmse_wb2",
            deterministic.score_rmse_wb2,
            weights="wb2",
            parts=deterministic.RMSE_WB2_PARTS,
        ),
        _deterministic(
            "rmse_wb1",
            deterministic.score_rmse_sqrt_after_time_mean_wb1,
            weights="wb1",
            parts=deterministic.RMSE_WB1_PARTS,
        ),
        _deterministic(
            "rmse_sqrt_before_time_mean",
            deterministic.score_rmse_sqrt_before_time_mean,
            parts=deterministic.RMSE_SQRT_BEFORE_PARTS,
        ),
        _deterministic(
            "mse", deterministic.score_mse, units=_squared, parts=deterministic.MSE_PARTS
        ),
        _deterministic("mae", deterministic.score_mae, parts=deterministic.MAE_PARTS),
        _deterministic(
            "bias", deterministic.score_bias, better="zero", parts=deterministic.BIAS_PARTS
        ),
        _anomaly_correlation("acc_wb2", deterministic.score_acc, deterministic.ACC_PARTS),
        _anomaly_correlation(
            "acc_pooled_wb1",
            deterministic.score_acc_pooled_wb1,
            deterministic.ACC_POOLED_WB1_PARTS,
        ),
        _contingency("csi", categorical.csi),
        _contingency("pod", categorical.pod),
        _contingency("far", categorical.far, better="lower"),
        _contingency("ets", categorical.ets),
        Metric("fss", "fss", categorical.score_fss, "higher", units=_dimensionless),
    )
}

#: Names whose metric depends on the convention: name -> {convention: registry key}.
BY_CONVENTION: dict[str, dict[str, str]] = {
    "rmse": {"wb1": "rmse_wb1", "wb2": "rmse_wb2"},
    "acc": {"wb1": "acc_pooled_wb1", "wb2": "acc_wb2"},
}

#: Every name :func:`~gmgclim.metrics.score.score_forecast` accepts.
METRIC_NAMES: tuple[str, ...] = (*BY_CONVENTION, *METRICS)


def resolve_metric(name: str, convention: str = "wb2") -> Metric:
    """The :class:`Metric` a name stands for under a convention.

    Parameters
    ----------
    name : str
        A key of :data:`METRICS` or ``rmse``/``acc`` (see :data:`BY_CONVENTION`).
    convention : {"wb2", "wb1"}
        Picks the meaning of ``rmse`` and ``acc``.

    Returns
    -------
    Metric

    Raises
    ------
    ValueError
        An unknown name.
    """
    key = BY_CONVENTION.get(name, {}).get(convention, name)
    if key not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {list(METRIC_NAMES)}")
    return METRICS[key]
