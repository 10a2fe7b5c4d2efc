"""Put a truth on valid time next to a forecast on (init time, lead time), lazily.

A forecast has dims ``time`` (initialisation), ``prediction_timedelta`` and spatial dims; its truth
is on valid time ``time``. :func:`align_forecast_truth` selects, for every (init, lead) pair, the
truth at ``init + lead`` without loading the truth: one lazy take along time per lead time, stacked
along ``prediction_timedelta`` and chunked like the forecast. Valid times that the truth does not
cover are masked (NaN) and counted, so partial coverage is scored on the verified cases only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Hashable, Sequence
from typing import Any, cast, overload

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError

SPATIAL_DIMS = ("latitude", "longitude", "y", "x")
# Degrees or metres: grids that agree to this tolerance are the same grid.
_COORD_ATOL = 1e-5
# Target size of one dask block of the aligned arrays (all lead times of a few init times).
_BLOCK_BYTES = 8 * 2**20


@dataclasses.dataclass(frozen=True)
class AlignedPair:
    """A forecast and its truth on the same (time, prediction_timedelta, ...) dims.

    Attributes
    ----------
    forecast, truth : xr.DataArray or xr.Dataset
        Same dims, coords and chunks; ``truth`` is NaN where the valid time is not covered.
    verified : xr.DataArray
        bool, (time, prediction_timedelta): the truth covers ``init + lead``.
    """

    forecast: xr.DataArray | xr.Dataset
    truth: xr.DataArray | xr.Dataset
    verified: xr.DataArray

    @functools.cached_property
    def difference(self) -> xr.DataArray | xr.Dataset:
        """``forecast - truth``, formed once for all the error metrics of a pair."""
        return self.forecast - self.truth

    @functools.cached_property
    def valid(self) -> xr.DataArray | xr.Dataset:
        """bool: forecast and truth both finite (NaN and +-inf are missing values)."""
        return cast("xr.DataArray | xr.Dataset", np.isfinite(self.difference))

    @functools.cached_property
    def filled_difference(self) -> xr.DataArray | xr.Dataset:
        """``forecast - truth`` with 0 where either is missing (see :attr:`valid`)."""
        return self.difference.where(self.valid, 0)

    @property
    def n_verified(self) -> xr.DataArray:
        """Number of verified init times per lead time, int64, (prediction_timedelta,)."""
        return self.verified.sum(INIT_DIM).astype(np.int64).rename("n_verified")


def lead_hours(lead_times: xr.DataArray | np.ndarray) -> np.ndarray:
    """Lead times as float hours, shape (n_lead,)."""
    values = np.asarray(getattr(lead_times, "values", lead_times)).astype("timedelta64[ns]")
    return values.astype(np.int64) / 3.6e12


def _check_time_dim(obj: xr.DataArray | xr.Dataset, role: str) -> None:
    if INIT_DIM not in obj.dims:
        raise DataError(f"{role} has no 'time' dimension (dims {tuple(obj.dims)})")
    if not np.issubdtype(obj[INIT_DIM].dtype, np.datetime64):
        raise DataError(
            f"{role} 'time' is {obj[INIT_DIM].dtype}, not datetime64: calendars other than the "
            "standard (proleptic Gregorian) one cannot be compared",
            hint="convert with ds.convert_calendar('standard') first",
        )


@overload
def select_lead_times(
    forecast: xr.DataArray, lead_times: np.ndarray | Sequence[Any] | None
) -> xr.DataArray: ...
@overload
def select_lead_times(
    forecast: xr.Dataset, lead_times: np.ndarray | Sequence[Any] | None
) -> xr.Dataset: ...
def select_lead_times(
    forecast: xr.DataArray | xr.Dataset, lead_times: np.ndarray | Sequence[Any] | None
) -> xr.DataArray | xr.Dataset:
    """Select lead times from a forecast, with an error that names the missing ones.

    Parameters
    ----------
    forecast : xr.DataArray or xr.Dataset
        Forecast with dim ``prediction_timedelta``.
    lead_times : array-like of timedelta64 or None
        Lead times wanted; None keeps all.

    Returns
    -------
    xr.DataArray or xr.Dataset
        The forecast at those lead times.
    """
    if LEAD_DIM not in forecast.dims:
        raise DataError(
            f"forecast has no 'prediction_timedelta' dimension (dims {tuple(forecast.dims)})",
            hint="a forecast has dims (time=init, prediction_timedelta, ...)",
        )
    if lead_times is None:
        return forecast
    wanted = np.asarray(lead_times).astype("timedelta64[ns]")
    have = forecast[LEAD_DIM].values.astype("timedelta64[ns]")
    missing = np.setdiff1d(wanted, have)
    if missing.size:
        raise DataError(
            f"lead times {[f'{h:g} h' for h in lead_hours(missing)]} are not in the forecast, "
            f"which has {[f'{h:g} h' for h in lead_hours(have)]}"
        )
    return forecast.sel({LEAD_DIM: wanted})


def _same_coords(dim: Hashable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality of grid coordinates; longitudes modulo 360 degrees.

    gmgclim writes a box crossing 0 E in -180 .. 180 (and earlier versions wrote it in 0 .. 360),
    so a forecast and its truth name the same meridians either way.
    """
    if dim == "longitude":
        diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
        return np.abs((diff + 180.0) % 360.0 - 180.0) <= _COORD_ATOL
    return np.isclose(a, b, atol=_COORD_ATOL, rtol=0)


