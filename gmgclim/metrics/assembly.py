"""The scores Dataset of :func:`gmgclim.metrics.score.score_forecast`, put together.

What to score (:class:`ScoreSpec`, checked once by :func:`score_spec`), the statistics of each
forecast variable accumulated over init-time blocks (:class:`Accumulator`, :func:`accumulate`) and
the data variables formed from them at the end (:func:`finish_variable`, :func:`finalise`); the
layout is described in :mod:`gmgclim.metrics.score`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import AlignedPair, lead_hours
from gmgclim.metrics.background import OrderedBackground
from gmgclim.metrics.categorical import fss_from_sums, fss_sums, score_contingency_table
from gmgclim.metrics.observed_fractions import ObservedFractions
from gmgclim.metrics.registry import METRIC_NAMES, Metric, resolve_metric
from gmgclim.metrics.weights import WEIGHT_NAMES, cell_area_weights, latitude_bounds_of

#: ``score_kind`` of a data variable -> the registry kinds of the metrics it holds.
SCORE_KINDS = {"deterministic": ("deterministic",), "categorical": ("contingency", "fss")}
PIXEL_SCALE = 1


def per_variable(value, variable: str, what: str):
    if value is None:
        return None
    if isinstance(value, Mapping):
        if variable not in value:
            raise DataError(f"no {what} given for variable '{variable}' (keys {sorted(value)})")
        return value[variable]
    return value


@dataclasses.dataclass
class ScoreSpec:
    """What to score, checked once: variables, metrics by kind, thresholds, weights, attrs."""

    names: list[str]
    metrics: list[str]
    det: list[str]
    cat: list[str]
    convention: str
    thresholds: Sequence[float] | Mapping[str, Sequence[float]] | None
    scales: list[int]
    area_weights: xr.DataArray | None
    categorical_weights: str | xr.DataArray | None
    skipna: bool
    climatology: xr.Dataset | None
    attrs: dict[str, str]


@dataclasses.dataclass
class Accumulator:
    """The statistics of one candidate's variable over the blocks seen so far."""

    det_stats: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    weighting: dict[str, str] = dataclasses.field(default_factory=dict)
    table: xr.Dataset | None = None
    table_attrs: dict = dataclasses.field(default_factory=dict)
    fss: xr.DataArray | None = None
    fss_attrs: dict = dataclasses.field(default_factory=dict)
    verified: list[xr.DataArray] = dataclasses.field(default_factory=list)
    missing: list[xr.DataArray] = dataclasses.field(default_factory=list)

    def add(self, name: str, value) -> None:
        """Add a block's ``table`` or ``fss`` sums; their attrs go to ``<name>_attrs``."""
        current = getattr(self, name)
        attrs = dict(value.attrs)
        value = value.drop_vars("n_verified", errors="ignore")
        setattr(self, name, value if current is None else current + value)
        setattr(self, f"{name}_attrs", attrs)


def _det_weights(metric: Metric, spec: ScoreSpec):
    weights = metric.weights or spec.convention
    if weights == "wb2" and spec.area_weights is not None:
        return spec.area_weights  # the grid's CF latitude bounds
    return weights


def accumulate(
    acc: Accumulator,
    pair: AlignedPair,
    name: str,
    spec: ScoreSpec,
    clim,
    observed: ObservedFractions | None = None,
    background: OrderedBackground | None = None,
) -> None:
    """Add one block's statistics of one variable to ``acc``.

    ``observed`` caches the truth frames' FSS fractions of this variable across blocks and
    candidates (see :mod:`gmgclim.metrics.observed_fractions`). With ``background``, the
    categorical statistics (contingency tables, FSS sums) are computed there and added to
    ``acc`` when delivered, in order, while the caller goes on with the next block; the
    deterministic statistics are added before this returns.
    """
    acc.verified.append(pair.verified)
    acc.missing.append(missing_cells(pair))
    for metric_name in spec.det:
        metric = resolve_metric(metric_name, spec.convention)
        assert metric.parts is not None
        kwargs = {"climatology": clim} if metric.needs_climatology else {}
        stats, weighting = metric.parts.statistics(
            pair, _det_weights(metric, spec), spec.skipna, **kwargs
        )
        acc.det_stats.setdefault(metric_name, []).append(stats)
        acc.weighting[metric_name] = weighting
    if not spec.cat:
        return
    thr = per_variable(spec.thresholds, name, "thresholds")
    assert thr is not None  # score_spec checked that every variable has thresholds
    kinds = {resolve_metric(m).kind for m in spec.cat}
    jobs: dict[str, Callable[[], Any]] = {}  # Accumulator field -> its statistics of the block
    if "contingency" in kinds:
        jobs["table"] = lambda: score_contingency_table(pair, thr, spec.categorical_weights)
    if "fss" in kinds:
        jobs["fss"] = lambda: fss_sums(
            pair, thr, spec.scales, spec.categorical_weights, observed=observed
        )
    for key, job in jobs.items():
        add = functools.partial(acc.add, key)
        if background is None:
            add(job())
        else:
            background.submit(job, add)


