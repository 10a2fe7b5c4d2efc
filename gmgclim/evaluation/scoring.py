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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.evaluation.baselines import (
    check_baselines,
    extrapolation_baseline,
    training_climatology,
)
from gmgclim.evaluation.forecast_store import ForecastStore, open_forecast_store
from gmgclim.evaluation.truth import open_truth, truth_period
from gmgclim.metrics import climatology_forecast, score_with_baselines, scores_to_table
from gmgclim.metrics.alignment import select_lead_times

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
    "select_times",
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
    climatology_window_days: int | None = None,
    init_times: Sequence | None = None,
    lead_times: Sequence | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StoreScores:
    """Score a forecast store against its truth, with baselines scored the same way.

    The model and its baselines are scored in one pass over blocks of init times
    (:func:`gmgclim.metrics.score_with_baselines`), so memory stays flat however many init times
    the store holds. A climatology baseline that cannot be formed for the forecast's valid times
    (too little data per day of year and hour) is left out with a note.

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
    climatology_window_days : int, optional
        Odd width of a running mean of the climatology over day of year (default none).
    init_times : sequence of datetime64 or str, optional
        Score only these init times of the store (default all written ones).
    lead_times : sequence of timedelta64 or str, optional
        Score only these lead times (e.g. ``["30min", "1h"]``).
    progress : callable, optional
        ``progress(init_times_done, init_times_total)``, called after each block.

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
    fc = select_times(store.forecast[variables], init_times, lead_times)
    radar = is_radar(fc)
    metric_names = list(metrics) if metrics else default_metrics(radar)
    if thresholds is None:
        thresholds = default_thresholds(variables, radar)
    before = max(store.input_steps, _MIN_FRAMES_BEFORE)
    truth_ds = open_truth(store, truth, time=truth_period(fc, before_steps=before))[variables]
    clim = None
    if "climatology" in names or ("acc" in metric_names and convention == "wb2"):
        clim, clim_note = training_climatology(
            store, variables, truth, climatology_years, window_days=climatology_window_days
        )
        notes += [clim_note] if clim_note else []
        try:  # a climatology with too few data per day and hour cannot forecast every valid time
            climatology_forecast(clim, fc[INIT_DIM].values, fc[LEAD_DIM].values)
        except DataError as err:
            clim = None
            names = [b for b in names if b != "climatology"]
            dropped = [m for m in metric_names if m == "acc" and convention == "wb2"]
            metric_names = [m for m in metric_names if m not in dropped]
            left_out = " and ".join(["the climatology baseline", *(f"'{m}'" for m in dropped)])
            notes.append(f"{left_out} left out: {err}")
    options = dict(
        metrics=metric_names,
        convention=convention,
        thresholds=thresholds,
        scales=list(scales) if scales else None,
        skipna=True,  # NaN-aware everywhere: missing cells are skipped and counted
    )
    extra = {}
    if "extrapolation" in names:
        loaded = truth_ds.load()  # the nowcast of each block reads the frames before its inits
        extra["extrapolation"] = partial(extrapolation_block, loaded, fc[LEAD_DIM].values)
    scores = score_with_baselines(
        fc,
        truth_ds,
        baselines=[b for b in names if b != "extrapolation"],
        climatology=clim,
        model_name=store.model_name,
        extra=extra,
        progress=progress,
        **options,
    )
    scores.attrs.update(forecast=store.path, truth=str(truth or ""), baselines=",".join(names))
    notes += missing_cell_notes(scores)
    return StoreScores(scores=scores, table=scores_to_table(scores), notes=notes)


#: Share of the truth's cells a forecast may miss (NaN/inf) before the note becomes a warning.
MISSING_WARNING_SHARE = 0.01


def missing_cell_notes(scores: xr.Dataset) -> list[str]:
    """One line per model and variable whose forecast skipped cells where the truth has values.

    Parameters
    ----------
    scores : xr.Dataset
        From ``score_with_baselines`` (``<var>_n_cells`` variables, dims ([model], cells, lead)).

    Returns
    -------
    list of str
        Starting ``"warning: "`` above :data:`MISSING_WARNING_SHARE` of the truth's cells (the
        CLI prints the others as notes); nothing for complete forecasts.
    """
    lines = []
    for da in scores.data_vars.values():
        if da.attrs.get("score_kind") != "n_cells":
            continue
        totals = da.sum(LEAD_DIM)
        models = totals["model"].values.tolist() if "model" in totals.dims else [None]
        for model in models:
            pick = totals if model is None else totals.sel(model=model)
            missing, cells = int(pick.sel(cells="missing")), int(pick.sel(cells="truth"))
            if missing == 0:
                continue
            share = missing / max(cells, 1)
            kind = "warning: " if share > MISSING_WARNING_SHARE else ""
            who = f"{model} " if model is not None else ""
            lines.append(
                f"{kind}{who}{da.attrs['variable']}: {missing:,} of {cells:,} cells with a "
                f"truth value ({share:.2%}) are NaN/inf in the forecast; the scores skip them"
            )
    return lines


def select_times(
    forecast: xr.Dataset, init_times: Sequence | None = None, lead_times: Sequence | None = None
) -> xr.Dataset:
    """The forecast at some of its init and lead times, with an error naming any it lacks.

    Parameters
    ----------
    forecast : xr.Dataset
        dims (time=init, prediction_timedelta, ...).
    init_times : sequence of datetime64 or str, optional
        Init times to keep (default all).
    lead_times : sequence of timedelta64 or str, optional
        Lead times to keep (``"30min"``, ``"6h"``, timedelta64; default all).

    Returns
    -------
    xr.Dataset
        ``forecast`` at only those init and lead times.

    Raises
    ------
    DataError
        An init or lead time the forecast does not have.
    """
    if init_times is not None and len(init_times):
        wanted = pd.DatetimeIndex(pd.to_datetime(list(init_times))).values.astype("datetime64[ns]")
        missing = np.setdiff1d(wanted, forecast[INIT_DIM].values)
        if missing.size:
            have = forecast[INIT_DIM].values
            raise DataError(
                f"--init-times: {[str(t) for t in missing[:3]]} not in the forecast, whose "
                f"{have.size} init times run from {have.min()} to {have.max()}"
            )
        forecast = forecast.sel({INIT_DIM: wanted})
    if lead_times is not None and len(lead_times):
        wanted = pd.to_timedelta(list(lead_times)).values.astype("timedelta64[ns]")
        forecast = select_lead_times(forecast, wanted)
    return forecast


def extrapolation_block(
    truth: xr.Dataset, lead_times: np.ndarray, init_times: np.ndarray
) -> xr.Dataset:
    """The extrapolation nowcast of some init times (a per-block baseline for the scorer)."""
    return extrapolation_baseline(
        truth,
        xr.Dataset(coords={INIT_DIM: init_times, LEAD_DIM: lead_times}),
        [str(v) for v in truth.data_vars],
    )


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
