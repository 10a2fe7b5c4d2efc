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

With ``data.diurnal_scaling: insolation`` the cycle's amplitude follows the season: the anomaly
``A = D - mean_h D`` of each day is scaled by ``S(day) = Q(day) / Q_train``, the day's mean
top-of-atmosphere insolation at the pixel's latitude over its mean on the train split's days
(:class:`InsolationScale`), and the reference becomes

    x(t0) + S(day(t0 + k step)) A[hour(t0 + k step)] - S(day(t0)) A[hour(t0)]

The day-night temperature range grows with the sunshine that drives it: in March at 54 N the
daily insolation grows ~20 % in two weeks, and a cycle learnt on the first weeks of the month
falls short later on.

With ``data.diurnal_scaling: inputs`` the amplitude is that of the days the model is fed: per
window, channel and pixel, the least-squares factor ``a`` that best maps the mean day's anomaly
at the input frames' hours onto the input frames (both about their mean over the inputs;
:func:`input_amplitude`, clipped to [0.5, 2]), and the reference becomes

    x(t0) + a (D[hour(t0 + k step)] - D[hour(t0)])

Clear, calm days swing more than the training period's mean day, cloudy or windy ones less,
and weather regimes last for days: inputs that span a day carry the swing of the next ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from gmgclim.errors import DataError

__all__ = [
    "DIURNAL_SCALINGS",
    "HOURS_PER_DAY",
    "InsolationScale",
    "check_diurnal_step",
    "daily_insolation",
    "diurnal_change",
    "diurnal_mean",
    "input_amplitude",
    "utc_hours",
]

HOURS_PER_DAY = 24
#: Values of ``data.diurnal_scaling``.
DIURNAL_SCALINGS = ("none", "insolation", "inputs")
#: Bounds of the amplitude factor of ``data.diurnal_scaling: inputs``.
AMPLITUDE_BOUNDS = (0.5, 2.0)
#: Samples per day of the daily-mean insolation (every 30 minutes).
_SAMPLES_PER_DAY = 48
#: Days per batch when averaging long train splits (bounds the temporary arrays).
_DAYS_PER_BATCH = 512


