"""Threshold scores for precipitation/reflectivity: contingency scores and the fractions skill score.

An event is ``value >= threshold``. Pixels where forecast or truth is NaN (outside radar coverage) are
left out. Counts are pooled over the verified init times and all pixels of each lead time, as pysteps
and WeatherBench accumulate contingency tables.

Area weighting (``weights=``, off by default): on latitude/longitude grids a pixel can count with its
cell area (``"wb2"``, see :mod:`gmgclim.metrics.weights`), its ``cos(latitude)`` (``"wb1"``) or
explicit weights of mean 1; the counts are then sums of weights ("equivalent pixels", float64)
instead of integers, so that a row near the pole counts for the area it covers. The FSS window
fractions stay fractions of pixels; the weights enter the two sums over pixels. Radar (``y``/``x``)
grids are always counted uniformly, so radar scores are the same with or without ``weights``.

Contingency scores (H hits, M misses, F false alarms, C correct negatives, N = H + M + F + C):
``pod = H / (H + M)``, ``far = F / (H + F)``, ``csi = H / (H + M + F)``,
``ets = (H - Hr) / (H + M + F - Hr)`` with ``Hr = (H + M)(H + F) / N``.

Fractions skill score (Roberts and Lean 2008): event fractions ``P`` in a ``scale`` x ``scale`` pixel
window (fraction of the window's valid pixels), ``fss = 1 - sum (Pf - Po)^2 / sum (Pf^2 + Po^2)``,
the sums over valid pixels and verified init times (weighted by area when asked).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth
from gmgclim.metrics.weights import resolve_weights

Weights = str | xr.DataArray | None


def _align_da(forecast, truth, lead_times, require_full_coverage) -> AlignedPair:
    if not isinstance(forecast, xr.DataArray) or not isinstance(truth, xr.DataArray):
        raise TypeError(
            "categorical scores take one variable: pass xr.DataArray forecast and truth"
        )
    return align_forecast_truth(
        forecast, truth, lead_times=lead_times, require_full_coverage=require_full_coverage
    )


def _threshold_coord(thresholds, units) -> xr.DataArray:
    values = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"thresholds must be finite numbers, got {thresholds!r}")
    attrs = {"long_name": "event threshold (value >= threshold)"}
    if units:
        attrs["units"] = units
    return xr.DataArray(values, dims=("threshold",), coords={"threshold": values}, attrs=attrs)


def contingency_table(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    thresholds: Sequence[float] | np.ndarray,
    lead_times: Sequence | None = None,
    require_full_coverage: bool = False,
    weights: Weights = None,
) -> xr.Dataset:
    """Counts of hits, misses, false alarms and correct negatives per threshold and lead time.

    Parameters
    ----------
    forecast : xr.DataArray
        dims (time=init, prediction_timedelta, [level], y/x or latitude/longitude).
    truth : xr.DataArray
        dims (time=valid, ...), same grid and units.
    thresholds : sequence of float
        Event thresholds in the data's units (mm/h, dBZ, ...).
    lead_times : sequence of timedelta64, optional
        Lead times to score.
    require_full_coverage : bool
        Raise if the truth misses a valid time.
    weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        Area weighting of the pixels on latitude/longitude grids (default None: every pixel
        counts 1); ignored on radar y/x grids.

    Returns
    -------
    xr.Dataset
        Variables hits, misses, false_alarms, correct_negatives with dims
        (threshold, prediction_timedelta, [level]) and coordinate ``n_verified``: int64 pixel
        counts, or float64 sums of weights (mean-1 weights: equivalent pixels).
    """
    pair = _align_da(forecast, truth, lead_times, require_full_coverage)
    return score_contingency_table(pair, thresholds, weights)


def score_contingency_table(
    pair: AlignedPair, thresholds: Sequence[float] | np.ndarray, weights: Weights = None
) -> xr.Dataset:
    """:func:`contingency_table` of an aligned forecast/truth pair (one variable)."""
    w, dims, weighting = resolve_weights(pair.forecast, weights)
    thr = _threshold_coord(thresholds, pair.forecast.attrs.get("units"))
    valid = pair.forecast.notnull() & pair.truth.notnull() & pair.verified
    fc_event = (pair.forecast >= thr) & valid
    ob_event = (pair.truth >= thr) & valid
    sum_dims = (INIT_DIM, *dims)

    def count(mask: xr.DataArray) -> xr.DataArray:
        return mask.sum(sum_dims) if w is None else (mask * w).sum(sum_dims)

    hits = count(fc_event & ob_event)
    fc_yes = count(fc_event)
    ob_yes = count(ob_event)
    total = count(valid)
    table = xr.Dataset(
        {
            "hits": hits,
            "misses": ob_yes - hits,
            "false_alarms": fc_yes - hits,
            "correct_negatives": total - fc_yes - ob_yes + hits,
        }
    )
    order = [d for d in ("threshold", LEAD_DIM, "level") if d in table.dims]
    table = table.transpose(*order).assign_coords(n_verified=pair.n_verified)
    table.attrs = {
        "event": "value >= threshold",
        "averaging": "counts pooled over init times and pixels, NaN pixels excluded",
        "weighting": weighting,
    }
    return table


def _ratio(num, den):
    return (num / den.where(den > 0)).astype(np.float64)


def _with_attrs(score: xr.DataArray, name: str, table: xr.Dataset) -> xr.DataArray:
    score = score.rename(name)
    score.attrs = dict(table.attrs, metric=name, units="1")
    return score


def pod(table: xr.Dataset) -> xr.DataArray:
    """Probability of detection ``H / (H + M)`` from :func:`contingency_table`; NaN without events."""
    return _with_attrs(_ratio(table.hits, table.hits + table.misses), "pod", table)


def far(table: xr.Dataset) -> xr.DataArray:
    """False alarm ratio ``F / (H + F)`` from :func:`contingency_table`."""
    return _with_attrs(_ratio(table.false_alarms, table.hits + table.false_alarms), "far", table)


def csi(table: xr.Dataset) -> xr.DataArray:
    """Critical success index ``H / (H + M + F)`` from :func:`contingency_table`."""
    den = table.hits + table.misses + table.false_alarms
    return _with_attrs(_ratio(table.hits, den), "csi", table)


def ets(table: xr.Dataset) -> xr.DataArray:
    """Equitable threat score (Gilbert skill score) from :func:`contingency_table`."""
    h, m, f = table.hits, table.misses, table.false_alarms
    n = h + m + f + table.correct_negatives
    h_random = ((h + m) * (f + h)).astype(np.float64) / n.where(n > 0)
    return _with_attrs(_ratio(h - h_random, h + m + f - h_random), "ets", table)


def window_sum(values: np.ndarray, size: int) -> np.ndarray:
    """Sum over a ``size`` x ``size`` window centred on each pixel of the last two axes.

    The window of pixel ``i`` covers ``i - size // 2`` to ``i - size // 2 + size - 1`` (as
    ``scipy.ndimage.uniform_filter``); outside the grid counts as zero. Uses cumulative sums, so
    the cost does not depend on ``size``.

    Parameters
    ----------
    values : np.ndarray
        shape (..., H, W), numeric.
    size : int
        Window width in pixels, >= 1.

    Returns
    -------
    np.ndarray
        float64, shape (..., H, W).
    """
    if size < 1:
        raise ValueError(f"window size must be >= 1 pixel, got {size}")
    a = np.asarray(values, dtype=np.float64)
    h, w = a.shape[-2:]
    lead_pad = size // 2
    trail_pad = size - 1 - lead_pad
    pad = [(0, 0)] * (a.ndim - 2) + [(lead_pad + 1, trail_pad), (lead_pad + 1, trail_pad)]
    c = np.pad(a, pad).cumsum(axis=-2).cumsum(axis=-1)
    # Output row r covers padded rows r + 1 .. r + size: c[r + size] - c[r].
    top = c[..., size : size + h, :]
    bottom = c[..., 0:h, :]
    rows = top - bottom
    return rows[..., :, size : size + w] - rows[..., :, 0:w]


def _fss_sums(
    fc: np.ndarray, ob: np.ndarray, thresholds, scales, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per case: (threshold, scale, 2) numerator and denominator sums of the FSS.

    ``fc``/``ob`` are (..., H, W); ``weights`` (H, W) multiply each pixel's terms (None: 1).
    """
    valid = np.isfinite(fc) & np.isfinite(ob)
    pixel_weight = np.where(valid, 1.0 if weights is None else weights, 0.0)
    lead = fc.shape[:-2]
    out = np.zeros((*lead, len(thresholds), len(scales), 2))
    for k, size in enumerate(scales):
        n_valid = window_sum(valid, int(size))
        n_valid_safe = np.where(n_valid > 0, n_valid, 1.0)
        for i, thr in enumerate(thresholds):
            pf = window_sum((fc >= thr) & valid, int(size)) / n_valid_safe
            po = window_sum((ob >= thr) & valid, int(size)) / n_valid_safe
            out[..., i, k, 0] = (pixel_weight * (pf - po) ** 2).sum(axis=(-2, -1))
            out[..., i, k, 1] = (pixel_weight * (pf**2 + po**2)).sum(axis=(-2, -1))
    return out


