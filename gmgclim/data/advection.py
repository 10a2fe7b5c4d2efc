"""Advection of 2-D fields by their own optical flow (pysteps): the extrapolation nowcast kernel.

Used by the extrapolation baseline forecast (:mod:`gmgclim.inference.extrapolation`) and, as a
residual baseline, by sample windows (:class:`gmgclim.data.torch_dataset.WindowDataset`) and the
forecaster, so that a model trained on the correction to advection sees the same advection.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["PRECIPITATION_VARIABLES", "advected_baseline", "nowcast_fields"]


#: Variables moved to decibels before the motion is estimated (rates or amounts, >= 0).
PRECIPITATION_VARIABLES = ("precipitation_rate", "total_precipitation")
# pysteps' usual settings for rain-rate optical flow: rates below this are "no rain" ...
_RAIN_THRESHOLD_MM_H = 0.1
# ... and are set to this many dB before the motion is estimated.
_DB_ZERO = -15.0


def _pysteps():
    """Import pysteps quietly (it prints where it found its config) and offline."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pysteps
            from pysteps import extrapolation, motion
    except ImportError as exc:  # pragma: no cover - pysteps is a dependency
        raise ImportError("the extrapolation nowcast needs pysteps: pip install pysteps") from exc
    del pysteps
    return motion, extrapolation


def _check_lk_available() -> None:
    try:
        import cv2  # noqa: F401  (pysteps' Lucas-Kanade runs on OpenCV)
    except ImportError as exc:
        raise ImportError(
            "pysteps' Lucas-Kanade optical flow needs OpenCV: pip install opencv-python-headless"
        ) from exc


def _motion_field(frames: np.ndarray, precipitation: bool, method: str) -> np.ndarray:
    """Motion (2, H, W) in pixels per frame step from frames (T, H, W), NaN = no data."""
    motion, _ = _pysteps()
    finite = np.isfinite(frames)
    if not finite.any(axis=(1, 2)).all():
        return np.zeros((2, *frames.shape[1:]))
    if precipitation:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(frames >= _RAIN_THRESHOLD_MM_H, 10.0 * np.log10(frames), _DB_ZERO)
    else:
        values = frames.astype(np.float64)
    fill = np.nanmin(np.where(finite, values, np.nan))
    masked = np.ma.masked_array(np.where(finite, values, fill), mask=~finite)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        velocity = motion.get_method(method)(masked, verbose=False)
    velocity = np.asarray(velocity, dtype=np.float64)
    # pysteps may leave NaN where no vector could be interpolated: no motion there
    return np.where(np.isfinite(velocity), velocity, 0.0)


def nowcast_fields(
    frames: np.ndarray,
    lead_steps: Sequence[float],
    precipitation: bool = True,
    motion_method: str = "LK",
) -> np.ndarray:
    """Extrapolation nowcast of one sequence of 2-D fields.

    Parameters
    ----------
    frames : np.ndarray, shape (T_in, H, W)
        The last ``T_in`` >= 2 frames, one time step apart, the init frame last; NaN = no data.
        Precipitation in mm/h (or any non-negative amount) when ``precipitation``.
    lead_steps : sequence of float
        Lead times in units of the frame step, increasing and > 0, e.g. ``[1, 2, 3]``.
    precipitation : bool
        Move to decibels before the motion is estimated (rain rates / amounts); False for
        fields that are already logarithmic (dBZ) or not precipitation.
    motion_method : str
        pysteps motion method name; ``"LK"`` (Lucas-Kanade) by default.

    Returns
    -------
    np.ndarray, float32, shape (len(lead_steps), H, W)
        The init frame advected to each lead time; NaN where advected from outside the domain
        or from no-data.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 3 or frames.shape[0] < 2:
        raise ValueError(f"frames must be (T_in >= 2, H, W), got shape {frames.shape}")
    steps = [float(s) for s in lead_steps]
    if not steps or steps[0] <= 0 or np.any(np.diff(steps) <= 0):
        raise ValueError(f"lead_steps must be positive and increasing, got {steps}")
    if motion_method.upper() == "LK":
        _check_lk_available()
    _, extrapolation = _pysteps()
    velocity = _motion_field(frames, precipitation, motion_method)
    last = frames[-1]
    if not np.isfinite(last).any():
        return np.full((len(steps), *last.shape), np.nan, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = extrapolation.get_method("semilagrangian")(
            last, velocity, steps, outval=np.nan, allow_nonfinite_values=True
        )
    out = np.asarray(out, dtype=np.float32)
    if precipitation:
        out = np.where(np.isfinite(out), np.maximum(out, 0.0), np.nan).astype(np.float32)
    return out


def advected_baseline(
    frames: np.ndarray, n_leads: int, precipitation: Sequence[bool], motion_frames: int = 3
) -> np.ndarray:
    """Extrapolation of every channel of a window's inputs, persistence where it cannot reach.

    Parameters
    ----------
    frames : np.ndarray, shape (T_in, C, H, W)
        Input frames in physical units, the init frame last; NaN = no data.
    n_leads : int
        T_out, forecast frames one frame step apart.
    precipitation : sequence of bool, length C
        Channels that are rates or amounts (moved to decibels for the motion).
    motion_frames : int
        The last frames used for the motion (at least 2).

    Returns
    -------
    np.ndarray, float32, shape (T_out, C, H, W)
        Advected init frame; cells advected from outside the grid or from no-data keep the init
        frame's value (persistence), so the baseline is defined wherever the input is.
    """
    frames = np.asarray(frames, dtype=np.float32)
    last = frames[-1]
    out = np.empty((n_leads, *last.shape), np.float32)
    leads = list(range(1, n_leads + 1))
    for c in range(frames.shape[1]):
        recent = frames[-max(2, motion_frames) :, c]
        if recent.shape[0] < 2 or not np.isfinite(recent[-1]).any():
            out[:, c] = last[c]
            continue
        advected = nowcast_fields(recent, leads, precipitation=bool(precipitation[c]))
        out[:, c] = np.where(np.isfinite(advected), advected, last[c][None])
    return out