def _check_grids(
    forecast: xr.DataArray | xr.Dataset, truth: xr.DataArray | xr.Dataset
) -> xr.DataArray | xr.Dataset:
    """Check that truth has the forecast's spatial/level coords; select its levels."""
    for dim in forecast.dims:
        if dim in (INIT_DIM, LEAD_DIM):
            continue
        if dim not in truth.dims:
            raise DataError(
                f"truth has no '{dim}' dimension, which the forecast has (truth dims {tuple(truth.dims)})"
            )
        fc_values = forecast[dim].values
        if dim == "level":
            missing = np.setdiff1d(fc_values, truth[dim].values)
            if missing.size:
                raise DataError(f"truth has no levels {missing.tolist()} (hPa) of the forecast")
            truth = truth.sel(level=fc_values)
            continue
        tr_values = truth[dim].values
        if fc_values.shape != tr_values.shape:
            raise DataError(
                f"forecast and truth grids differ: '{dim}' has {fc_values.size} points in the "
                f"forecast and {tr_values.size} in the truth",
                hint="regrid one of them onto the other's grid first",
            )
        same = _same_coords(dim, fc_values, tr_values)
        if not same.all():
            bad = int(np.argmax(~same))
            raise DataError(
                f"forecast and truth grids differ: '{dim}'[{bad}] is {fc_values[bad]} in the "
                f"forecast and {tr_values[bad]} in the truth",
                hint="both must be on the same grid, in the same order",
            )
    for dim in truth.dims:
        if dim != INIT_DIM and dim not in forecast.dims and truth.sizes[dim] > 1:
            raise DataError(
                f"truth has a dimension '{dim}' (size {truth.sizes[dim]}) that the forecast lacks"
            )
        if dim != INIT_DIM and dim not in forecast.dims:
            truth = truth.squeeze(dim, drop=True)
    # Take the forecast's coordinate values so that arithmetic aligns exactly.
    spatial = {d: forecast[d] for d in forecast.dims if d not in (INIT_DIM, LEAD_DIM)}
    return truth.assign_coords(spatial)


@overload
def on_forecast_grid(forecast: xr.DataArray | xr.Dataset, truth: xr.DataArray) -> xr.DataArray: ...
@overload
def on_forecast_grid(forecast: xr.DataArray | xr.Dataset, truth: xr.Dataset) -> xr.Dataset: ...
def on_forecast_grid(
    forecast: xr.DataArray | xr.Dataset, truth: xr.DataArray | xr.Dataset
) -> xr.DataArray | xr.Dataset:
    """The truth with the forecast's spatial coordinate values, after checking the grids agree.

    Parameters
    ----------
    forecast : xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.DataArray or xr.Dataset
        dims (time=valid, [level], spatial...).

    Returns
    -------
    xr.DataArray or xr.Dataset
        ``truth`` at the forecast's levels, with its spatial coordinates (longitudes in the
        forecast's convention).

    Raises
    ------
    DataError
        A spatial dim is missing, has another size, or other values (one line naming it).
    """
    return _check_grids(forecast, truth)


