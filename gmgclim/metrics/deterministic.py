"""Deterministic scores per lead time: RMSE (two conventions), MSE, MAE, bias, ACC.

Every public function takes a forecast (time=init, prediction_timedelta, [level], spatial...) and a
truth on valid time (or already aligned, see :func:`gmgclim.metrics.alignment.align_forecast_truth`)
and returns a lazy result with dims (prediction_timedelta, [level]) for a DataArray, per variable
for a Dataset. Results carry a coordinate ``n_verified`` (init times whose valid time the truth
covers) and attributes naming the weighting and the averaging order.

Each metric is written once, as a function of an :class:`~gmgclim.metrics.alignment.AlignedPair`
(``score_mse``, ``score_rmse_wb2``, ...: what :data:`gmgclim.metrics.registry.METRICS` calls); the
public function of the same name (:func:`mse`, :func:`rmse_wb2`, ...) aligns the pair and calls it.

The two RMSE conventions (``e`` is forecast minus truth, ``w`` latitude weights of mean 1, see
:mod:`gmgclim.metrics.weights`):

- WeatherBench 1 (``compute_weighted_rmse`` with ``mean_dims`` all dims): ``sqrt(mean_{t,lat,lon}(w e^2))``,
  weights ``cos(lat)``; the square root comes after one mean over time and space together.
- WeatherBench 2 (``MSE`` metric, square root taken after ``evaluate``): per init time the
  area-weighted spatial mean ``mse_t``, then ``sqrt(mean_t(mse_t))``; the weights are cell areas
  from the grid's latitude bounds (WeatherBench 2's own on global grids).

Without missing values both are the square root of a time mean of spatial MSEs; they differ in the
weights and in how missing values are counted (pooled over time and space in WB1, per init in WB2).
WB2's ``RMSESqrtBeforeTimeAvg`` (``mean_t(sqrt(mse_t))``) is :func:`rmse_sqrt_before_time_mean`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth
from gmgclim.metrics.baselines import climatology_forecast
from gmgclim.metrics.reductions import (
    Field,
    Stats,
    field,
    finish,
    masked_spatial_mean,
    mean_over_verified,
    pooled_mean,
    spatial_mean,
    spatial_sums,
    sqrt,
)
from gmgclim.metrics.weights import resolve_weights

Weights = str | xr.DataArray

_PER_INIT = "spatial mean per init time, then mean over init times"


def _error_stats(
    pair: AlignedPair, weights: Weights, skipna: bool, error: Callable[[Field], Field]
) -> tuple[Stats, str]:
    """Per init time: the weighted spatial mean of ``error(f - o)`` (dims time, lead, [level])."""
    w, dims, name = resolve_weights(pair.forecast, weights)
    if skipna:  # NaN-aware: the valid cells and the filled error are shared by every metric
        per_init = masked_spatial_mean(error(pair.filled_difference), pair.valid, w, dims)
        return {"per_init": per_init}, name
    return {"per_init": spatial_mean(error(pair.difference), w, dims, skipna)}, name


def _error_reduce(
    stats: Stats,
    pair: AlignedPair,
    skipna: bool,
    metric: str,
    weighting: str,
    sqrt_per_init: bool = False,
    sqrt_after: bool = False,
    order: str = _PER_INIT,
    units: Callable[[str], str] | None = None,
) -> Field:
    """Mean over verified init times of the per-init statistic (square roots as asked)."""
    per_init = field(stats, "per_init")
    if sqrt_per_init:
        per_init = sqrt(per_init)
    out = mean_over_verified(per_init, pair.verified, skipna)
    if sqrt_after:
        out = sqrt(out)
    return finish(out, pair, metric, weighting, order, units)


@dataclasses.dataclass(frozen=True)
class DeterministicParts:
    """A deterministic metric in two steps, so that it can be computed over init-time blocks.

    Attributes
    ----------
    statistics : callable
        ``statistics(pair, weights, skipna[, climatology]) -> (stats, weighting)``: ``stats`` maps
        names to per-init fields (dims time, prediction_timedelta, [level]) or to floats that are
        the same for every init time; ``weighting`` names the weights used.
    reduce : callable
        ``reduce(stats, pair, skipna, weighting)``: the score from the statistics of every init
        time (concatenated along ``time``); ``pair`` gives ``verified``, ``n_verified`` and units.
    """

    statistics: Callable[..., tuple[Stats, str]]
    reduce: Callable[..., Field]

    def __call__(self, pair: AlignedPair, weights: Weights, skipna: bool = False, **kw) -> Field:
        stats, weighting = self.statistics(pair, weights, skipna, **kw)
        return self.reduce(stats, pair, skipna, weighting)


def _error_parts(metric: str, error, **reduce_kw) -> DeterministicParts:
    def statistics(pair, weights, skipna):
        return _error_stats(pair, weights, skipna, error)

    def reduce(stats, pair, skipna, weighting):
        return _error_reduce(stats, pair, skipna, metric, weighting, **reduce_kw)

    return DeterministicParts(statistics, reduce)


def _squared_units(units: str) -> str:
    return f"({units})2"


MSE_PARTS = _error_parts("mse", np.square, units=_squared_units)
RMSE_WB2_PARTS = _error_parts(
    "rmse_wb2",
    np.square,
    sqrt_after=True,
    order="spatial MSE per init time, mean over init times, then sqrt",
)
RMSE_SQRT_BEFORE_PARTS = _error_parts(
    "rmse_sqrt_before_time_mean",
    np.square,
    sqrt_per_init=True,
    order="spatial MSE per init time, sqrt, then mean over init times",
)
MAE_PARTS = _error_parts("mae", abs)
BIAS_PARTS = _error_parts("bias", lambda e: e)


def score_mse(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`mse` of an aligned pair."""
    return MSE_PARTS(pair, weights, skipna)