def fss(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    thresholds: Sequence[float] | np.ndarray,
    scales: Sequence[int] | np.ndarray,
    lead_times: Sequence | None = None,
    require_full_coverage: bool = False,
    weights: Weights = None,
) -> xr.DataArray:
    """Fractions skill score per threshold, window scale and lead time, NaN-aware.

    Parameters
    ----------
    forecast : xr.DataArray
        dims (time=init, prediction_timedelta, [level], two spatial dims), whole fields per chunk.
    truth : xr.DataArray
        dims (time=valid, ...), same grid and units.
    thresholds : sequence of float
        Event thresholds in the data's units.
    scales : sequence of int
        Window widths in pixels (1 = pixel by pixel).
    lead_times : sequence of timedelta64, optional
        Lead times to score.
    require_full_coverage : bool
        Raise if the truth misses a valid time.
    weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        Area weights of the pixels' terms in the two FSS sums on latitude/longitude grids
        (default None: uniform); ignored on radar y/x grids.

    Returns
    -------
    xr.DataArray
        float64, dims (threshold, scale, prediction_timedelta, [level]); 1 for a perfect forecast,
        0 when no forecast and observed fractions overlap, NaN when neither field has an event.
    """
    pair = _align_da(forecast, truth, lead_times, require_full_coverage)
    return score_fss(pair, thresholds, scales, weights)


