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

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth
from gmgclim.metrics.observed_fractions import ObservedFractions, event_box
from gmgclim.metrics.weights import resolve_weights
from gmgclim.metrics.window_sums import fss_terms, inverse_count, window_sum, windows_around

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
    fc = pair.forecast.where(pair.verified)
    ob = pair.truth
    if fc.chunks is not None:
        fc = fc.chunk({d: -1 for d in dims})
        ob = ob.chunk(dict(fc.chunksizes))
    pixel_weights = _pixel_weights(w, pair, dims)
    counts = xr.apply_ufunc(
        _event_counts,
        fc,
        ob,
        kwargs={"thresholds": thr.values, "weights": pixel_weights},
        input_core_dims=[list(dims), list(dims)],
        output_core_dims=[["threshold", "count"]],
        dask="parallelized",
        output_dtypes=[np.int64 if pixel_weights is None else np.float64],
        dask_gufunc_kwargs={"output_sizes": {"threshold": thr.size, "count": 4}},
    )
    counts = counts.sum(INIT_DIM).assign_coords(threshold=thr)
    hits, fc_yes, ob_yes, total = (counts.isel(count=i, drop=True) for i in range(4))
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


def _event_counts(
    fc: np.ndarray, ob: np.ndarray, thresholds: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """(..., threshold, 4) hits, forecast events, observed events and valid pixels per field.

    Integer counts, or sums of ``weights`` (H, W) when given; NaN pixels are not valid. One
    field at a time (whole-block boolean temporaries and axis-wise counts are 2x slower).
    """
    h, w = fc.shape[-2:]
    fc2 = fc.reshape(-1, h, w)
    ob2 = ob.reshape(-1, h, w)
    dtype = np.int64 if weights is None else np.float64
    out = np.zeros((fc2.shape[0], len(thresholds), 4), dtype=dtype)

    def count(mask: np.ndarray):
        return np.count_nonzero(mask) if weights is None else weights[mask].sum()

    for n in range(fc2.shape[0]):
        valid = np.isfinite(fc2[n])
        valid &= np.isfinite(ob2[n])
        total = count(valid)
        with np.errstate(invalid="ignore"):
            for i, thr in enumerate(thresholds):
                fc_event = fc2[n] >= thr
                fc_event &= valid
                ob_event = ob2[n] >= thr
                ob_event &= valid
                out[n, i, 1] = count(fc_event)
                out[n, i, 2] = count(ob_event)
                fc_event &= ob_event
                out[n, i, 0] = count(fc_event)
                out[n, i, 3] = total
    return out.reshape(*fc.shape[:-2], len(thresholds), 4)


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


def _fss_field(
    fc: np.ndarray, ob: np.ndarray, thresholds, scales, weights: np.ndarray | None
) -> np.ndarray:
    """(threshold, scale, 2) FSS sums of one (H, W) field.

    Both fractions are 0 farther than half a window from every event, where the pixel adds
    nothing to either sum; so the windows are computed only on the box around the events of the
    lowest threshold (the events of higher thresholds lie inside it), grown by the window's reach
    and read with another reach of margin, which gives the same sums as the whole field.
    """
    valid = np.isfinite(fc) & np.isfinite(ob)
    with np.errstate(invalid="ignore"):
        fc_events = [(fc >= thr) & valid for thr in thresholds]
        ob_events = [(ob >= thr) & valid for thr in thresholds]
    out = np.zeros((len(thresholds), len(scales), 2))
    any_event = np.zeros_like(valid)
    for fe, oe in zip(fc_events, ob_events, strict=True):
        any_event |= fe | oe
    box = event_box(any_event)
    if box is None:  # no event at any threshold: every fraction is 0
        return out
    for k, size in enumerate(scales):
        size = int(size)
        if size == 1 and weights is None:
            # fractions are the 0/1 events: the sums are counts, exactly
            for i in range(len(thresholds)):
                fe, oe = fc_events[i], ob_events[i]
                out[i, k, 0] = np.count_nonzero(fe ^ oe)
                out[i, k, 1] = np.count_nonzero(fe) + np.count_nonzero(oe)
            continue
        read, inner, region = windows_around(box, valid.shape, size)
        n_valid = window_sum(valid[read], size)[inner]
        inv = inverse_count(n_valid)
        valid_region = valid[region]
        pixel_weight = None if weights is None else np.where(valid_region, weights[region], 0.0)
        for i in range(len(thresholds)):
            pf = window_sum(fc_events[i][read], size)[inner]
            pf *= inv
            po = window_sum(ob_events[i][read], size)[inner]
            po *= inv
            # pixels outside the valid mask have no events but may have fractions: masked
            out[i, k] = fss_terms(pf, po, valid_region, pixel_weight)
    return out


def _fss_sums(
    fc: np.ndarray,
    ob: np.ndarray,
    thresholds,
    scales,
    weights: np.ndarray | None = None,
    observed: ObservedFractions | None = None,
    keys: np.ndarray | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Per case: (threshold, scale, 2) numerator and denominator sums of the FSS.

    ``fc``/``ob`` are (..., H, W); ``weights`` (H, W) multiply each pixel's terms (None: 1).
    Fields are processed one at a time per thread, so memory stays bounded whatever the leading
    shape. With ``observed`` and ``keys`` (..., 2) int64 (valid time in ns, level index) of each
    truth field, the truth's fractions are computed once per key and shared
    (:mod:`observed_fractions`). ``threads`` > 1 spreads the fields over a thread pool (the
    window sums and array arithmetic release the GIL); the sums do not depend on it.
    """
    lead = fc.shape[:-2]
    h, w = fc.shape[-2:]
    fc2 = np.asarray(fc).reshape(-1, h, w)
    ob2 = np.asarray(ob).reshape(-1, h, w)
    keys2 = None if keys is None else np.asarray(keys).reshape(-1, 2)
    out = np.zeros((fc2.shape[0], len(thresholds), len(scales), 2))
    cached = observed is not None and keys2 is not None
    field_keys = [(int(k[0]), int(k[1])) for k in keys2] if cached and keys2 is not None else []

    def one(n: int) -> None:
        if cached and observed is not None:
            out[n] = observed.sums(fc2[n], observed.frame(field_keys[n], ob2[n]))
        else:
            out[n] = _fss_field(fc2[n], ob2[n], thresholds, scales, weights)

    if threads > 1 and fc2.shape[0] > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            if cached and observed is not None:  # each truth frame once, before the pairs
                first = {key: n for n, key in reversed(list(enumerate(field_keys)))}
                list(pool.map(lambda kn: observed.frame(kn[0], ob2[kn[1]]), first.items()))
            list(pool.map(one, range(fc2.shape[0])))
    else:
        for n in range(fc2.shape[0]):
            one(n)
    return out.reshape(*lead, len(thresholds), len(scales), 2)


def _valid_time_keys(pair: AlignedPair, dims) -> np.ndarray:
    """(..., 2) int64 of each field of an aligned pair: valid time (ns) and level index.

    The leading dims are the forecast's dims other than ``dims``, in its order (as
    ``xr.apply_ufunc`` passes the fields).
    """
    fields = pair.forecast.isel({d: 0 for d in dims}, drop=True)
    valid = (fields[INIT_DIM] + fields[LEAD_DIM]).astype("datetime64[ns]")
    keys = np.zeros((*fields.shape, 2), dtype=np.int64)
    keys[..., 0] = valid.broadcast_like(fields).transpose(*fields.dims).values.astype(np.int64)
    extra = [d for d in fields.dims if d not in (INIT_DIM, LEAD_DIM)]
    if extra:  # levels (or any other extra dim): a flat index over them
        sizes = [fields.sizes[d] for d in extra]
        index = xr.DataArray(np.arange(int(np.prod(sizes))).reshape(sizes), dims=extra)
        keys[..., 1] = index.broadcast_like(fields).transpose(*fields.dims).values
    return keys


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


def fss_sums(
    pair: AlignedPair,
    thresholds: Sequence[float] | np.ndarray,
    scales: Sequence[int] | np.ndarray,
    weights: Weights = None,
    observed: ObservedFractions | None = None,
) -> xr.DataArray:
    """The FSS numerator and denominator sums of a pair, summed over its init times.

    Sums of several init-time blocks add up to those of all of them (as pysteps' ``fss_accum``);
    :func:`fss_from_sums` turns them into scores.

    Parameters
    ----------
    pair : AlignedPair
        One variable.
    thresholds, scales, weights
        As in :func:`fss`.
    observed : ObservedFractions, optional
        A cache of the truth frames' fractions shared by the blocks and candidates of one
        variable (built with the same thresholds, scales and weights); used on in-memory pairs,
        frames before the block's first valid time are dropped from it.

    Returns
    -------
    xr.DataArray
        float64, dims (prediction_timedelta, [level], threshold, scale, fss_term), ``fss_term`` 0 the
        numerator ``sum (Pf - Po)^2``, 1 the denominator ``sum (Pf^2 + Po^2)``; attribute
        ``weighting``.
    """
    w, dims, weighting = resolve_weights(pair.forecast, weights)
    thr = _threshold_coord(thresholds, pair.forecast.attrs.get("units"))
    scale_values = np.atleast_1d(np.asarray(scales, dtype=np.int64))
    if scale_values.size == 0 or (scale_values < 1).any():
        raise ValueError(f"scales must be window widths >= 1 pixel, got {scales!r}")
    fc = pair.forecast.where(pair.verified)
    ob = pair.truth
    kwargs: dict[str, Any] = {"thresholds": thr.values, "scales": scale_values}
    kwargs["weights"] = pixel_weights = _pixel_weights(w, pair, dims)
    if fc.chunks is not None:
        fc = fc.chunk({d: -1 for d in dims})
        ob = ob.chunk(dict(fc.chunksizes))
    elif observed is not None and fc.size:
        keys = _valid_time_keys(pair, dims)
        observed.configure(thr.values, scale_values, pixel_weights)
        observed.forget_before(int(keys[..., 0].min()))
        kwargs.update(observed=observed, keys=keys, threads=min(os.cpu_count() or 1, 4))
    sums = xr.apply_ufunc(
        _fss_sums,
        fc,
        ob,
        kwargs=kwargs,
        input_core_dims=[list(dims), list(dims)],
        output_core_dims=[["threshold", "scale", "fss_term"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={
            "output_sizes": {"threshold": thr.size, "scale": scale_values.size, "fss_term": 2}
        },
    )
    totals = sums.sum(INIT_DIM).assign_coords(threshold=thr, scale=("scale", scale_values))
    totals.attrs = {"weighting": weighting}
    return totals


def fss_from_sums(sums: xr.DataArray, n_verified: xr.DataArray) -> xr.DataArray:
    """Fractions skill scores from :func:`fss_sums` (of one or several init-time blocks added up).

    Parameters
    ----------
    sums : xr.DataArray
        From :func:`fss_sums`.
    n_verified : xr.DataArray
        Verified init times per lead time, (prediction_timedelta,).

    Returns
    -------
    xr.DataArray
        As :func:`fss`.
    """
    num = sums.isel(fss_term=0)
    den = sums.isel(fss_term=1)
    score = (1.0 - num / den.where(den > 0)).drop_vars("fss_term", errors="ignore")
    score["scale"].attrs = {"units": "pixels"}
    order = [d for d in ("threshold", "scale", LEAD_DIM, "level") if d in score.dims]
    score = score.transpose(*order).assign_coords(n_verified=n_verified).rename("fss")
    score.attrs = {
        "metric": "fss",
        "units": "1",
        "event": "value >= threshold",
        "averaging": "squared fraction differences summed over pixels and init times, then ratio",
        "window": "scale x scale pixels, fractions of the valid pixels in the window",
        "weighting": sums.attrs.get("weighting", "uniform"),
    }
    return score


def score_fss(
    pair: AlignedPair,
    thresholds: Sequence[float] | np.ndarray,
    scales: Sequence[int] | np.ndarray,
    weights: Weights = None,
) -> xr.DataArray:
    """:func:`fss` of an aligned pair (one variable)."""
    return fss_from_sums(fss_sums(pair, thresholds, scales, weights), pair.n_verified)
