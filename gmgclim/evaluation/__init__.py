"""Evaluation of forecast stores: what ``gmgclim score`` and ``gmgclim plot`` decide, as a library.

- :mod:`~gmgclim.evaluation.forecast_store`: open a store, its written init times and its task.
- :mod:`~gmgclim.evaluation.truth`: the truth on the forecast's grid and over its period.
- :mod:`~gmgclim.evaluation.baselines`: which baselines, the training-period climatology, the
  extrapolation nowcast.
- :mod:`~gmgclim.evaluation.scoring`: metric defaults and :func:`score_store`.
- :mod:`~gmgclim.evaluation.cluster`: an optional dask.distributed client.

In a notebook::

    from gmgclim.evaluation import score_store, write_scores

    result = score_store("forecasts.zarr", baselines=["persistence", "climatology"])
    write_scores(result, "scores.nc")  # and scores.csv
"""

from gmgclim.evaluation.baselines import (
    BASELINES,
    check_baselines,
    extrapolation_baseline,
    training_climatology,
    write_extrapolation_nowcast,
)
from gmgclim.evaluation.cluster import dask_client
from gmgclim.evaluation.forecast_store import (
    ForecastStore,
    forecast_variables,
    open_forecast_store,
    task_from_attrs,
)
from gmgclim.evaluation.scoring import (
    RADAR_THRESHOLDS,
    StoreScores,
    default_metrics,
    default_thresholds,
    is_radar,
    score_store,
    write_scores,
)
from gmgclim.evaluation.truth import open_truth, truth_like, truth_period, write_truth_like

__all__ = [
    "BASELINES",
    "RADAR_THRESHOLDS",
    "ForecastStore",
    "StoreScores",
    "check_baselines",
    "dask_client",
    "default_metrics",
    "default_thresholds",
    "extrapolation_baseline",
    "forecast_variables",
    "is_radar",
    "open_forecast_store",
    "open_truth",
    "score_store",
    "task_from_attrs",
    "training_climatology",
    "truth_like",
    "truth_period",
    "write_extrapolation_nowcast",
    "write_scores",
    "write_truth_like",
]
