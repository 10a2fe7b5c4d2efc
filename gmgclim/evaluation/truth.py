"""The truth of a forecast: the catalogued observations on the forecast's grid and over its period."""

from __future__ import annotations

import numpy as np
import xarray as xr

from gmgclim.conventions import FORECAST_DIMS
from gmgclim.data.catalog import open_entry
from gmgclim.data.task import open_task_data
from gmgclim.errors import GmgclimError
from gmgclim.evaluation.forecast_store import ForecastStore

__all__ = ["open_truth", "truth_period"]

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
    grid and cell order are the forecast's. Without a task (extrapolation nowcasts are on the
    entry's native grid) the entry is opened as it is.

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
    """
    time = truth_period(store.forecast) if time is None else time
    task = store.task
    entry = entry or (task.entry if task is not None else None)
    if not entry:
        raise GmgclimError(
            "the forecast does not say which data it forecast", hint="pass --truth CATALOG_ENTRY"
        )
    if task is None:
        return open_entry(entry, time=time)
    return open_task_data(task.replace(entry=entry), time=time)
