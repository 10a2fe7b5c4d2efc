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

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth
from gmgclim.metrics.baselines import climatology_forecast
from gmgclim.metrics.weights import resolve_weights

Field = xr.DataArray | xr.Dataset
Weights = str | xr.DataArray

_PER_INIT = "spatial mean per init time, then mean over init times"


def _spatial_sums(
    field: Field, weights: xr.DataArray | None, dims: tuple, skipna: bool
) -> tuple[Field, Field | float]:
    """Weighted sum of ``field`` over ``dims`` and the sum of weights it used."""
    if skipna:
        valid = field.notnull()
        filled = field.fillna(0)
        if weights is None:
            return filled.sum(dims), valid.sum(dims)
        return (filled * weights).sum(dims), (valid * weights).sum(dims)
    n_points = float(np.prod([field.sizes[d] for d in dims]))
    if weights is None:
        return field.sum(dims, skipna=False), n_points
    other = n_points / weights.size
    return (field * weights).sum(dims, skipna=False), float(weights.sum()) * other


def _spatial_mean(field: Field, weights, dims, skipna: bool) -> Field:
    num, den = _spatial_sums(field, weights, dims, skipna)
    if isinstance(den, float):
        return num / den
    return num / den.where(den > 0)


def _mean_over_verified(per_init: Field, verified: xr.DataArray, skipna: bool) -> Field:
    """Mean over init times of the verified cases (and, with skipna, of non-NaN values)."""
    ok = per_init.notnull() & verified if skipna else verified
    total = per_init.where(ok, 0).sum(INIT_DIM, skipna=False)
    count = ok.sum(INIT_DIM)
    return total / count.where(count > 0)


def _pooled_mean(num: Field, den: Field | float, verified: xr.DataArray) -> Field:
    """sum_t(num) / sum_t(den) over verified init times (a mean over time and space together)."""
    total = num.where(verified, 0).sum(INIT_DIM, skipna=False)
    if isinstance(den, float):
        weight_total = den * verified.sum(INIT_DIM)
    else:
        weight_total = den.where(verified, 0).sum(INIT_DIM)
    return total / weight_total.where(weight_total > 0)


def _finish(
    result: Field,
    pair: AlignedPair,
    metric: str,
    weighting: str,
    order: str,
    units: Callable[[str], str] | str | None = None,
) -> Field:
    """Attach ``n_verified`` and the metric/weighting/averaging/units attributes."""
    result = result.assign_coords(n_verified=pair.n_verified)
    attrs = {"metric": metric, "weighting": weighting, "averaging": order}

    def _units(source: xr.DataArray) -> dict[str, str]:
        if isinstance(units, str):
            return {"units": units}
        field_units = source.attrs.get("units")
        if not field_units:
            return {}
        return {"units": units(field_units) if units else field_units}

    if isinstance(result, xr.Dataset):
        for name in result.data_vars:
            result[name].attrs = dict(attrs, **_units(pair.forecast[name]))
        result.attrs = attrs
    else:
        result.attrs = dict(attrs, **_units(pair.forecast))
    return result


def _error_score(
    pair: AlignedPair,
    weights: Weights,
    skipna: bool,
    metric: str,
    error: Callable[[Field], Field],
    sqrt_per_init: bool = False,
    sqrt_after: bool = False,
    order: str = _PER_INIT,
    units: Callable[[str], str] | None = None,
) -> Field:
    """Weighted spatial mean of ``error(f - o)`` per init time, then the mean over init times."""
    w, dims, name = resolve_weights(pair.forecast, weights)
    per_init = _spatial_mean(error(pair.forecast - pair.truth), w, dims, skipna)
    if sqrt_per_init:
        per_init = np.sqrt(per_init)
    out = _mean_over_verified(per_init, pair.verified, skipna)
    if sqrt_after:
        out = np.sqrt(out)
    return _finish(out, pair, metric, name, order, units)


