"""The truth of a forecast: the catalogued observations on the forecast's grid and over its period."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from gmgclim.conventions import FORECAST_DIMS
from gmgclim.data.catalog import open_entry
from gmgclim.data.grid import apply_grid
from gmgclim.data.task import open_task_data
from gmgclim.errors import DataError, GmgclimError
from gmgclim.evaluation.forecast_store import ForecastStore, open_forecast_store

__all__ = ["open_truth", "truth_like", "truth_period", "write_truth_like"]

INIT_DIM, LEAD_DIM = FORECAST_DIMS


def truth_period(forecast: xr.Dataset, before_steps: int = 0) -> slice:
    """The valid times a forecast needs from its truth, as an inclusive time slice.

    Parameters
    ----------
    forecast : xr.Dataset
        Dims ``time`` (init) and ``prediction_timedelta``.
    before_steps : int
        Frames (of the shortest lead time) to add before the first init time, for baselines that
        read the frames before an init time (persistence, extrapolation).

    Returns
    -------
    slice
        ``slice(first init - before_steps * shortest lead, last init + longest lead)``, ISO labels.
    """
    inits = forecast[INIT_DIM].values
    leads = forecast[LEAD_DIM].values
    step = np.timedelta64(0, "ns")
    if leads.size and before_steps:
        step = leads.min()
    return slice(str(inits.min() - before_steps * step), str(inits.max() + leads.max()))


def open_truth(
    store: ForecastStore, entry: str | None = None, time: slice | None = None
) -> xr.Dataset:
    """Open the truth of a forecast store, lazily, on the forecast's grid.

    The store's task (channels, regrid, crop, coarsen) is applied as in training, so the truth's
    grid and cell order are the forecast's. Without a task (extrapolation nowcasts) the entry is
    opened with the grid operations the store records (``forecast_grid``), else as it is.

    Parameters
    ----------
    store : ForecastStore
    entry : str, optional
        Catalog entry; by default the task's.
    time : slice, optional
        Valid times to open; by default :func:`truth_period` of the forecast.

    Returns
    -------
    xr.Dataset
        Canonical dataset on valid time.

    Raises
    ------
    GmgclimError
        Neither ``entry`` nor the store names the data.
    DataError
        The truth lacks a forecast variable (one line naming the store, the entry and both lists).
    """
    time = truth_period(store.forecast) if time is None else time
    task = store.task
    attrs = store.forecast.attrs
    entry = entry or (task.entry if task is not None else attrs.get("forecast_entry"))
    if not entry:
        raise GmgclimError(
            f"{store.path}: the forecast does not say which data it forecast",
            hint="pass --truth CATALOG_ENTRY",
        )
    if task is None:
        # the recorded grid (or the native one), with longitudes as every gmgclim store has them
        grid = json.loads(attrs.get("forecast_grid") or "null")
        truth = apply_grid(open_entry(entry, time=time), grid)
    else:
        truth = open_task_data(task.replace(entry=entry), time=time)
    _check_variables(store, truth, entry)
    return truth


def _check_variables(store: ForecastStore, truth: xr.Dataset, entry: str) -> None:
    """Raise a one-line DataError when the truth lacks one of the store's forecast variables."""
    missing = [v for v in store.variables if v not in truth.data_vars]
    if missing:
        raise DataError(
            f"{store.path}: forecast variables {missing} are not in the truth {entry!r}, which "
            f"has {sorted(map(str, truth.data_vars))}",
            hint="pass the catalog entry the forecast was made from with --truth",
        )


def truth_like(store: ForecastStore, entry: str | None = None) -> tuple[xr.Dataset, int]:
    """The truth of a forecast on its grid and at its valid times, ready to be written.

    Parameters
    ----------
    store : ForecastStore
    entry : str, optional
        Catalog entry; by default the store's.

    Returns
    -------
    truth : xr.Dataset
        Lazy; dims (time=valid, [level], spatial...): the forecast's variables (and grid mapping
        and 2-D latitude/longitude where the forecast has them) at every ``init + lead`` of the
        written init times that the entry covers, with the forecast's spatial coordinates.
    n_missing : int
        Valid times of the forecast that the entry does not cover (left out).

    Raises
    ------
    DataError
        The grids differ (one line naming the coordinate), or no valid time is covered.
    """
    from gmgclim.metrics.alignment import on_forecast_grid

    fc = store.forecast
    truth = open_truth(store, entry)
    variables = store.variables  # open_truth checked that the truth has them all
    mappings = {
        str(fc[v].attrs["grid_mapping"])
        for v in variables
        if fc[v].attrs.get("grid_mapping") in truth.variables
    }
    truth = truth[[*variables, *sorted(mappings)]]
    valid = np.unique(
        (fc[INIT_DIM].values[:, None] + fc[LEAD_DIM].values[None, :]).astype("datetime64[ns]")
    )
    have = truth[INIT_DIM].values.astype("datetime64[ns]")
    covered = valid[np.isin(valid, have)]
    if covered.size == 0:
        raise DataError(
            f"the truth covers {have.min() if have.size else '-'} .. "
            f"{have.max() if have.size else '-'} but none of the forecast's valid times "
            f"({valid.min()} .. {valid.max()})"
        )
    truth = truth.sel({INIT_DIM: covered})
    # the grid check reads coordinates only: one (lazy) field of the forecast is enough
    truth = on_forecast_grid(fc[variables].isel({INIT_DIM: [0], LEAD_DIM: [0]}), truth)
    for name, coord in fc.coords.items():  # 2-D latitude/longitude of projected grids
        if coord.ndim == 2 and name not in truth.coords and set(coord.dims) <= set(truth.dims):
            truth = truth.assign_coords({name: coord.variable})
    truth.attrs = {
        **truth.attrs,
        "gmgclim_truth_of": store.path,
        "comment": "truth on the forecast's grid at its valid times (gmgclim data prepare --like)",
    }
    return truth, int(valid.size - covered.size)


def write_truth_like(
    forecast: str | Path,
    output: str | Path,
    entry: str | None = None,
    time_chunk: int = 48,
    progress: bool = False,
) -> tuple[Path, xr.Dataset, int]:
    """Write the truth of a forecast store on its grid and valid times (zarr v2, consolidated).

    The pair (forecast store, this truth) reads as it is in WeatherBench-2-style tools: the same
    grid and coordinate values, the truth on ``time`` = ``init + lead``.

    Parameters
    ----------
    forecast : str or Path
        A forecast zarr store written by gmgclim.
    output : str or Path
        The truth store (a new path, an empty directory or a store gmgclim prepared).
    entry : str, optional
        Catalog entry of the truth; by default the store's.
    time_chunk : int
        Time steps per zarr chunk.
    progress : bool
        A progress bar over the dask tasks of the write.

    Returns
    -------
    path : Path
    truth : xr.Dataset
        What was written (lazy).
    n_missing : int
        Valid times the entry does not cover.
    """
    from gmgclim.data.gridded import prepare_zarr

    store = open_forecast_store(forecast)
    truth, n_missing = truth_like(store, entry)
    path = prepare_zarr(truth, output, time_chunk=time_chunk, progress=progress)
    return path, truth, n_missing