def missing_cells(pair: AlignedPair) -> xr.DataArray:
    """Per lead time: cells with a finite truth where the forecast is NaN or +-inf, and cells
    with a finite truth (dim ``cells``: missing, truth), summed over the pair's init times.

    NaN-aware scores skip the missing cells; these counts say how many were skipped.
    """
    truth_ok = cast(xr.DataArray, np.isfinite(pair.truth))
    missing = truth_ok & ~pair.valid  # valid: forecast and truth finite, shared with the metrics
    other = [d for d in pair.forecast.dims if d != LEAD_DIM]
    counts = [missing.sum(other, dtype=np.int64), truth_ok.sum(other, dtype=np.int64)]
    return xr.concat(counts, dim="cells").assign_coords(cells=["missing", "truth"])


def _joined(pieces: list[dict]) -> dict:
    """Per-init statistics of every block, concatenated along init time."""
    if len(pieces) == 1:
        return pieces[0]
    out = {}
    for key, first in pieces[0].items():
        if isinstance(first, float):  # the same for every init time (sum of weights)
            out[key] = first
        else:
            out[key] = xr.concat([p[key] for p in pieces], dim=INIT_DIM)
    return out


def finish_variable(
    acc: Accumulator, template: xr.DataArray, name: str, spec: ScoreSpec
) -> dict[str, xr.DataArray]:
    """The score variables of one forecast variable from its accumulated statistics."""
    verified = acc.verified[0] if len(acc.verified) == 1 else xr.concat(acc.verified, INIT_DIM)
    whole = AlignedPair(template, template, verified)
    n_verified = whole.n_verified
    out = {}
    if spec.det:
        # Scores of a DataArray template are DataArrays (the metrics are typed DataArray | Dataset).
        pieces: list[xr.DataArray] = []
        for metric_name in spec.det:
            metric = resolve_metric(metric_name, spec.convention)
            assert metric.parts is not None
            stats = _joined(acc.det_stats[metric_name])
            score = metric.parts.reduce(stats, whole, spec.skipna, acc.weighting[metric_name])
            spec.attrs[f"averaging_{metric_name}"] = score.attrs["averaging"]
            spec.attrs[f"weighting_{metric_name}"] = score.attrs["weighting"]
            piece = score.drop_vars("n_verified").expand_dims(metric=[metric_name])
            pieces.append(cast(xr.DataArray, piece))
        da = xr.concat(pieces, dim="metric").reindex(metric=spec.metrics)
        da.attrs = {"units": str(template.attrs.get("units", "")), "variable": name}
        da.attrs["comment"] = "acc is dimensionless; mse in units squared"
        da.attrs["score_kind"] = "deterministic"
        out[name] = da
    if spec.cat:
        with_fss = acc.fss is not None
        pieces = []
        for metric_name in spec.cat:
            metric = resolve_metric(metric_name)
            if metric.kind == "fss":
                assert acc.fss is not None
                sums = acc.fss.assign_attrs(acc.fss_attrs)
                score = fss_from_sums(sums, n_verified)
            else:
                assert acc.table is not None
                table = acc.table.assign_attrs(acc.table_attrs)
                score = metric.function(table.assign_coords(n_verified=n_verified))
                if with_fss:  # pixel-by-pixel scores: the 1-pixel scale of the FSS windows
                    score = score.expand_dims(scale=[PIXEL_SCALE])
            piece = score.drop_vars("n_verified").expand_dims(metric=[metric_name])
            pieces.append(cast(xr.DataArray, piece))
        da = xr.concat(pieces, dim="metric", join="outer", combine_attrs="drop")
        order = ("metric", "threshold", "scale", LEAD_DIM, "level")
        da = da.transpose(*[d for d in order if d in da.dims], ...)
        if "scale" in da.dims:
            da["scale"].attrs = {"units": "pixels", "long_name": "FSS window width"}
        da = da.reindex(metric=spec.metrics)
        da.attrs = {
            "units": "1",
            "variable": name,
            "score_kind": "categorical",
            "event": "value >= threshold",
            "comment": "csi, pod, far, ets are pixel scores, stored at scale 1",
        }
        out[f"{name}_categorical"] = da
    counts = n_verified.drop_vars([c for c in n_verified.coords if c != LEAD_DIM])
    counts.attrs = {"variable": name, "score_kind": "n_verified", "units": "1"}
    out[f"{name}_n_verified"] = counts
    cells = sum(acc.missing[1:], acc.missing[0]).compute() if acc.missing else None
    if cells is not None:
        cells.attrs = {
            "variable": name,
            "score_kind": "n_cells",
            "units": "1",
            "long_name": "forecast cells skipped (NaN/inf where the truth is finite), truth cells",
        }
        out[f"{name}_n_cells"] = cells
    return out