def score_mse(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`mse` of an aligned pair."""
    return _error_score(pair, weights, skipna, "mse", np.square, units=lambda u: f"({u})2")


def score_rmse_wb2(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`rmse_wb2` of an aligned pair."""
    order = "spatial MSE per init time, mean over init times, then sqrt"
    return _error_score(pair, weights, skipna, "rmse_wb2", np.square, sqrt_after=True, order=order)


def score_rmse_sqrt_before_time_mean(
    pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False
) -> Field:
    """:func:`rmse_sqrt_before_time_mean` of an aligned pair."""
    order = "spatial MSE per init time, sqrt, then mean over init times"
    metric = "rmse_sqrt_before_time_mean"
    return _error_score(pair, weights, skipna, metric, np.square, sqrt_per_init=True, order=order)


def score_mae(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`mae` of an aligned pair."""
    return _error_score(pair, weights, skipna, "mae", abs)


def score_bias(pair: AlignedPair, weights: Weights = "wb2", skipna: bool = False) -> Field:
    """:func:`bias` of an aligned pair."""
    return _error_score(pair, weights, skipna, "bias", lambda e: e)


def score_rmse_sqrt_after_time_mean_wb1(
    pair: AlignedPair, weights: Weights = "wb1", skipna: bool = False
) -> Field:
    """:func:`rmse_sqrt_after_time_mean_wb1` of an aligned pair."""
    w, dims, name = resolve_weights(pair.forecast, weights)
    num, den = _spatial_sums((pair.forecast - pair.truth) ** 2, w, dims, skipna)
    out = np.sqrt(_pooled_mean(num, den, pair.verified))
    order = "weighted mean over init times and space together, then sqrt"
    return _finish(out, pair, "rmse_sqrt_after_time_mean_wb1", name, order)


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


def score_acc(
    pair: AlignedPair, climatology: Field, weights: Weights = "wb2", skipna: bool = False
) -> Field:
    """:func:`acc` of an aligned pair."""
    w, dims, name = resolve_weights(pair.forecast, weights)
    fa, oa = _anomalies(pair, climatology)
    if skipna:
        both = fa.notnull() & oa.notnull()
        fa, oa = fa.where(both), oa.where(both)
    cov = _spatial_mean(fa * oa, w, dims, skipna)
    var_f = _spatial_mean(fa**2, w, dims, skipna)
    var_o = _spatial_mean(oa**2, w, dims, skipna)
    norm = np.sqrt(var_f * var_o)
    per_init = cov / norm.where(norm > 0)  # a constant anomaly field has no correlation
    out = _mean_over_verified(per_init, pair.verified, skipna)
    order = "anomaly correlation per init time, then mean over init times"
    return _finish(out, pair, "acc", name, order, units="1")


def score_acc_pooled_wb1(
    pair: AlignedPair, climatology: Field | None = None, weights: Weights = "wb1"
) -> Field:
    """:func:`acc_pooled_wb1` of an aligned pair (WB1's climatology is the truth's time mean)."""
    if climatology is None:
        raise ValueError("score_acc_pooled_wb1 needs a climatology (see acc_pooled_wb1)")
    w, dims, name = resolve_weights(pair.forecast, weights)
    fa, oa = _anomalies(pair, climatology)
    ok = fa.notnull() & oa.notnull() & pair.verified
    fa, oa = fa.where(ok), oa.where(ok)
    mean_dims = (INIT_DIM, *dims)
    fa = fa - fa.mean(mean_dims)
    oa = oa - oa.mean(mean_dims)
    wt = 1.0 if w is None else w
    num = (wt * fa * oa).sum(mean_dims)
    den = np.sqrt((wt * fa**2).sum(mean_dims) * (wt * oa**2).sum(mean_dims))
    order = "centred correlation over init times and space"
    return _finish(num / den, pair, "acc_pooled_wb1", name, order, units="1")


def _pair_of(forecast: Field, truth: Field, lead_times, require_full_coverage) -> AlignedPair:
    return align_forecast_truth(
        forecast, truth, lead_times=lead_times, require_full_coverage=require_full_coverage
    )


def mse(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """Mean squared error: weighted spatial mean per init time, then mean over init times.

    Parameters
    ----------
    forecast : xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.DataArray or xr.Dataset
        dims (time=valid, [level], spatial...), same grid and units.
    weights : {"wb2", "wb1", "uniform"} or xr.DataArray
        Latitude weights (ignored, uniform, on radar y/x grids).
    lead_times : sequence of timedelta64, optional
        Lead times to score (default all).
    skipna : bool
        Leave NaN pixels out of the means instead of returning NaN.
    require_full_coverage : bool
        Raise if the truth misses a valid time instead of scoring the verified ones.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field squared.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_mse(pair, weights, skipna)


def rmse_wb2(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """WeatherBench 2 RMSE: ``sqrt(mean_t(mse_t))``, ``mse_t`` the cell-area-weighted spatial MSE.

    Parameters are those of :func:`mse`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_rmse_wb2(pair, weights, skipna)


def rmse_sqrt_before_time_mean(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """RMSE per init time, then mean over init times (WB2 ``RMSESqrtBeforeTimeAvg``).

    Parameters are those of :func:`mse`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_rmse_sqrt_before_time_mean(pair, weights, skipna)


def rmse_sqrt_after_time_mean_wb1(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb1",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """WeatherBench 1 RMSE: ``sqrt(mean_{t,lat,lon}(w e^2))`` with ``w = cos(lat)/mean cos(lat)``.

    One weighted mean over init times and space together (missing pixels and unverified init
    times are left out of that one mean), then the square root. Parameters are those of
    :func:`mse`, with WeatherBench 1 weights by default.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_rmse_sqrt_after_time_mean_wb1(pair, weights, skipna)


def mae(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """Mean absolute error: weighted spatial mean of ``|f - o|`` per init time, then time mean.

    Parameters are those of :func:`mse`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_mae(pair, weights, skipna)


def bias(
    forecast: Field,
    truth: Field,
    weights: Weights = "wb2",
    lead_times: Sequence | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
) -> Field:
    """Mean error (forecast minus truth): weighted spatial mean per init time, then time mean.

    Parameters are those of :func:`mse`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (prediction_timedelta, [level]), units of the field; positive = forecast too high.
    """
    pair = _pair_of(forecast, truth, lead_times, require_full_coverage)
    return score_bias(pair, weights, skipna)


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