def daily_insolation(days: np.ndarray, latitude: np.ndarray) -> np.ndarray:
    """Daily mean top-of-atmosphere insolation of each UTC day at each latitude.

    Parameters
    ----------
    days : np.ndarray
        (N,) datetime64 (any unit; the UTC day is taken).
    latitude : np.ndarray
        (H,) degrees north.

    Returns
    -------
    np.ndarray
        (N, H) float64, fraction of the solar constant (mean of 48 half-hourly values at 0 E;
        the longitude shifts the day by hours only).
    """
    from gmgclim.data.forcings import toa_insolation

    days = np.asarray(days).astype("datetime64[D]").reshape(-1)
    lat = np.asarray(latitude, dtype=np.float64).reshape(-1, 1)
    offsets = (np.arange(_SAMPLES_PER_DAY) * (HOURS_PER_DAY * 60 // _SAMPLES_PER_DAY)).astype(
        "timedelta64[m]"
    )
    times = (days[:, None] + offsets[None, :]).reshape(-1)
    values = toa_insolation(times, lat, np.zeros_like(lat))  # (N * 48, H, 1)
    return np.asarray(values, dtype=np.float64).reshape(days.size, _SAMPLES_PER_DAY, -1).mean(1)


class InsolationScale:
    """``S(day) = Q(day) / Q_train`` per latitude row: the seasonal scale of the diurnal cycle.

    Parameters
    ----------
    latitude : array-like
        (H,) degrees north of the grid's rows.
    train_start, train_end : str or datetime64
        The train split (its days' mean insolation is the reference ``Q_train``).

    Examples
    --------
    >>> scale = InsolationScale([54.0], "2019-03-01", "2019-03-20")
    >>> bool(scale(np.array(["2019-03-28T12"], dtype="datetime64[ns]"))[0, 0] > 1.1)
    True
    """

    def __init__(self, latitude, train_start, train_end) -> None:
        self.latitude = np.asarray(latitude, dtype=np.float64).reshape(-1)
        first = np.datetime64(str(train_start)[:10], "D")
        last = np.datetime64(str(train_end)[:10], "D")
        if last < first:
            raise ValueError(f"train split ends ({last}) before it starts ({first})")
        days = np.arange(first, last + np.timedelta64(1, "D"))
        total = np.zeros(self.latitude.size)
        for i in range(0, days.size, _DAYS_PER_BATCH):
            total += daily_insolation(days[i : i + _DAYS_PER_BATCH], self.latitude).sum(0)
        self.reference = total / days.size
        self._by_day: dict[np.datetime64, np.ndarray] = {}  # (H,) scale of each day asked for
        if not np.all(self.reference > 0):
            polar = self.latitude[~(self.reference > 0)]
            raise DataError(
                "data.diurnal_scaling: insolation: the train split has no sunshine at latitudes "
                f"{polar.tolist()} (polar night), so the scale is undefined there",
                hint="use diurnal_scaling: none for grids that reach the polar night",
            )

    def __call__(self, times: np.ndarray) -> np.ndarray:
        """(M, H) scale of each time's UTC day (float64); each day is computed once."""
        days = np.asarray(times).astype("datetime64[D]").reshape(-1)
        unique, inverse = np.unique(days, return_inverse=True)
        new = [day for day in unique if day not in self._by_day]
        if new:  # training asks for the same days every epoch
            for day, q in zip(new, daily_insolation(np.asarray(new), self.latitude), strict=True):
                self._by_day[day] = q / self.reference
        return np.stack([self._by_day[day] for day in unique])[inverse.reshape(-1)]


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


def input_amplitude(
    diurnal: np.ndarray,
    std: Sequence[float] | np.ndarray,
    inputs: np.ndarray,
    input_times: np.ndarray,
    bounds: tuple[float, float] = AMPLITUDE_BOUNDS,
) -> np.ndarray:
    """The factor that best maps the mean day onto each window's input frames (least squares).

    ``a = sum_t d_t x_t / sum_t d_t^2`` with ``d_t = A[hour_t] / std`` and ``x_t`` the normalised
    input, both minus their mean over the window's input frames (``A = D - mean_h D``), per
    window, channel and pixel; clipped to ``bounds``; 1 where the mean day does not vary over
    the input hours or a pixel has fewer than two finite inputs.

    Parameters
    ----------
    diurnal : np.ndarray
        (24, C, *spatial) mean by UTC hour (:func:`diurnal_mean`), units of the normalisation.
    std : array-like
        (C,) normalisation standard deviation, same units.
    inputs : np.ndarray
        (B, T_in, C, *spatial) normalised input frames; NaN where not observed.
    input_times : np.ndarray
        (B, T_in) datetime64 valid times of the input frames.
    bounds : (float, float)
        Lowest and highest factor.

    Returns
    -------
    np.ndarray
        (B, C, *spatial) float64, dimensionless.

    Examples
    --------
    >>> day = np.sin(2 * np.pi * np.arange(24) / 24).reshape(24, 1, 1, 1)
    >>> times = np.array([["2019-03-01T00", "2019-03-01T06", "2019-03-01T12"]], "datetime64[ns]")
    >>> x = (1.5 * day[[0, 6, 12]] + 3.0)[None]  # a day swinging 1.5 x the mean day
    >>> round(float(input_amplitude(day, [1.0], x, times)[0, 0, 0, 0]), 6)
    1.5
    """
    diurnal = np.asarray(diurnal, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    inputs = np.asarray(inputs, dtype=np.float64)
    hours = utc_hours(np.asarray(input_times, dtype="datetime64[ns]"))  # (B, T_in)
    if hours.shape != inputs.shape[:2]:
        raise ValueError(
            f"input_times {hours.shape} must be (B, T_in) of inputs {inputs.shape[:2]}"
        )
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels with no hour: NaN
        anomaly = diurnal - np.nanmean(diurnal, axis=0, keepdims=True)
    inv_std = (1.0 / std).reshape((1, 1, -1) + (1,) * (diurnal.ndim - 2))
    d = anomaly[hours] * inv_std  # (B, T_in, C, *spatial)
    both = np.isfinite(d) & np.isfinite(inputs)
    n = both.sum(axis=1)
    d = np.where(both, d, 0.0)
    x = np.where(both, inputs, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(both, d - d.sum(1, keepdims=True) / np.maximum(n, 1)[:, None], 0.0)
        x = np.where(both, x - x.sum(1, keepdims=True) / np.maximum(n, 1)[:, None], 0.0)
        spread = (d * d).sum(1)
        fit = (d * x).sum(1) / spread
    usable = (n >= 2) & (spread > 1e-12) & np.isfinite(fit)
    return np.where(usable, np.clip(fit, *bounds), 1.0)


def diurnal_change(
    diurnal: np.ndarray,
    std: Sequence[float] | np.ndarray,
    init_times: np.ndarray,
    lead_times: np.ndarray,
    scale: Callable[[np.ndarray], np.ndarray] | None = None,
    amplitude: np.ndarray | None = None,
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
    scale : callable, optional
        ``scale(times)`` -> (M, H) seasonal scale of the anomaly per row (an
        :class:`InsolationScale`, restricted to a crop's rows); the change is then
        ``(S_v A[hour_v] - S_0 A[hour_0]) / std`` with ``A = D - mean_h D``.
    amplitude : np.ndarray, optional
        (B, C, *spatial) factor of each window's change (:func:`input_amplitude`).

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
    inv_std = (1.0 / std).reshape((1, 1, -1) + (1,) * (diurnal.ndim - 2))
    if scale is None:
        change = (diurnal[valid] - diurnal[start][:, None]) * inv_std
    else:
        if diurnal.ndim != 4:
            raise ValueError(f"a scaled diurnal change needs (24, C, H, W), got {diurnal.shape}")
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pixels with no hour: NaN, then 0
            anomaly = diurnal - np.nanmean(diurnal, axis=0, keepdims=True)
        s0 = np.asarray(scale(inits))[:, None, None, :, None]  # (B, 1, 1, H, 1)
        sv = np.asarray(scale(valid.reshape(-1))).reshape(*valid.shape, 1, -1, 1)
        change = (sv * anomaly[valid] - s0 * anomaly[start][:, None]) * inv_std
    if amplitude is not None:
        change = change * np.asarray(amplitude)[:, None]
    return np.nan_to_num(change, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