def _check_units(forecast: xr.DataArray | xr.Dataset, truth: xr.DataArray | xr.Dataset) -> None:
    if isinstance(forecast, xr.Dataset):
        names = list(forecast.data_vars)
        missing = [n for n in names if n not in truth.data_vars]
        if missing:
            raise DataError(
                f"truth has no variables {missing}; it has {sorted(map(str, truth.data_vars))}"
            )
        pairs: list[tuple[Hashable, xr.DataArray, xr.DataArray | xr.Dataset]]
        pairs = [(n, forecast[n], truth[n]) for n in names]
    else:
        pairs = [(str(forecast.name), forecast, truth)]
    for name, fc, tr in pairs:
        fu, tu = fc.attrs.get("units"), tr.attrs.get("units")
        if fu is not None and tu is not None and str(fu).strip() != str(tu).strip():
            raise DataError(
                f"units of '{name}' differ: forecast {fu!r}, truth {tu!r}",
                hint="convert one of them so both use the same units",
            )


def _is_dask(obj: xr.DataArray | xr.Dataset) -> bool:
    if isinstance(obj, xr.Dataset):
        return any(v.chunks is not None for v in obj.data_vars.values())
    return obj.chunks is not None


def _init_block(obj: xr.DataArray | xr.Dataset) -> int:
    """Init times per dask block so that one block is about _BLOCK_BYTES."""
    per_init = 0
    variables = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    for v in variables:
        per_init += v.dtype.itemsize * int(np.prod([v.sizes[d] for d in v.dims if d != INIT_DIM]))
    return int(max(1, min(obj.sizes[INIT_DIM], _BLOCK_BYTES // max(per_init, 1))))


def valid_time_positions(
    truth_times: np.ndarray, init_times: np.ndarray, lead_times: np.ndarray
) -> np.ndarray:
    """Positions of ``init + lead`` in ``truth_times``, -1 where absent.

    Parameters
    ----------
    truth_times : np.ndarray
        datetime64, shape (n_truth,), unique.
    init_times : np.ndarray
        datetime64, shape (n_init,).
    lead_times : np.ndarray
        timedelta64, shape (n_lead,).

    Returns
    -------
    np.ndarray
        int64, shape (n_init, n_lead).
    """
    index = pd.DatetimeIndex(np.asarray(truth_times).astype("datetime64[ns]"))
    if not index.is_unique:
        raise DataError("truth 'time' has repeated values")
    valid = (
        np.asarray(init_times).astype("datetime64[ns]")[:, None]
        + np.asarray(lead_times).astype("timedelta64[ns]")[None, :]
    )
    return index.get_indexer(valid.ravel()).reshape(valid.shape).astype(np.int64)


def truth_positions(
    truth_times: np.ndarray,
    init_times: np.ndarray,
    lead_times: np.ndarray,
    require_full_coverage: bool = False,
) -> np.ndarray:
    """Positions of every valid time in the truth, checked (:func:`align_forecast_truth` calls it).

    Parameters
    ----------
    truth_times : np.ndarray
        datetime64, (n_truth,).
    init_times, lead_times : np.ndarray
        (n_init,) datetime64 and (n_lead,) timedelta64.
    require_full_coverage : bool
        Raise if a valid time is missing.

    Returns
    -------
    np.ndarray
        int64, (n_init, n_lead), -1 where the truth lacks the valid time.

    Raises
    ------
    DataError
        No valid time is covered, or one is missing and full coverage is required.
    """
    positions = valid_time_positions(truth_times, init_times, lead_times)
    found = positions >= 0
    if not found.any():
        raise DataError(
            f"truth covers {truth_times.min()} to {truth_times.max()} but none of the forecast's "
            f"valid times ({init_times[0] + lead_times[0]} to {init_times[-1] + lead_times[-1]})"
        )
    if require_full_coverage and not found.all():
        i, j = np.argwhere(~found)[0]
        raise DataError(
            f"truth misses {int((~found).sum())} of {found.size} valid times, first "
            f"{init_times[i] + lead_times[j]} (init {init_times[i]}, lead "
            f"{lead_hours(lead_times[j : j + 1])[0]:g} h)"
        )
    return positions


def take_at_valid_times(
    truth: xr.DataArray | xr.Dataset,
    positions: np.ndarray,
    init_times: np.ndarray,
    lead_times: np.ndarray,
    block: int | None = None,
) -> xr.DataArray | xr.Dataset:
    """Lazily gather ``truth`` at (init, lead) positions along its ``time``.

    Parameters
    ----------
    truth : xr.DataArray or xr.Dataset
        On dim ``time``; numpy- or dask-backed.
    positions : np.ndarray
        int, (n_init, n_lead), from :func:`valid_time_positions`; -1 gives NaN.
    init_times, lead_times : np.ndarray
        Coordinates of the result, (n_init,) datetime64 and (n_lead,) timedelta64.
    block : int, optional
        Init times per dask block of the result; None keeps numpy inputs in memory.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (time, prediction_timedelta, ...), ``time`` = init times.
    """
    found = positions >= 0
    safe = np.where(found, positions, 0)
    if block is not None:
        # Large time blocks before the takes keep the graph small (stores often hold one time per
        # chunk: 20 leads x 1,460 inits would otherwise be ~30k tasks per operation).
        truth = truth.chunk({INIT_DIM: block})
    per_lead = []
    for j in range(positions.shape[1]):
        piece = truth.isel({INIT_DIM: safe[:, j]}).drop_vars(INIT_DIM, errors="ignore")
        per_lead.append(piece)
    # xarray's overloads take a list of DataArrays or of Datasets, not of the union
    stacked = xr.concat(  # type: ignore[call-overload]
        per_lead, dim=LEAD_DIM, coords="minimal", compat="override", join="exact"
    )
    stacked = stacked.assign_coords({INIT_DIM: init_times, LEAD_DIM: lead_times})
    mask = xr.DataArray(
        found, dims=(INIT_DIM, LEAD_DIM), coords={INIT_DIM: init_times, LEAD_DIM: lead_times}
    )
    if not found.all():
        stacked = stacked.where(mask)
    stacked = stacked.transpose(INIT_DIM, LEAD_DIM, ...)
    if block is not None:
        stacked = stacked.chunk({INIT_DIM: block, LEAD_DIM: -1})
    return stacked


def align_forecast_truth(
    forecast: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | xr.Dataset,
    lead_times: np.ndarray | list | None = None,
    require_full_coverage: bool = False,
    check_units: bool = True,
) -> AlignedPair:
    """Select the truth at every forecast's valid time ``init + lead``.

    Parameters
    ----------
    forecast : xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.DataArray or xr.Dataset
        dims (time=valid, [level], spatial...), same grid, same variables and units. If it already
        has a ``prediction_timedelta`` dim it is taken as aligned (NaN = not verified).
    lead_times : array-like of timedelta64, optional
        Score only these lead times (an error names those the forecast lacks).
    require_full_coverage : bool
        Raise instead of masking when the truth misses some valid times.
    check_units : bool
        Compare the ``units`` attributes of forecast and truth variables.

    Returns
    -------
    AlignedPair
        Forecast and truth on identical dims/chunks, and the bool mask of verified cases.

    Raises
    ------
    DataError
        Different grids, levels, units or calendars; missing lead times; no valid time covered.
    """
    forecast = select_lead_times(forecast, lead_times)
    _check_time_dim(forecast, "forecast")
    _check_time_dim(truth, "truth")
    if check_units:
        _check_units(forecast, truth)
    if isinstance(forecast, xr.Dataset) and isinstance(truth, xr.Dataset):
        truth = truth[list(forecast.data_vars)]
    init_times = forecast[INIT_DIM].values.astype("datetime64[ns]")
    leads = forecast[LEAD_DIM].values.astype("timedelta64[ns]")
    block = _init_block(forecast) if (_is_dask(forecast) or _is_dask(truth)) else None
    if block is not None:
        forecast = forecast.chunk({INIT_DIM: block, LEAD_DIM: -1})

    if LEAD_DIM in truth.dims:
        truth = truth.sel({LEAD_DIM: leads})
        truth = _check_grids(forecast, truth.transpose(*forecast.dims))
        # Keep time as a dim for the grid check and realign the init times.
        truth = truth.sel({INIT_DIM: init_times})
        if block is not None:
            truth = truth.chunk(dict(forecast.chunksizes))
        first = truth if isinstance(truth, xr.DataArray) else next(iter(truth.data_vars.values()))
        spatial = [d for d in first.dims if d not in (INIT_DIM, LEAD_DIM, "level")]
        verified = first.notnull().any(spatial)
        if "level" in verified.dims:
            verified = verified.any("level")
        return AlignedPair(forecast, truth, verified.compute())

    truth = _check_grids(forecast, truth)
    positions = truth_positions(truth[INIT_DIM].values, init_times, leads, require_full_coverage)
    found = positions >= 0
    truth_aligned = take_at_valid_times(truth, positions, init_times, leads, block)
    order = [d for d in forecast.dims]
    truth_aligned = truth_aligned.transpose(*order)
    verified = xr.DataArray(
        found, dims=(INIT_DIM, LEAD_DIM), coords={INIT_DIM: init_times, LEAD_DIM: leads}
    )
    forecast = forecast.assign_coords({INIT_DIM: init_times, LEAD_DIM: leads})
    return AlignedPair(forecast, truth_aligned, verified)
