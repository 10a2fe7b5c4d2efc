"""Score a forecast store: truth, baselines and metric defaults decided in one place.

:func:`score_store` is what ``gmgclim score`` does, callable from a notebook: open the store with
only its written init times, open the truth on the forecast's grid, build the baselines, score
everything the same way with :func:`gmgclim.metrics.score_with_baselines`, and flatten the scores
with :func:`gmgclim.metrics.scores_to_table`.

Defaults: gridded forecasts get ``rmse, mae, bias, acc``; radar forecasts (dims ``y``, ``x`` or a
radar variable) get the categorical scores and FSS as well, at the thresholds of
:data:`RADAR_THRESHOLDS`, with NaN (outside radar coverage) skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from gmgclim.evaluation.baselines import (
    check_baselines,
    extrapolation_baseline,
    training_climatology,
)
from gmgclim.evaluation.forecast_store import ForecastStore, open_forecast_store
from gmgclim.evaluation.truth import open_truth, truth_period
from gmgclim.metrics import score_forecast, score_with_baselines, scores_to_table

__all__ = [
    "CONVENTIONS",
    "GRIDDED_METRICS",
    "RADAR_METRICS",
    "RADAR_THRESHOLDS",
    "StoreScores",
    "default_metrics",
    "default_thresholds",
    "is_radar",
    "score_store",
    "write_scores",
]

#: Event thresholds (data units) of the radar variables: rain rates in mm/h, reflectivity in dBZ.
RADAR_THRESHOLDS: dict[str, list[float]] = {
    "precipitation_rate": [0.5, 1.0, 5.0],
    "reflectivity": [20.0, 35.0],
}
#: Threshold of radar variables not in :data:`RADAR_THRESHOLDS`.
RADAR_DEFAULT_THRESHOLD = 0.5
GRIDDED_METRICS = ("rmse", "mae", "bias", "acc")
RADAR_METRICS = ("rmse", "mae", "bias", "csi", "pod", "far", "ets", "fss")
CONVENTIONS = ("wb1", "wb2")
# Frames before the first init time that the truth must hold (persistence, extrapolation input).
_MIN_FRAMES_BEFORE = 3


@dataclass(frozen=True)
class StoreScores:
    """The scores of a forecast store and its baselines.

    Attributes
    ----------
    scores : xr.Dataset
        :func:`gmgclim.metrics.score_with_baselines` layout, a ``model`` dim (the store's model,
        then the baselines in the order asked), attributes ``forecast``, ``truth``, ``baselines``.
    table : pandas.DataFrame
        :func:`gmgclim.metrics.scores_to_table` of ``scores``: one row per score.
    notes : list of str
        One-line notes for the user (partial store, climatology fallback).
    """

    scores: xr.Dataset
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def is_radar(forecast: xr.Dataset) -> bool:
    """True for a radar forecast: projected dims ``y``/``x`` or a radar variable."""
    return bool({"y", "x"} & set(forecast.dims)) or any(v in RADAR_THRESHOLDS for v in forecast)


def default_metrics(radar: bool) -> list[str]:
    """Metrics scored when none are asked for."""
    return list(RADAR_METRICS if radar else GRIDDED_METRICS)


def default_thresholds(variables: Sequence[str], radar: bool) -> dict[str, list[float]] | None:
    """Per-variable event thresholds for radar forecasts (None for gridded ones)."""
    if not radar:
        return None
    return {v: RADAR_THRESHOLDS.get(v, [RADAR_DEFAULT_THRESHOLD]) for v in variables}


def score_store(
    forecast: str | Path | ForecastStore,
    truth: str | None = None,
    baselines: Sequence[str] = (),
    convention: str = "wb2",
    metrics: Sequence[str] | None = None,
    thresholds: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    scales: Sequence[int] | None = None,
    climatology_years: Sequence[int] | None = None,
) -> StoreScores:
    """Score a forecast store against its truth, with baselines scored the same way.

    Parameters
    ----------
    forecast : str, Path or ForecastStore
        A store written by ``gmgclim forecast`` (only its written init times are scored).
    truth : str, optional
        Catalog entry of the truth; by default the entry of the store's task.
    baselines : sequence of {"persistence", "climatology", "extrapolation"}
    convention : {"wb2", "wb1"}
        WeatherBench 2 (cell-area weights, sqrt after the time mean of MSE) or WeatherBench 1.
    metrics : sequence of str, optional
        Default :func:`default_metrics`.
    thresholds : sequence of float or mapping, optional
        Event thresholds in data units; default :func:`default_thresholds`.
    scales : sequence of int, optional
        FSS window widths in pixels.
    climatology_years : sequence of int, optional
        Years of the climatology (baseline and ACC); default the store's training split.

    Returns
    -------
    StoreScores

    Raises
    ------
    ValueError
        Unknown baseline or convention.
    GmgclimError
        The store is empty, names no truth, or records no training split when one is needed.
    """
    names = check_baselines(baselines)
    if convention not in CONVENTIONS:
        raise ValueError(f"--convention must be wb1 or wb2, got {convention!r}")
    store = forecast if isinstance(forecast, ForecastStore) else open_forecast_store(forecast)
    notes = [note] if (note := store.partial_note("scoring")) else []
    variables = store.variables
    fc = store.forecast[variables]
    radar = is_radar(fc)
    metric_names = list(metrics) if metrics else default_metrics(radar)
    if thresholds is None:
        thresholds = default_thresholds(variables, radar)
    before = max(store.input_steps, _MIN_FRAMES_BEFORE)
    truth_ds = open_truth(store, truth, time=truth_period(fc, before_steps=before))[variables]
    clim = None
    if "climatology" in names or ("acc" in metric_names and convention == "wb2"):
        clim, clim_note = training_climatology(store, variables, truth, climatology_years)
        notes += [clim_note] if clim_note else []
    options = dict(
        metrics=metric_names,
        convention=convention,
        thresholds=thresholds,
        scales=list(scales) if scales else None,
        skipna=radar,
    )
    scores = score_with_baselines(
        fc,
        truth_ds,
        baselines=[b for b in names if b != "extrapolation"],
        climatology=clim,
        model_name=store.model_name,
        **options,
    )
    if "extrapolation" in names:
        nowcast = extrapolation_baseline(truth_ds, fc, variables)
        extra = score_forecast(nowcast, truth_ds, climatology=clim, **options)
        label = xr.DataArray(["extrapolation"], dims=("model",), name="model")
        scores = xr.concat(
            [scores, extra.expand_dims(model=label)], dim="model", combine_attrs="override"
        )
    scores.attrs.update(forecast=store.path, truth=str(truth or ""), baselines=",".join(names))
    return StoreScores(scores=scores, table=scores_to_table(scores), notes=notes)


def write_scores(
    result: StoreScores, output: str | Path, csv: str | Path | None = None
) -> tuple[Path, Path]:
    """Write the scores as netCDF and the table as CSV.

    Parameters
    ----------
    result : StoreScores
    output : str or Path
        netCDF path (its folder is created).
    csv : str or Path, optional
        CSV path; default ``output`` with the suffix ``.csv``.

    Returns
    -------
    tuple of Path
        The netCDF and CSV paths.
    """
    nc_path = Path(output)
    nc_path.parent.mkdir(parents=True, exist_ok=True)
    result.scores.to_netcdf(nc_path)
    csv_path = Path(csv) if csv else nc_path.with_suffix(".csv")
    result.table.to_csv(csv_path, index=False)
    return nc_path, csv_path
