"""The reference forecasts a model is scored against: persistence, climatology, extrapolation.

Persistence and climatology forecasts are built by :func:`gmgclim.metrics.score_with_baselines`;
this module decides *which* climatology (that of the training period, recorded in the store's
task, or of given years, with the WeatherBench 1 time-mean fallback) and makes the optical-flow
extrapolation nowcast through :mod:`gmgclim.inference`'s public functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.config import parse_step
from gmgclim.conventions import FORECAST_DIMS
from gmgclim.data.catalog import open_entry
from gmgclim.data.grid import apply_grid
from gmgclim.data.task import GridSpec
from gmgclim.data.windows import build_windows
from gmgclim.errors import GmgclimError
from gmgclim.evaluation.forecast_store import ForecastStore
from gmgclim.evaluation.truth import open_truth
from gmgclim.evaluation.verdict import BASELINE_NAMES
from gmgclim.metrics import compute_climatology

__all__ = [
    "BASELINES",
    "check_baselines",
    "extrapolation_baseline",
    "training_climatology",
    "write_extrapolation_nowcast",
]

INIT_DIM, LEAD_DIM = FORECAST_DIMS
#: Baselines gmgclim can score a forecast against (the names the verdict lines know).
BASELINES = BASELINE_NAMES


def check_baselines(names: Sequence[str]) -> list[str]:
    """The baseline names, checked against :data:`BASELINES`.

    Raises
    ------
    ValueError
        A name is not a known baseline.
    """
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise ValueError(f"--baselines: unknown {unknown}; choose {', '.join(BASELINES)}")
    return list(names)


def _climatology_period(store: ForecastStore, years: Sequence[int] | None) -> tuple[slice, str]:
    """The time slice the climatology averages, and how to name it in notes."""
    if years:
        label = f"years {min(years)}-{max(years)}"
        return slice(f"{min(years)}-01-01", f"{max(years)}-12-31T23:59"), label
    train = store.task.splits.get("train") if store.task is not None else None
    if not train:
        raise GmgclimError(
            "the climatology needs the training years, which the forecast does not record",
            hint="pass --climatology-years 1979-2015",
        )
    start, end = train
    return slice(str(start), str(pd.Period(str(end)).end_time)), f"training period {start}..{end}"


def training_climatology(
    store: ForecastStore,
    variables: Sequence[str],
    entry: str | None = None,
    years: Sequence[int] | None = None,
    window_days: int | None = None,
) -> tuple[xr.Dataset, str | None]:
    """Day-of-year x hour climatology of the training period (or of ``years``), loaded.

    Falls back to the period's time mean (the WeatherBench 1 climatology) when the period does
    not cover the days of year of the forecast's valid times, as for short samples.

    Parameters
    ----------
    store : ForecastStore
        The forecast; its task's ``train`` split gives the period unless ``years`` is given.
    variables : sequence of str
        Variables to average.
    entry : str, optional
        Catalog entry of the truth; by default the task's.
    years : sequence of int, optional
        Calendar years to average instead of the training period.
    window_days : int, optional
        Odd width of a running mean over day of year (:func:`gmgclim.metrics.compute_climatology`).

    Returns
    -------
    climatology : xr.Dataset
        dims (dayofyear, hour, [level], spatial...), or (spatial...) for the fallback.
    note : str or None
        One line saying that the fallback was used.

    Raises
    ------
    GmgclimError
        No ``years`` and the store records no training split.
    """
    period, label = _climatology_period(store, years)
    truth = open_truth(store, entry, time=period)[list(variables)]
    clim = compute_climatology(truth, years=period, window_days=window_days)
    fc = store.forecast
    valid = (fc[INIT_DIM].values[:, None] + fc[LEAD_DIM].values[None, :]).ravel()
    needed = set(np.unique(pd.DatetimeIndex(valid).day_of_year.values).tolist())
    have = set(clim["dayofyear"].values.tolist()) if "dayofyear" in clim.dims else set()
    note = None
    if not needed <= have:
        note = (
            f"the {label} does not cover the forecast's days of year; using its time mean as "
            "climatology (WeatherBench 1 definition)"
        )
        clim = truth.mean(INIT_DIM, keep_attrs=True)
    return clim.load(), note


def extrapolation_baseline(
    truth: xr.Dataset, forecast: xr.Dataset, variables: Sequence[str]
) -> xr.Dataset:
    """The optical-flow extrapolation nowcast for a forecast's init and lead times.

    Parameters
    ----------
    truth : xr.Dataset
        Observations covering the frames before the first init time (loaded here).
    forecast : xr.Dataset
        Gives the init (``time``) and lead (``prediction_timedelta``) times.
    variables : sequence of str
        Variables to nowcast.

    Returns
    -------
    xr.Dataset
        The forecast layout; NaN for init times whose input frames the truth lacks.
    """
    # imported here: the nowcast writer pulls in torch, which scoring alone does not need
    from gmgclim.inference.extrapolation import extrapolation_forecast

    nowcast = extrapolation_forecast(
        truth.load(), forecast[INIT_DIM].values, forecast[LEAD_DIM].values, missing="nan"
    )
    return nowcast[list(variables)]


def write_extrapolation_nowcast(
    entry: str,
    output: str | Path,
    init_times: Any = None,
    lead_steps: int = 6,
    input_steps: int = 3,
    batch_size: int = 8,
    resume: bool = True,
    progress: bool = True,
    grid: Any = None,
    step: Any = None,
) -> Any:
    """Write the extrapolation nowcast of a catalog entry to a resumable zarr store.

    Parameters
    ----------
    entry : str
        Catalog entry (a radar sequence).
    output : str or Path
        Zarr store.
    init_times : array-like of datetime64, optional
        Init times; by default every time with ``input_steps`` frames before it and
        ``lead_steps`` after it.
    lead_steps, input_steps : int
        Lead times and frames for the motion field, in frames of ``step``.
    batch_size : int
        Init times per write.
    resume, progress : bool
        As in :func:`gmgclim.inference.write_extrapolation_zarr`.
    grid : GridSpec or dict, optional
        Crop and coarsen the entry first (``GridSpec.parse("y=0:256,x=0:256", "y=2,x=2")``);
        None: its native grid.
    step : str or timedelta, optional
        Frame step (``"10min"`` on 5-minute data uses every other frame); None: the entry's
        median time step.

    Returns
    -------
    ForecastWriteReport
        ``store``, ``n_init_times``, ``n_written`` ...
    """
    # the entry's native grid unless cropped or coarsened, longitudes as open_truth gives them
    truth = apply_grid(open_entry(entry), grid)
    times = truth[INIT_DIM].values
    if step is None:
        step = np.timedelta64(int(np.median(np.diff(times).astype(np.int64))), "ns")
    else:
        step = parse_step(step, "--step")
    if init_times is None:
        init_times = build_windows(times, input_steps, lead_steps, step).init_times
    leads = np.arange(1, lead_steps + 1) * step
    from gmgclim.inference.extrapolation import write_extrapolation_zarr

    return write_extrapolation_zarr(
        truth,
        output,
        init_times,
        leads,
        input_steps=input_steps,
        step=step,
        batch_size=batch_size,
        resume=resume,
        progress=progress,
        source={"entry": entry, "grid": _grid_dict(grid)},
    )


def _grid_dict(grid: Any) -> dict[str, Any] | None:
    """The recipe form of a grid (``GridSpec`` or dict); None when it does nothing."""
    spec = grid if isinstance(grid, GridSpec) else GridSpec.from_dict(grid)
    return spec.to_dict() if spec != GridSpec() else None
