"""Forecast verification on xarray (never torch): WeatherBench-style scores and baselines.

Forecasts have dims (time=init, prediction_timedelta, [level], spatial...); truths are on valid time.
Every score is per lead time, per variable and level, lazy with dask inputs. Each metric is one
function, listed by name in :data:`METRICS` (``gmgclim.metrics.registry``).

Modules: ``alignment`` (truth on the forecast's init and lead times), ``weights`` (latitude/area
weights from cell bounds), ``deterministic`` (rmse, mse, mae, bias, acc), ``categorical``
(contingency scores, fss), ``registry`` (name -> metric), ``score`` (all metrics of all variables
into one Dataset, read in blocks), ``assembly`` (that Dataset put together), ``score_tables``
(single scores and tables from it), ``blocks`` (init-time blocks), ``baselines`` (persistence,
climatology).
"""

from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth
from gmgclim.metrics.baselines import (
    climatology_forecast,
    compute_climatology,
    persistence_forecast,
)
from gmgclim.metrics.categorical import contingency_table, csi, ets, far, fss, pod
from gmgclim.metrics.deterministic import (
    acc,
    acc_pooled_wb1,
    bias,
    mae,
    mse,
    rmse_sqrt_after_time_mean_wb1,
    rmse_sqrt_before_time_mean,
    rmse_wb2,
)
from gmgclim.metrics.registry import METRICS, Metric, resolve_metric
from gmgclim.metrics.score import score_forecast, score_with_baselines
from gmgclim.metrics.score_tables import iter_scores, scores_to_table, select_score
from gmgclim.metrics.weights import cell_area_weights, latitude_cell_bounds, latitude_weights_wb1

__all__ = [
    "METRICS",
    "AlignedPair",
    "Metric",
    "acc",
    "acc_pooled_wb1",
    "align_forecast_truth",
    "bias",
    "cell_area_weights",
    "climatology_forecast",
    "compute_climatology",
    "contingency_table",
    "csi",
    "ets",
    "far",
    "fss",
    "iter_scores",
    "latitude_cell_bounds",
    "latitude_weights_wb1",
    "mae",
    "mse",
    "persistence_forecast",
    "pod",
    "resolve_metric",
    "rmse_sqrt_after_time_mean_wb1",
    "rmse_sqrt_before_time_mean",
    "rmse_wb2",
    "score_forecast",
    "score_with_baselines",
    "scores_to_table",
    "select_score",
]
