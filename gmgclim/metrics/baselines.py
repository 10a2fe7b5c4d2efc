"""Reference forecasts scored like a model: persistence and climatology.

Both return forecasts in the canonical layout (time=init, prediction_timedelta, [level], spatial),
lazily when the input is dask-backed, so they go through the same scoring code as a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import _BLOCK_BYTES, _check_time_dim, take_at_valid_times


def _as_times(values, dtype: str, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(getattr(values, "values", values)))
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name} must be convertible to {dtype}, got {arr.dtype}") from err


@overload
def persistence_forecast(
    truth: xr.DataArray, init_times: np.ndarray | Sequence, lead_times: np.ndarray | Sequence
) -> xr.DataArray: ...
@overload
def persistence_forecast(
    truth: xr.Dataset, init_times: np.ndarray | Sequence, lead_times: np.ndarray | Sequence
) -> xr.Dataset: ...
def persistence_forecast(
    truth: xr.DataArray | xr.Dataset,
    init_times: np.ndarray | Sequence,
    lead_times: np.ndarray | Sequence,
) -> xr.DataArray | xr.Dataset:
    """Persistence: the forecast at every lead time is the truth at the init time (WeatherBench 1).

    Parameters
    ----------
    truth : xr.DataArray or xr.Dataset
        dims (time, [level], spatial...), on valid time.
    init_times : array-like of datetime64
        Initialisation times, shape (n_init,); each must be a time of ``truth``.
    lead_times : array-like of timedelta64
        Lead times, shape (n_lead,).

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...), lazy for dask input.

    Raises
    ------
    DataError
        An init time the truth does not have.
    """
    _check_time_dim(truth, "truth")
    inits = _as_times(init_times, "datetime64[ns]", "init_times")
    leads = _as_times(lead_times, "timedelta64[ns]", "lead_times")
    index = pd.DatetimeIndex(truth[INIT_DIM].values)
    missing = inits[index.get_indexer(inits) < 0]
    if missing.size:
        raise DataError(
            f"persistence needs the truth at every init time; {missing.size} are missing, "
            f"first {missing[0]} (truth covers {index.min()} to {index.max()})"
        )
    at_init = truth.sel({INIT_DIM: inits})

    def _persist(da: xr.DataArray) -> xr.DataArray:
        if INIT_DIM not in da.dims:  # e.g. a grid_mapping variable: keep as it is
            return da
        return da.expand_dims({LEAD_DIM: leads}).transpose(INIT_DIM, LEAD_DIM, ...)

    out = at_init.map(_persist) if isinstance(at_init, xr.Dataset) else _persist(at_init)
    out.attrs = dict(truth.attrs, baseline="persistence: truth at init time for every lead time")
    return out


def _years_selection(truth: xr.DataArray | xr.Dataset, years) -> xr.DataArray | xr.Dataset:
    if years is None:
        return truth
    if isinstance(years, slice):
        start = None if years.start is None else str(years.start)
        stop = None if years.stop is None else str(years.stop)
        out = truth.sel({INIT_DIM: slice(start, stop)})
    else:
        wanted = np.atleast_1d(np.asarray(years, dtype=int))
        out = truth.isel({INIT_DIM: np.isin(truth[INIT_DIM].dt.year.values, wanted)})
    if out.sizes[INIT_DIM] == 0:
        raise DataError(
            f"truth has no times in years {years!r} "
            f"(it covers {truth[INIT_DIM].values.min()} to {truth[INIT_DIM].values.max()})"
        )
    return out


def _smooth_dayofyear(clim: xr.DataArray | xr.Dataset, window_days: int):
    """Cyclic running mean over ``dayofyear`` (NaN-aware), window ``window_days`` days."""
    if window_days < 1 or window_days % 2 == 0:
        raise ValueError(f"window_days must be an odd positive integer, got {window_days}")
    full_year = np.arange(1, 367)
    clim = clim.reindex(dayofyear=full_year)
    half = window_days // 2
    padded = clim.pad(dayofyear=half, mode="wrap")
    smooth = padded.rolling(dayofyear=window_days, center=True, min_periods=1).mean()
    smooth = smooth.isel(dayofyear=slice(half, half + full_year.size))
    return smooth.assign_coords(dayofyear=full_year)


def _group_sums(block: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """NaN-aware sums and counts of ``block`` (t, ...) by ``group`` (t,): (2, n_groups, ...)."""
    valid = np.isfinite(block)
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    out = np.zeros((2, n_groups, *block.shape[1:]))
    present = ordered[starts]
    out[0, present] = np.add.reduceat(np.where(valid, block, 0.0)[order], starts, axis=0)
    out[1, present] = np.add.reduceat(valid[order].astype(np.float64), starts, axis=0)
    return out


def _grouped_mean(da: xr.DataArray, keys: np.ndarray, codes: np.ndarray) -> xr.DataArray:
    """Mean of ``da`` over time within groups ``keys`` -> dim ``doy_hour`` (codes), NaN-aware.

    Sorting-and-reduceat per time block, summed over blocks: one pass over a lazy input, memory of
    one block plus the (groups, space) sums, whatever the number of groups.
    """
    da = da.transpose(INIT_DIM, ...)
    group = np.searchsorted(codes, keys)
    n_groups = codes.size
    data = da.data
    if da.chunks is None:
        sums = _group_sums(np.asarray(data), group, n_groups)
    else:
        import dask
        import dask.array as dsa

        per_time = data.dtype.itemsize * int(np.prod(data.shape[1:]))
        # Few large time blocks: each block's partial sums are (2, groups, space) float64.
        block = max(1, min(data.shape[0], 4 * _BLOCK_BYTES // max(per_time, 1)))
        data = data.rechunk({0: block, **{i: -1 for i in range(1, data.ndim)}})
        bounds = np.cumsum((0, *data.chunks[0]))
        blocks = data.to_delayed().ravel()
        parts = [
            dsa.from_delayed(
                dask.delayed(_group_sums)(blk, group[bounds[i] : bounds[i + 1]], n_groups),
                shape=(2, n_groups, *data.shape[1:]),
                dtype=np.float64,
            )
            for i, blk in enumerate(blocks)
        ]
        sums = dsa.stack(parts).sum(axis=0)
    mean = sums[0] / np.where(sums[1] > 0, sums[1], np.nan)
    dims = ("doy_hour", *da.dims[1:])
    coords = {d: da[d] for d in da.dims[1:] if d in da.coords}
    out = xr.DataArray(mean, dims=dims, coords=coords, name=da.name, attrs=da.attrs)
    return out.assign_coords(doy_hour=codes).astype(da.dtype)


@overload
def compute_climatology(
    truth: xr.DataArray,
    years: slice | Sequence[int] | int | None = None,
    hour_of_day: bool = True,
    window_days: int | None = None,
) -> xr.DataArray: ...
@overload
def compute_climatology(
    truth: xr.Dataset,
    years: slice | Sequence[int] | int | None = None,
    hour_of_day: bool = True,
    window_days: int | None = None,
) -> xr.Dataset: ...
def compute_climatology(
    truth: xr.DataArray | xr.Dataset,
    years: slice | Sequence[int] | int | None = None,
    hour_of_day: bool = True,
    window_days: int | None = None,
) -> xr.DataArray | xr.Dataset:
    """Day-of-year (x hour-of-day) mean of the truth over some years (WeatherBench 2 style).

    Parameters
    ----------
    truth : xr.DataArray or xr.Dataset
        dims (time, [level], spatial...).
    years : slice, sequence of int, int or None
        Years to average, e.g. the training years: ``slice(1990, 2015)`` (inclusive, or any
        slice of date strings) or ``[2016, 2017]``. None uses every time.
    hour_of_day : bool
        Keep an ``hour`` dim (0-23); otherwise average all hours of a day.
    window_days : int, optional
        Odd width (days) of a cyclic running mean over day of year, NaN-aware; fills days that
        the years lack (such as 29 February) from their neighbours.

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (dayofyear (1-366), [hour], [level], spatial...), lazy for dask input; days or hours
        never seen are NaN.
    """
    _check_time_dim(truth, "truth")
    sel = _years_selection(truth, years)
    times = sel[INIT_DIM]
    hours = times.dt.hour.values if hour_of_day else np.zeros(times.size, dtype=int)
    key = xr.DataArray(times.dt.day_of_year.values * 100 + hours, dims=(INIT_DIM,), name="doy_hour")
    codes = np.unique(key.values)
    clim: xr.DataArray | xr.Dataset
    if isinstance(sel, xr.Dataset):
        clim = sel.map(lambda v: _grouped_mean(v, key.values, codes) if INIT_DIM in v.dims else v)
    else:
        clim = _grouped_mean(sel, key.values, codes)
    clim = clim.assign_coords(
        dayofyear=("doy_hour", codes // 100), hour=("doy_hour", codes % 100)
    ).set_index(doy_hour=["dayofyear", "hour"])
    clim = clim.unstack("doy_hour")
    if not hour_of_day:
        clim = clim.squeeze("hour", drop=True)
    if window_days is not None:
        clim = _smooth_dayofyear(clim, window_days)
    first = [d for d in ("dayofyear", "hour") if d in clim.dims]
    clim = clim.transpose(*first, ...)
    clim.attrs = dict(
        truth.attrs,
        climatology=(
            f"mean by day of year{' and hour of day' if hour_of_day else ''} over "
            f"{str(times.values.min())[:10]} to {str(times.values.max())[:10]}"
            + (f", {window_days}-day running mean" if window_days else "")
        ),
    )
    return clim


@overload
def climatology_forecast(
    climatology: xr.DataArray,
    init_times: np.ndarray | Sequence,
    lead_times: np.ndarray | Sequence,
) -> xr.DataArray: ...
@overload
def climatology_forecast(
    climatology: xr.Dataset,
    init_times: np.ndarray | Sequence,
    lead_times: np.ndarray | Sequence,
) -> xr.Dataset: ...
def climatology_forecast(
    climatology: xr.DataArray | xr.Dataset,
    init_times: np.ndarray | Sequence,
    lead_times: np.ndarray | Sequence,
) -> xr.DataArray | xr.Dataset:
    """Climatology forecast: the climatology at each valid time's day of year and hour.

    Parameters
    ----------
    climatology : xr.DataArray or xr.Dataset
        dims ([dayofyear], [hour], [level], spatial...) as from :func:`compute_climatology`; without
        ``dayofyear`` it is a constant field (the WeatherBench 1 climatology, a mean over years).
    init_times : array-like of datetime64
        shape (n_init,).
    lead_times : array-like of timedelta64
        shape (n_lead,).

    Returns
    -------
    xr.DataArray or xr.Dataset
        dims (time=init, prediction_timedelta, [level], spatial...).

    Raises
    ------
    DataError
        A valid time whose day of year / hour the climatology lacks.
    """
    inits = _as_times(init_times, "datetime64[ns]", "init_times")
    leads = _as_times(lead_times, "timedelta64[ns]", "lead_times")
    if "dayofyear" not in climatology.dims:
        out = climatology.expand_dims({INIT_DIM: inits, LEAD_DIM: leads})
        out.attrs = dict(climatology.attrs, baseline="climatology (constant)")
        return out
    valid = pd.DatetimeIndex((inits[:, None] + leads[None, :]).ravel())
    doy = valid.day_of_year.values
    has_hour = "hour" in climatology.dims
    dims = ["dayofyear", "hour"] if has_hour else ["dayofyear"]
    clim = climatology.transpose(*dims, ...)
    flat = clim.stack({INIT_DIM: dims}, create_index=False)
    flat = flat.transpose(INIT_DIM, ...)
    if has_hour:
        keys = pd.MultiIndex.from_arrays(
            [
                clim["dayofyear"].values.repeat(clim.sizes["hour"]),
                np.tile(clim["hour"].values, clim.sizes["dayofyear"]),
            ]
        )
        wanted = pd.MultiIndex.from_arrays([doy, valid.hour.values])
        pos = keys.get_indexer(wanted)
        leap = (pos < 0) & (doy == 366)
        if leap.any():
            pos[leap] = keys.get_indexer(
                pd.MultiIndex.from_arrays([np.full(leap.sum(), 365), valid.hour.values[leap]])
            )
    else:
        keys = pd.Index(clim["dayofyear"].values)
        pos = keys.get_indexer(np.where((doy == 366) & (366 not in keys), 365, doy))
    if (pos < 0).any():
        bad = valid[pos < 0][0]
        raise DataError(
            f"climatology has no day of year {bad.day_of_year}"
            + (f" hour {bad.hour}" if has_hour else "")
            + f" (valid time {bad})",
            hint="compute the climatology from truth with the forecast's hours of day",
        )
    pos = pos.reshape(inits.size, leads.size)
    flat = flat.drop_vars([c for c in ("dayofyear", "hour") if c in flat.coords])
    variables = flat.data_vars.values() if isinstance(flat, xr.Dataset) else [flat]
    per_case = sum(v.dtype.itemsize * v.size // max(v.sizes[INIT_DIM], 1) for v in variables)
    total = per_case * pos.size
    block = None
    if total > 2 * _BLOCK_BYTES or any(v.chunks is not None for v in variables):
        block = int(max(1, _BLOCK_BYTES // max(per_case * leads.size, 1)))
    out = take_at_valid_times(flat, pos, inits, leads, block)
    out.attrs = dict(climatology.attrs, baseline="climatology at valid day of year / hour")
    return out
