"""Probability matching: a forecast's values replaced by the observed ones, rank for rank.

A network trained on a squared error smooths what it cannot place exactly: its rain fields lose
their peaks and spread light rain wide, and the longer the lead the more. ``data.probability_
matching: cdf`` (the ``"cdf"`` matching of pysteps' STEPS/S-PROG nowcasts) keeps *where* the
network puts rain and how it orders the cells, but takes *how much* from the last observed frame:
within the cells observed in that frame, the cell with the k-th largest forecast value gets the
k-th largest observed value, so every lead has the rain-rate distribution (wet area, heavy-rain
area, peak) of the last observation. It suits nowcasts of ~1 h, over which a rain field's
distribution changes little; it cannot forecast growth or decay of the area as a whole.
"""

from __future__ import annotations

import numpy as np

__all__ = ["match_to_reference"]


def match_to_reference(forecast: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each forecast field with the values of its reference field, in the forecast's rank order.

    Parameters
    ----------
    forecast : np.ndarray
        (B, T, *spatial) forecast fields in physical units (e.g. mm h-1), one channel.
    reference : np.ndarray
        (B, *spatial) the field whose values every lead of a window takes (the last input
        frame), same units; NaN where not observed.

    Returns
    -------
    np.ndarray
        Same shape and dtype as ``forecast``. Within the cells where the reference and the
        forecast are finite, the cell of the k-th smallest forecast value holds the k-th
        smallest reference value (tied forecast values share their reference values in an order
        fixed by the sort); other cells keep the forecast's value.

    Examples
    --------
    >>> f = np.array([[[[0.2, 3.0], [1.0, np.nan]]]])
    >>> r = np.array([[[5.0, 0.0], [1.0, 2.0]]])
    >>> match_to_reference(f, r)[0, 0].tolist()
    [[0.0, 5.0], [1.0, nan]]
    """
    forecast = np.asarray(forecast)
    reference = np.asarray(reference)
    if forecast.ndim < 3 or reference.shape != forecast.shape[:1] + forecast.shape[2:]:
        raise ValueError(
            f"forecast (B, T, *spatial) {forecast.shape} and reference (B, *spatial) "
            f"{reference.shape} do not match"
        )
    out = forecast.copy()
    batch, steps = forecast.shape[:2]
    flat = out.reshape(batch, steps, -1)
    ref = reference.reshape(batch, -1)
    for b in range(batch):
        observed = np.flatnonzero(np.isfinite(ref[b]))
        finite = np.isfinite(flat[b][:, observed])  # (T, n): usually all
        shared = np.sort(ref[b, observed]) if finite.all() else None
        for t in range(steps):
            cells = observed if shared is not None else observed[finite[t]]
            if cells.size == 0:
                continue
            values = shared if shared is not None else np.sort(ref[b, cells])
            flat[b, t, cells[np.argsort(flat[b, t, cells])]] = values
    return out
