"""The layout every gmgclim forecast shares: dim names, init/lead coordinates, lazy empty arrays.

A forecast has dims ``time`` (initialisation), ``prediction_timedelta`` (lead time), optionally
``level`` (hPa), then the spatial dims of its input data (WeatherBench 2 names; ``INIT_DIM`` and
``LEAD_DIM`` come from :mod:`gmgclim.conventions`). Model forecasts (:mod:`gmgclim.inference.plan`)
and extrapolation nowcasts (:mod:`gmgclim.inference.extrapolation`) both build their datasets from
these pieces, so the zarr writer and the scorer see one layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM

__all__ = ["LEVEL_DIM", "empty_forecast_array", "forecast_time_coords"]

#: Pressure level dim (hPa) of variables forecast at several levels.
LEVEL_DIM = "level"


def forecast_time_coords(init_times: np.ndarray, lead_times: np.ndarray) -> dict[str, xr.Variable]:
    """The ``time`` (init) and ``prediction_timedelta`` (lead) coordinates with CF attributes.

    Parameters
    ----------
    init_times : np.ndarray, shape (n_init,)
        Initialisation times, ``datetime64[ns]``.
    lead_times : np.ndarray, shape (n_lead,)
        Lead times, ``timedelta64[ns]``.

    Returns
    -------
    dict of str to xr.Variable
        ``{INIT_DIM: ..., LEAD_DIM: ...}``.
    """
    return {
        INIT_DIM: xr.Variable(
            INIT_DIM, init_times, {"long_name": "forecast initialisation time", "axis": "T"}
        ),
        LEAD_DIM: xr.Variable(
            LEAD_DIM,
            lead_times,
            {"long_name": "forecast lead time", "standard_name": "forecast_period"},
        ),
    }


def empty_forecast_array(shape: tuple[int, ...]) -> Any:
    """A lazy NaN float32 dask array chunked one init time per chunk (never computed).

    Parameters
    ----------
    shape : tuple of int
        ``(n_init, n_lead, [n_level], *spatial)``.

    Returns
    -------
    dask.array.Array
        Float32, chunks ``(1, *shape[1:])``: the data of a store template.
    """
    import dask.array as dsa

    return dsa.full(shape, np.nan, dtype=np.float32, chunks=(1, *shape[1:]))
