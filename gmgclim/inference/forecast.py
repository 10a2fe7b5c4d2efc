"""Roll a trained model over init times and write the forecasts, in memory or streamed to zarr.

A forecast is an ``xr.Dataset`` with dims ``time`` (initialisation), ``prediction_timedelta``
(lead time, ``step * 1 .. step * output_steps``), ``level`` (hPa, only where channels share a
canonical variable at several pressure levels) and the spatial dims of the input data; one float32
variable per canonical variable, de-normalised to physical units with the checkpoint's statistics,
CF attributes from :mod:`gmgclim.lexicon`, and the source checkpoint, its task and its recipe
(JSON) in the global attributes. On disk it is chunked one init time per chunk with whole fields,
the layout WeatherBench-2-style evaluation reads as it is.

This module only orchestrates; the jobs live in their own modules:

- :mod:`gmgclim.inference.forecaster`: the model with its task and statistics, checkpoint loading,
  normalising and running the model;
- :mod:`gmgclim.inference.plan`: input data, init times, windows, output variables, the Dataset;
- :mod:`gmgclim.inference.zarr_writer`: the resumable zarr store writer (also used by the
  extrapolation nowcast), under ``torchrun`` shared between ranks.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.distributed import cleanup_distributed, join_process_group, rank_and_world_size
from gmgclim.inference.forecaster import PRECISIONS, Forecaster
from gmgclim.inference.layout import empty_forecast_array
from gmgclim.inference.loading import load_forecaster
from gmgclim.inference.plan import ForecastPlan, plan_forecast
from gmgclim.inference.zarr_writer import (
    ForecastWriteReport,
    batches_of,
    forecast_store_template,
    stream_to_zarr,
)
from gmgclim.outputs import check_output_path

__all__ = [
    "ForecastWriteReport",
    "Forecaster",
    "forecast",
    "load_forecaster",
    "write_forecast_zarr",
]


def _check_args(batch_size: int, precision: str | None) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")


def _for_data(
    forecaster: Forecaster, dataset: Any, grid: Any, step: Any, probability_matching: str | None
) -> Forecaster:
    """The forecaster applied to another entry / grid / step (see ``Forecaster.for_data``)."""
    entry = dataset if isinstance(dataset, str) else None
    return forecaster.for_data(
        entry=entry, grid=grid, step=step, probability_matching=probability_matching
    )


def _predict(
    forecaster: Forecaster, plan: ForecastPlan, rows: np.ndarray, device: str, precision: str | None
) -> dict[str, np.ndarray]:
    """The forecast variables of the init times at positions ``rows``, in physical units."""
    physical = forecaster.predict(
        plan.read_inputs(rows),
        device,
        precision,
        plan.context_fields(rows),
        init_times=plan.init_times[rows],
    )
    return plan.split_variables(physical)


def forecast(
    model_or_checkpoint: Any,
    dataset: Any = None,
    init_times: Any = None,
    split: Any = None,
    batch_size: int = 8,
    device: str = "cpu",
    precision: str | None = None,
    grid: Any = None,
    step: Any = None,
    probability_matching: str | None = None,
) -> xr.Dataset:
    """Forecast every init time in memory (for small cases; use :func:`write_forecast_zarr` else).

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        See :func:`~gmgclim.inference.loading.load_forecaster`.
    dataset : xr.Dataset or str, optional
        Canonical dataset holding the input channels, or a catalog entry name; by default the
        entry of the model's task.
    init_times : array-like of datetime64, optional
        Init times (the last input frame of each window); by default every init time with a
        complete window in ``split``.
    split : str or (start, end) or slice, optional
        A split name of the task (``"test"``) or time bounds; None: the whole dataset.
    batch_size : int
        Init times per model call.
    device : str
        Torch device.
    precision : {"fp32", "bf16", "fp16"}, optional
        Autocast precision of the model call (None: the checkpoint's); outputs are float32.
    grid : GridSpec or dict, optional
        Grid operations instead of the task's (``{"crop": {"y": [0, 512]}, "coarsen": {...}}``);
        a ``dataset`` that names another entry is read on its native grid by default.
    step : str, optional
        Frame step instead of the task's (feed a 10-minute radar to a 5-minute model on purpose).
    probability_matching : {"none", "cdf"}, optional
        Instead of the task's ``data.probability_matching`` (``cdf``: precipitation takes the
        last input frame's values in the forecast's rank order).

    Returns
    -------
    xr.Dataset
        Dims (time=init, prediction_timedelta, [level], *spatial); float32 variables in physical
        units, one per canonical variable.
    """
    _check_args(batch_size, precision)
    forecaster = _for_data(
        load_forecaster(model_or_checkpoint, device), dataset, grid, step, probability_matching
    )
    plan = plan_forecast(forecaster, dataset, init_times, split)
    n = len(plan.init_times)
    arrays = {v.name: np.empty(plan.var_shape(v, n), np.float32) for v in plan.variables}
    for rows in batches_of(np.arange(n), batch_size):
        for name, value in _predict(forecaster, plan, rows, device, precision).items():
            arrays[name][rows] = value
    return plan.dataset(plan.init_times, arrays)


def write_forecast_zarr(
    model_or_checkpoint: Any,
    dataset: Any = None,
    store: str | os.PathLike = "forecasts.zarr",
    init_times: Any = None,
    split: Any = None,
    batch_size: int = 8,
    device: str = "cpu",
    precision: str | None = None,
    resume: bool = True,
    progress: bool = True,
    grid: Any = None,
    step: Any = None,
    probability_matching: str | None = None,
) -> ForecastWriteReport:
    """Forecast every init time and stream the results into a zarr store, resumably.

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        See :func:`~gmgclim.inference.loading.load_forecaster`.
    dataset : xr.Dataset or str, optional
        Canonical input dataset or catalog entry name (default: the task's entry).
    store : str or path-like
        Zarr store (a local directory, or an fsspec URL).
    init_times, split : optional
        Which init times, as in :func:`forecast`.
    batch_size : int
        Init times per model call and per region write.
    device : str
        Torch device; under torchrun ``"cuda"`` means each rank's ``cuda:LOCAL_RANK``.
    precision : {"fp32", "bf16", "fp16"}, optional
        Autocast precision of the model call (None: the one the checkpoint was trained in).
    resume : bool
        Keep init times already written to an existing store of the same forecast (same init
        times, lead times, variables and model weights; anything else raises). False: start
        the store again.
    progress : bool
        Show a progress bar (rank 0).
    grid, step, probability_matching : optional
        Grid operations, frame step and probability matching instead of the task's, as in
        :func:`forecast`.

    Returns
    -------
    ForecastWriteReport
    """
    _check_args(batch_size, precision)
    # before any model or data is read: never write over what gmgclim did not write
    check_output_path(store, "forecast", "output", overwrite=not resume)
    joined_here = join_process_group()
    rank, world = rank_and_world_size()
    if world > 1 and device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    try:
        forecaster = _for_data(
            load_forecaster(model_or_checkpoint, device), dataset, grid, step, probability_matching
        )
        plan = plan_forecast(forecaster, dataset, init_times, split)
        n = len(plan.init_times)
        empty = {v.name: empty_forecast_array(plan.var_shape(v, n)) for v in plan.variables}
        skeleton = plan.dataset(plan.init_times, empty)
        template, encoding = forecast_store_template(skeleton, forecaster.fingerprint())

        def compute_batch(rows: np.ndarray) -> dict[str, np.ndarray]:
            return _predict(forecaster, plan, rows, device, precision)

        report = stream_to_zarr(
            template, encoding, store, compute_batch, batch_size, resume, progress, "forecast"
        )
        return dataclasses.replace(report, notes=tuple(forecaster.filled_input_lines()))
    finally:
        if joined_here:
            cleanup_distributed()
