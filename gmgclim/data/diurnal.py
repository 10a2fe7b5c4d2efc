"""The train split's mean diurnal cycle, and the ``data.residual: diurnal`` reference built on it.

``data.residual: diurnal`` is persistence plus the climatological diurnal change: the reference of
forecast frame k (k = 1 .. T_out) of init time t0 (the valid time of the last input frame) is

    x(t0) + D[hour(t0 + k * step)] - D[hour(t0)]

where ``D`` (24, C, H, W) is the per-pixel mean by UTC hour of day over the train split, in the
fields the network sees (after the target transform). The model learns the change from this
reference, so an untrained model already forecasts the day-night cycle of the training period on
top of the last frame. ``D`` is computed once (:func:`diurnal_mean`, lazy and NaN-aware, alongside
the normalisation statistics, :func:`gmgclim.data.normalization.compute_stats`) and travels with
them in checkpoints, so ``gmgclim forecast`` uses the training period's cycle; it belongs to the
training grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from gmgclim.errors import DataError

__all__ = ["HOURS_PER_DAY", "check_diurnal_step", "diurnal_change", "diurnal_mean", "utc_hours"]

HOURS_PER_DAY = 24


def check_diurnal_step(step: np.timedelta64, step_text: str) -> None:
    """Raise unless ``step`` divides one day (the reference needs the same hours every day).

    Parameters
    ----------
    step : np.timedelta64
        Time between frames.
    step_text : str
        The step as written (``"6h"``), for the message.

    Raises
    ------
    DataError
        One line naming ``data.residual: diurnal`` and the step.
    """
    day = np.timedelta64(1, "D")
    if step <= np.timedelta64(0, "ns") or day % step:
        raise DataError(
            f"data.residual: diurnal needs a step that divides one day, got step {step_text}",
            hint="use a step such as 1h, 3h, 6h or 12h, or residual: persistence",
        )


def utc_hours(times: np.ndarray) -> np.ndarray:
    """UTC hour of day (0-23) of each time, int64, same shape (minutes are dropped)."""
    hours = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[h]").astype(np.int64)
    return np.mod(hours, HOURS_PER_DAY)


def diurnal_mean(fields: xr.DataArray) -> xr.DataArray:
    """Per-pixel mean of each UTC hour of day, NaN ignored; lazy on dask data.

    Parameters
    ----------
    fields : xr.DataArray
        (time, channel, *spatial), the train split in the units the network sees (after the
        target transform), float64 preferred, non-finite cells already NaN (+-inf masked, as
        :func:`gmgclim.data.normalization.compute_stats` passes it).

    Returns
    -------
    xr.DataArray
        (hour, channel, *spatial) with ``hour`` = 0 .. 23; NaN where the period holds no finite
        value at that hour and pixel (e.g. every hour but 00, 06, 12 and 18 for 6-hourly data).
    """
    hour = xr.DataArray(utc_hours(fields["time"].values), dims="time", name="hour")
    by_hour = fields.groupby(hour).mean("time", skipna=True)
    return by_hour.reindex(hour=np.arange(HOURS_PER_DAY))


def diurnal_change(
    diurnal: np.ndarray,
    std: Sequence[float] | np.ndarray,
    init_times: np.ndarray,
    lead_times: np.ndarray,
) -> np.ndarray:
    """``(D[hour(t0 + lead)] - D[hour(t0)]) / std``: the climatological change of each lead.

    Parameters
    ----------
    diurnal : np.ndarray
        (24, C, *spatial) mean by UTC hour of day (:func:`diurnal_mean`), in the units of the
        normalisation statistics (after the target transform).
    std : array-like
        (C,) per-channel standard deviation of the normalisation, same units.
    init_times : np.ndarray
        (B,) datetime64, the valid time of each window's last input frame.
    lead_times : np.ndarray
        (T_out,) timedelta64, ``step * 1 .. step * T_out``.

    Returns
    -------
    np.ndarray
        (B, T_out, C, *spatial) float32, normalised units; 0 at pixels where either hour has no
        mean (there the reference falls back to persistence).

    Raises
    ------
    DataError
        An hour needed has no mean anywhere: the train split holds no frame at that hour.
    """
    diurnal = np.asarray(diurnal, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    if diurnal.ndim < 2 or diurnal.shape[0] != HOURS_PER_DAY or diurnal.shape[1] != std.size:
        raise ValueError(
            f"diurnal mean must have shape (24, {std.size}, *spatial), got {diurnal.shape}"
        )
    inits = np.asarray(init_times, dtype="datetime64[ns]").reshape(-1)
    leads = np.asarray(lead_times, dtype="timedelta64[ns]").reshape(-1)
    start = utc_hours(inits)  # (B,)
    valid = utc_hours(inits[:, None] + leads[None, :])  # (B, T_out)
    known = np.isfinite(diurnal).reshape(HOURS_PER_DAY, -1).any(axis=1)
    missing = sorted({int(h) for h in np.concatenate([start, valid.ravel()]) if not known[h]})
    if missing:
        raise DataError(
            "data.residual: diurnal: the train split holds no frame at "
            f"{', '.join(f'{h:02d}' for h in missing)} UTC, hours these forecasts need",
            hint="train on data that has every hour of day the forecasts start or end at",
        )
    scale = (1.0 / std).reshape((1, 1, -1) + (1,) * (diurnal.ndim - 2))
    change = (diurnal[valid] - diurnal[start][:, None]) * scale
    return np.nan_to_num(change, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