def _pixel_weights(w: xr.DataArray | None, pair: AlignedPair, dims) -> np.ndarray | None:
    """Weights as a numpy (H, W) array on the spatial dims, or None."""
    if w is None:
        return None
    ones = xr.DataArray(
        np.ones([pair.forecast.sizes[d] for d in dims]),
        dims=dims,
        coords={d: pair.forecast[d] for d in dims},
    )
    return np.asarray((ones * w).transpose(*dims).values, dtype=np.float64)


def score_fss(
    pair: AlignedPair,
    thresholds: Sequence[float] | np.ndarray,
    scales: Sequence[int] | np.ndarray,
    weights: Weights = None,
) -> xr.DataArray:
    """:func:`fss` of an aligned forecast/truth pair (one variable)."""
    w, dims, weighting = resolve_weights(pair.forecast, weights)
    thr = _threshold_coord(thresholds, pair.forecast.attrs.get("units"))
    scale_values = np.atleast_1d(np.asarray(scales, dtype=np.int64))
    if scale_values.size == 0 or (scale_values < 1).any():
        raise ValueError(f"scales must be window widths >= 1 pixel, got {scales!r}")
    fc = pair.forecast.where(pair.verified)
    ob = pair.truth
    if fc.chunks is not None:
        fc = fc.chunk({d: -1 for d in dims})
        ob = ob.chunk(dict(fc.chunksizes))
    sums = xr.apply_ufunc(
        _fss_sums,
        fc,
        ob,
        kwargs={
            "thresholds": thr.values,
            "scales": scale_values,
            "weights": _pixel_weights(w, pair, dims),
        },
        input_core_dims=[list(dims), list(dims)],
        output_core_dims=[["threshold", "scale", "fss_term"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={
            "output_sizes": {"threshold": thr.size, "scale": scale_values.size, "fss_term": 2}
        },
    )
    totals = sums.sum(INIT_DIM)
    num = totals.isel(fss_term=0)
    den = totals.isel(fss_term=1)
    score = 1.0 - num / den.where(den > 0)
    score = score.assign_coords(
        threshold=thr, scale=("scale", scale_values, {"units": "pixels"})
    ).drop_vars("fss_term", errors="ignore")
    order = [d for d in ("threshold", "scale", LEAD_DIM, "level") if d in score.dims]
    score = score.transpose(*order).assign_coords(n_verified=pair.n_verified).rename("fss")
    score.attrs = {
        "metric": "fss",
        "units": "1",
        "event": "value >= threshold",
        "averaging": "squared fraction differences summed over pixels and init times, then ratio",
        "window": "scale x scale pixels, fractions of the valid pixels in the window",
        "weighting": weighting,
    }
    return score