def score_rmse_wb2(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`rmse_wb2` of an aligned pair."""
    return RMSE_WB2_PARTS(pair, weights, skipna)


def score_rmse_sqrt_before_time_mean(
    pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False
) -> Field:
    """:func:`rmse_sqrt_before_time_mean` of an aligned pair."""
    return RMSE_SQRT_BEFORE_PARTS(pair, weights, skipna)


def score_mae(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`mae` of an aligned pair."""
    return MAE_PARTS(pair, weights, skipna)


def score_bias(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`bias` of an aligned pair."""
    return BIAS_PARTS(pair, weights, skipna)


def _rmse_wb1_stats(pair: AlignedPair, weights: Weights, skipna: bool) -> tuple[Stats, str]:
    w, dims, name = resolve_weights(pair.forecast, weights)
    num, den = spatial_sums(pair.difference**2, w, dims, skipna)
    return {"num": num, "den": den}, name


def _rmse_wb1_reduce(stats: Stats, pair: AlignedPair, skipna: bool, weighting: str) -> Field:
    out = sqrt(pooled_mean(field(stats, "num"), stats["den"], pair.verified))
    order = "weighted mean over init times and space together, then sqrt"
    return finish(out, pair, "rmse_sqrt_after_time_mean_wb1", weighting, order)


RMSE_WB1_PARTS = DeterministicParts(_rmse_wb1_stats, _rmse_wb1_reduce)


def score_rmse_sqrt_after_time_mean_wb1(
    pair: AlignedPair, weights: Weights = "wb1", skipna: bool = False
) -> Field:
    """:func:`rmse_sqrt_after_time_mean_wb1` of an aligned pair."""
    return RMSE_WB1_PARTS(pair, weights, skipna)


def _anomalies(pair: AlignedPair, climatology: Field) -> tuple[Field, Field]:
    clim = climatology_forecast(
        climatology, pair.forecast[INIT_DIM].values, pair.forecast[LEAD_DIM].values
    )
    if isinstance(pair.forecast, xr.Dataset) and isinstance(clim, xr.Dataset):
        clim = clim[list(pair.forecast.data_vars)]
    if "level" in pair.forecast.dims and "level" in clim.dims:
        clim = clim.sel(level=pair.forecast["level"].values)
    spatial = {d: pair.forecast[d] for d in pair.forecast.dims if d not in (INIT_DIM, LEAD_DIM)}
    clim = clim.assign_coords(spatial)
    if pair.forecast.chunks:
        clim = clim.chunk(dict(pair.forecast.chunksizes))
    return pair.forecast - clim, pair.truth - clim


def _acc_stats(
    pair: AlignedPair, weights: Weights, skipna: bool, climatology: Field
) -> tuple[Stats, str]:
    w, dims, name = resolve_weights(pair.forecast, weights)
    fa, oa = _anomalies(pair, climatology)
    if skipna:
        both = fa.notnull() & oa.notnull()
        fa, oa = fa.where(both), oa.where(both)
    cov = spatial_mean(fa * oa, w, dims, skipna)
    var_f = spatial_mean(fa**2, w, dims, skipna)
    var_o = spatial_mean(oa**2, w, dims, skipna)
    norm = sqrt(var_f * var_o)
    return {"per_init": cov / norm.where(norm > 0)}, name  # a constant anomaly: no correlation


def _acc_reduce(stats: Stats, pair: AlignedPair, skipna: bool, weighting: str) -> Field:
    out = mean_over_verified(field(stats, "per_init"), pair.verified, skipna)
    order = "anomaly correlation per init time, then mean over init times"
    return finish(out, pair, "acc", weighting, order, units="1")


ACC_PARTS = DeterministicParts(_acc_stats, _acc_reduce)


def score_acc(
    pair: AlignedPair, climatology: Field, weights: Weights = "wb2", skipna: bool = False
) -> Field:
    """:func:`acc` of an aligned pair."""
    return ACC_PARTS(pair, weights, skipna, climatology=climatology)


def _acc_pooled_stats(
    pair: AlignedPair, weights: Weights, skipna: bool = False, climatology: Field | None = None
) -> tuple[Stats, str]:
    """Per init time: counts, plain and weighted sums of the anomalies and their products."""
    if climatology is None:
        raise ValueError("score_acc_pooled_wb1 needs a climatology (see acc_pooled_wb1)")
    w, dims, name = resolve_weights(pair.forecast, weights)
    fa, oa = _anomalies(pair, climatology)
    ok = fa.notnull() & oa.notnull() & pair.verified
    fa, oa = fa.where(ok, 0), oa.where(ok, 0)
    wt = ok if w is None else ok * w
    stats: Stats = {
        "n": ok.sum(dims),
        "sum_f": fa.sum(dims),
        "sum_o": oa.sum(dims),
        "w": wt.sum(dims),
        "w_f": (wt * fa).sum(dims),
        "w_o": (wt * oa).sum(dims),
        "w_fo": (wt * fa * oa).sum(dims),
        "w_ff": (wt * fa**2).sum(dims),
        "w_oo": (wt * oa**2).sum(dims),
    }
    return stats, name


def _acc_pooled_reduce(stats: Stats, pair: AlignedPair, skipna: bool, weighting: str) -> Field:
    """Centred weighted correlation from the pooled sums (means removed algebraically)."""
    total = {k: field(stats, k).sum(INIT_DIM) for k in stats}
    n = total["n"].where(total["n"] > 0)
    mf, mo = total["sum_f"] / n, total["sum_o"] / n
    w, wf, wo = total["w"], total["w_f"], total["w_o"]
    num = total["w_fo"] - mo * wf - mf * wo + mf * mo * w
    var_f = total["w_ff"] - 2 * mf * wf + mf**2 * w
    var_o = total["w_oo"] - 2 * mo * wo + mo**2 * w
    order = "centred correlation over init times and space"
    out = num / np.sqrt(var_f * var_o)
    return finish(out, pair, "acc_pooled_wb1", weighting, order, units="1")


ACC_POOLED_WB1_PARTS = DeterministicParts(_acc_pooled_stats, _acc_pooled_reduce)


def score_acc_pooled_wb1(
    pair: AlignedPair, climatology: Field | None = None, weights: Weights = "wb1"
) -> Field:
    """:func:`acc_pooled_wb1` of an aligned pair (WB1's climatology is the truth's time mean)."""
    if climatology is None:
        raise ValueError("score_acc_pooled_wb1 needs a climatology (see acc_pooled_wb1)")
    return ACC_POOLED_WB1_PARTS(pair, weights, False, climatology=climatology)


def _pair_of(forecast: Field, truth: Field, lead_times, require_full_coverage) -> AlignedPair:
    return align_forecast_truth(
        forecast, truth, lead_times=lead_times, require_full_coverage=require_full_coverage
    )


class PublicMetric(Protocol):
    """A metric of a forecast and a truth (:func:`mse` and the others of its signature)."""

    __name__: str

    def __call__(
        self,
        forecast: Field,
        truth: Field,
        weights: Weights = ...,
        lead_times: Sequence | None = None,
        skipna: bool = False,
        require_full_coverage: bool = False,
    ) -> Field: ...


_PUBLIC_DOC = """{summary}
{notes}
    Parameters
    ----------
    forecast : xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.DataArray or xr.Dataset
        dims (time=valid, [level], spatial...), same grid and units.
    weights : {{"wb2", "wb1", "uniform"}} or xr.DataArray
        Latitude weights (ignored, uniform, on radar y/x grids); default {weights!r}.
    lead_times : sequence of timedelta64, optional
        Lead times to score (default all).
    skipna : bool
        Leave NaN pixels out of the means instead of returning NaN.
    require_full_coverage : bool
        Raise if the truth misses a valid time instead of scoring the verified ones.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), {units}.
    """


def _public_metric(
    score: Callable[[AlignedPair, Weights, bool], Field],
    summary: str,
    weights: str = "wb2",
    units: str = "units of the field",
    notes: str = "",
) -> PublicMetric:
    """The public metric ``forecast, truth -> score(aligned pair)``, named after ``score_<name>``.

    Every public metric without a climatology has the same signature and body; only the score
    of the aligned pair, the default weights and the docstring (``summary``, ``notes``, the
    ``units`` of the result) differ.
    """

    def metric(
        forecast: Field,
        truth: Field,
        weights: Weights = weights,
        lead_times: Sequence | None = None,
        skipna: bool = False,
        require_full_coverage: bool = False,
    ) -> Field:
        pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
        return score(pair, weights, skipna)

    metric.__name__ = metric.__qualname__ = score.__name__.removeprefix("score_")
    metric.__doc__ = _PUBLIC_DOC.format(
        summary=summary, notes=f"\n    {notes}\n" if notes else "", weights=weights, units=units
    )
    return metric


mse = _public_metric(
    score_mse,
    "Mean squared error: weighted spatial mean per init time, then mean over init times.",
    units="units of the field squared",
)
rmse_wb2 = _public_metric(
    score_rmse_wb2,
    "WeatherBench 2 RMSE: ``sqrt(mean_t(mse_t))``, ``mse_t`` the cell-area-weighted spatial MSE.",
)
rmse_sqrt_before_time_mean = _public_metric(
    score_rmse_sqrt_before_time_mean,
    "RMSE per init time, then mean over init times (WB2 ``RMSESqrtBeforeTimeAvg``).",
)
rmse_sqrt_after_time_mean_wb1 = _public_metric(
    score_rmse_sqrt_after_time_mean_wb1,
    "WeatherBench 1 RMSE: ``sqrt(mean_{t,lat,lon}(w e^2))`` with ``w = cos(lat)/mean cos(lat)``.",
    weights="wb1",
    notes="One weighted mean over init times and space together (missing pixels and unverified\n"
    "    init times are left out of that one mean), then the square root.",
)
mae = _public_metric(
    score_mae,
    "Mean absolute error: weighted spatial mean of ``|f - o|`` per init time, then time mean.",
)
bias = _public_metric(
    score_bias,
    "Mean error (forecast minus truth): weighted spatial mean per init time, then time mean.",
    units="units of the field; positive = forecast too high",
)


def acc(
    forecast: Field,
    truth: Field,
    climatology: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """Anomaly correlation (WeatherBench 2): per init time, then mean over init times.

    With anomalies ``f' = f - c`` and ``o' = o - c`` against the climatology ``c`` at the valid
    time's day of year and hour, ``acc_t = <f' o'> / sqrt(<f'^2> <o'^2>)`` with ``<.>`` the weighted
    spatial mean (anomalies are not re-centred).

    Parameters
    ----------
    climatology : xr.DataArray or xr.Dataset
        From :func:`gmgclim.metrics.baselines.compute_climatology` (dims dayofyear, [hour], ...).
    forecast, truth, weights, lead_times, skipna, require_full_coverage
        As in :func:`mse`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), dimensionless in [-1, 1].
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_acc(pair, climatology, weights, skipna)


def acc_pooled_wb1(
    forecast: Field,
    truth: Field,
    climatology: Field | None = None,
    weights: Weights = "wb1",
    lead_times: Sequence | None = None,
    require_full_coverage: bool = False,
) -> Field:
    """Anomaly correlation as WeatherBench 1 computes it: centred, pooled over time and space.

    ``f' = f - c - mean(f - c)``, ``o' = o - c - mean(o - c)`` (unweighted means over init times and
    space), then ``sum(w f' o') / sqrt(sum(w f'^2) sum(w o'^2))`` over init times and space. WB1's
    default climatology is the time mean of the truth it is given (``climatology=None``). NaNs
    are left out.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), dimensionless.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    if climatology is None:
        climatology = truth.mean(INIT_DIM)
    return score_acc_pooled_wb1(pair, climatology, weights)