def climatologies(spec: ScoreSpec, truth: xr.Dataset, streamed: bool) -> dict:
    """Per variable: the climatology ACC is scored against (None when acc is not asked for)."""
    out: dict = {}
    for name in spec.names:
        clim = None
        if any(resolve_metric(m, spec.convention).needs_climatology for m in spec.det):
            clim = per_variable(spec.climatology, name, "climatology")
            if isinstance(clim, xr.Dataset):
                clim = clim[name]
            if clim is None:  # WeatherBench 1: the truth's time mean, read once
                clim = truth[name].mean(INIT_DIM)
                clim = clim.compute() if streamed else clim
        out[name] = clim
    return out


#: The options :func:`score_spec` reads, with :func:`~gmgclim.metrics.score.score_forecast`'s
#: defaults (:func:`~gmgclim.metrics.score.score_with_baselines` takes them as keywords).
SPEC_DEFAULTS: dict[str, Any] = {
    "variables": None,
    "metrics": ("rmse", "mae", "bias", "acc"),
    "climatology": None,
    "convention": "wb2",
    "thresholds": None,
    "scales": None,
    "skipna": False,
    "categorical_weights": None,
}


def score_spec(
    fc_ds: xr.Dataset,
    tr_ds: xr.Dataset,
    variables,
    metrics,
    climatology,
    convention,
    thresholds,
    scales,
    skipna,
    categorical_weights,
) -> ScoreSpec:
    """What to score, checked: the options of :func:`~gmgclim.metrics.score.score_forecast`."""
    if convention not in ("wb1", "wb2"):
        raise ValueError(f"convention must be 'wb1' or 'wb2', got {convention!r}")
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRIC_NAMES)}")
    if variables is not None:
        names = list(variables)
    else:  # every forecast field (not grid-mapping or bounds variables)
        names = [str(k) for k, v in fc_ds.data_vars.items() if {INIT_DIM, LEAD_DIM} <= set(v.dims)]
    for name in names:
        if name not in fc_ds.data_vars:
            raise DataError(f"forecast has no variable '{name}' (it has {list(fc_ds.data_vars)})")
        if name not in tr_ds.data_vars:
            raise DataError(f"truth has no variable '{name}' (it has {list(tr_ds.data_vars)})")
    det = [m for m in metrics if resolve_metric(m, convention).kind == "deterministic"]
    cat = [m for m in metrics if m not in det]
    if "acc" in det and convention == "wb2" and climatology is None:
        raise DataError(
            "metric 'acc' needs a climatology",
            hint="pass climatology=compute_climatology(truth, years=<training years>)",
        )
    if cat:
        for name in names:
            if per_variable(thresholds, name, "thresholds") is None:
                raise DataError(f"metrics {cat} need thresholds for '{name}'")
    bounds = latitude_bounds_of(fc_ds)
    area_weights = cell_area_weights(fc_ds["latitude"], bounds) if bounds is not None else None
    attrs: dict[str, str] = {
        "convention": convention,
        "weighting": WEIGHT_NAMES[convention],
        "categorical_event": "value >= threshold; NaN pixels excluded; counts pooled",
        "categorical_weighting": str(categorical_weights or "uniform"),
        "metrics": " ".join(metrics),
    }
    return ScoreSpec(
        names=names,
        metrics=list(metrics),
        det=det,
        cat=cat,
        convention=convention,
        thresholds=thresholds,
        scales=list(scales) if scales is not None else [1, 3, 9],
        area_weights=area_weights,
        categorical_weights=categorical_weights,
        skipna=skipna,
        climatology=climatology,
        attrs=attrs,
    )


def finalise(out: xr.Dataset, attrs: dict[str, str]) -> xr.Dataset:
    out = out.assign_coords(
        lead_time_hours=(LEAD_DIM, lead_hours(out[LEAD_DIM].values), {"units": "h"})
    )
    out.attrs = dict(attrs)
    return out
