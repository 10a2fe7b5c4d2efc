"""Score a forecast against a truth: all metrics of all variables in one lazy pass.

:func:`score_forecast` returns an xr.Dataset laid out for files and plots. Metrics are a dim, never
part of a variable name; the data variables of each forecast variable ``<var>`` are:

- ``<var>``: deterministic scores, dims (metric, prediction_timedelta, [level]);
- ``<var>_categorical`` (when csi, pod, far, ets or fss are asked for): dims (metric, threshold,
  [scale], prediction_timedelta, [level]). ``scale`` (window width in pixels) is there when fss is
  asked for; the contingency scores (csi, pod, far, ets) are pixel-by-pixel scores, stored at
  ``scale = 1`` and NaN at the other scales;
- ``<var>_n_verified``: init times verified per lead time.

Every data variable carries the attributes ``variable`` (the forecast variable) and ``score_kind``
(``deterministic``, ``categorical`` or ``n_verified``). One ``metric`` coordinate serves all of them
(an xarray Dataset shares a dim's coordinate), so ``<var>`` is NaN at the categorical metrics and
``<var>_categorical`` at the deterministic ones: read single scores with :func:`select_score` or
:func:`iter_scores`, which drop that padding. The coordinate ``lead_time_hours`` is on
``prediction_timedelta``; attributes name the convention, the weighting and, per deterministic
metric, the averaging order (``averaging_<metric>``, ``weighting_<metric>``).

Metrics are looked up in :data:`gmgclim.metrics.registry.METRICS`. :func:`score_with_baselines`
adds a ``model`` dim (the model, persistence, climatology) and :func:`scores_to_table` flattens any
of these into a long pandas table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import (
    AlignedPair,
    align_forecast_truth,
    lead_hours,
    select_lead_times,
)
from gmgclim.metrics.baselines import climatology_forecast, persistence_forecast
from gmgclim.metrics.blocks import (
    TruthFrames,
    bytes_per_init,
    init_blocks,
    iter_blocks,
    lead_dim_of,
    truth_positions,
    unverified_like,
)
from gmgclim.metrics.categorical import fss_from_sums, fss_sums, score_contingency_table
from gmgclim.metrics.registry import METRIC_NAMES, Metric, resolve_metric
from gmgclim.metrics.weights import WEIGHT_NAMES, cell_area_weights, latitude_bounds_of

#: ``score_kind`` of a data variable -> the registry kinds of the metrics it holds.
_KINDS = {"deterministic": ("deterministic",), "categorical": ("contingency", "fss")}
PIXEL_SCALE = 1


def _as_dataset(obj: xr.DataArray | xr.Dataset, role: str) -> xr.Dataset:
    if isinstance(obj, xr.Dataset):
        return obj
    if obj.name is None:
        raise DataError(f"the {role} DataArray has no name; name it after its variable")
    return obj.to_dataset()


def _per_variable(value, variable: str, what: str):
    if value is None:
        return None
    if isinstance(value, Mapping):
        if variable not in value:
            raise DataError(f"no {what} given for variable '{variable}' (keys {sorted(value)})")
        return value[variable]
    return value


@dataclasses.dataclass
class _Spec:
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
class _Accumulator:
    """The statistics of one candidate's variable over the blocks seen so far."""

    det_stats: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    weighting: dict[str, str] = dataclasses.field(default_factory=dict)
    table: xr.Dataset | None = None
    table_attrs: dict = dataclasses.field(default_factory=dict)
    fss: xr.DataArray | None = None
    fss_attrs: dict = dataclasses.field(default_factory=dict)
    verified: list[xr.DataArray] = dataclasses.field(default_factory=list)

    def add(self, name: str, value, attrs_name: str):
        current = getattr(self, name)
        attrs = dict(value.attrs)
        value = value.drop_vars("n_verified", errors="ignore")
        setattr(self, name, value if current is None else current + value)
        setattr(self, attrs_name, attrs)


def _det_weights(metric: Metric, spec: _Spec):
    weights = metric.weights or spec.convention
    if weights == "wb2" and spec.area_weights is not None:
        return spec.area_weights  # the grid's CF latitude bounds
    return weights


def _accumulate(acc: _Accumulator, pair: AlignedPair, name: str, spec: _Spec, clim) -> None:
    """Add one block's statistics of one variable to ``acc``."""
    acc.verified.append(pair.verified)
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
    thr = _per_variable(spec.thresholds, name, "thresholds")
    if thr is None:
        raise DataError(f"metrics {spec.cat} need thresholds for '{name}'")
    kinds = {resolve_metric(m).kind for m in spec.cat}
    if "contingency" in kinds:
        table = score_contingency_table(pair, thr, spec.categorical_weights)
        acc.add("table", table, "table_attrs")
    if "fss" in kinds:
        sums = fss_sums(pair, thr, spec.scales, spec.categorical_weights)
        acc.add("fss", sums, "fss_attrs")


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


def _finish_variable(
    acc: _Accumulator, template: xr.DataArray, name: str, spec: _Spec
) -> dict[str, xr.DataArray]:
    """The score variables of one forecast variable from its accumulated statistics."""
    verified = acc.verified[0] if len(acc.verified) == 1 else xr.concat(acc.verified, INIT_DIM)
    whole = AlignedPair(template, template, verified)
    n_verified = whole.n_verified
    out = {}
    if spec.det:
        pieces = []
        for metric_name in spec.det:
            metric = resolve_metric(metric_name, spec.convention)
            assert metric.parts is not None
            stats = _joined(acc.det_stats[metric_name])
            score = metric.parts.reduce(stats, whole, spec.skipna, acc.weighting[metric_name])
            spec.attrs[f"averaging_{metric_name}"] = score.attrs["averaging"]
            spec.attrs[f"weighting_{metric_name}"] = score.attrs["weighting"]
            pieces.append(score.drop_vars("n_verified").expand_dims(metric=[metric_name]))
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
            pieces.append(score.drop_vars("n_verified").expand_dims(metric=[metric_name]))
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
    return out


def _climatologies(spec: _Spec, truth: xr.Dataset, streamed: bool) -> dict:
    """Per variable: the climatology ACC is scored against (None when acc is not asked for)."""
    out: dict = {}
    for name in spec.names:
        clim = None
        if any(resolve_metric(m, spec.convention).needs_climatology for m in spec.det):
            clim = _per_variable(spec.climatology, name, "climatology")
            if isinstance(clim, xr.Dataset):
                clim = clim[name]
            if clim is None:  # WeatherBench 1: the truth's time mean, read once
                clim = truth[name].mean(INIT_DIM)
                clim = clim.compute() if streamed else clim
        out[name] = clim
    return out


#: A forecast to score: a Dataset, or a function of the init times giving one (made per block).
Candidate = xr.Dataset | Callable[[np.ndarray], xr.Dataset]
Progress = Callable[[int, int], None]


def _score_candidates(
    candidates: Mapping[str, Candidate],
    truth: xr.Dataset,
    init_times: np.ndarray,
    lead_times: np.ndarray,
    spec: _Spec,
    require_full_coverage: bool,
    compute: bool,
    block_bytes: int | None = None,
    progress: Progress | None = None,
) -> list[xr.Dataset]:
    """Score every candidate in one pass over init-time blocks (or lazily when not computing).

    Returns one scores Dataset per candidate (the :func:`score_forecast` layout, coordinates
    ``lead_time_hours`` and attrs not yet set).
    """
    names = spec.names
    accs = {label: {n: _Accumulator() for n in names} for label in candidates}
    climatologies = _climatologies(spec, truth, streamed=compute)
    templates: dict[str, xr.DataArray] = {}
    pre_aligned = any(lead_dim_of(truth[n]) for n in names)
    n_init = init_times.size
    if not compute:
        # one lazy block: the dask graph reads the data when the result is computed
        for label, candidate in candidates.items():
            fc = candidate(init_times) if callable(candidate) else candidate
            for name in names:
                templates.setdefault(name, fc[name])
                pair = align_forecast_truth(
                    fc[name], truth[name], require_full_coverage=require_full_coverage
                )
                _accumulate(accs[label][name], pair, name, spec, climatologies[name])
    else:
        positions = None
        if not pre_aligned:
            positions = truth_positions(
                truth[INIT_DIM].values, init_times, lead_times, require_full_coverage
            )
        frames = TruthFrames(truth[names])
        first = next(iter(candidates.values()))
        per_init = bytes_per_init(first[names]) if isinstance(first, xr.Dataset) else 1
        if not isinstance(first, xr.Dataset):
            per_init = bytes_per_init(first(init_times[:1])[names])
        blocks = init_blocks(n_init, per_init * len(candidates), block_bytes)
        for done, block in iter_blocks(n_init, blocks):
            inits = init_times[block]
            if positions is not None:
                needed = positions[block]
                block_truth = frames.get(np.unique(needed[needed >= 0]))
            else:
                block_truth = truth[names].sel({INIT_DIM: inits}).load()
            for label, candidate in candidates.items():
                fc = candidate(inits) if callable(candidate) else candidate.isel({INIT_DIM: block})
                fc = fc[names].load()
                for name in names:
                    templates.setdefault(name, fc[name].isel({INIT_DIM: slice(0, 0)}))
                    if block_truth.sizes[INIT_DIM] == 0:
                        pair = _unverified_pair(fc[name])
                    else:
                        pair = align_forecast_truth(
                            fc[name],
                            block_truth[name],
                            require_full_coverage=require_full_coverage,
                            check_units=False,
                        )
                    _accumulate(accs[label][name], pair, name, spec, climatologies[name])
            if progress is not None:
                progress(done, n_init)
    results = []
    for label in candidates:
        out = xr.Dataset()
        for name in names:
            for key, da in _finish_variable(accs[label][name], templates[name], name, spec).items():
                out[key] = da
        results.append(out)
    return results


def _unverified_pair(forecast: xr.DataArray) -> AlignedPair:
    """A block none of whose valid times the truth covers: it adds nothing to any score."""
    verified = xr.zeros_like(
        forecast.isel({d: 0 for d in forecast.dims if d not in (INIT_DIM, LEAD_DIM)}, drop=True),
        dtype=bool,
    )
    return AlignedPair(forecast, unverified_like(forecast), verified)


def _spec(
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
) -> _Spec:
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
            if _per_variable(thresholds, name, "thresholds") is None:
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
    return _Spec(
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


def _checked_pair_inputs(fc_ds: xr.Dataset, tr_ds: xr.Dataset, names: list[str]) -> xr.Dataset:
    """Checks of the whole forecast and truth made once (per block only the grids are compared)."""
    from gmgclim.metrics.alignment import _check_time_dim, _check_units

    _check_time_dim(fc_ds, "forecast")
    _check_time_dim(tr_ds, "truth")
    _check_units(fc_ds[names], tr_ds)
    return tr_ds[names]


def _finalise(out: xr.Dataset, attrs: dict[str, str]) -> xr.Dataset:
    out = out.assign_coords(
        lead_time_hours=(LEAD_DIM, lead_hours(out[LEAD_DIM].values), {"units": "h"})
    )
    out.attrs = dict(attrs)
    return out


def score_forecast(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    variables: Sequence[str] | None = None,
    metrics: Sequence[str] = ("rmse", "mae", "bias", "acc"),
    climatology: xr.Dataset | None = None,
    convention: str = "wb2",
    thresholds: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    scales: Sequence[int] | None = None,
    lead_times: Sequence | np.ndarray | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
    compute: bool = True,
    categorical_weights: str | xr.DataArray | None = None,
    block_bytes: int | None = None,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Score a forecast per lead time, variable and level, in one pass over init-time blocks.

    With ``compute=True`` (the default) the forecast is read a block of init times at a time
    (:mod:`gmgclim.metrics.blocks`): per-init spatial means, contingency counts and FSS sums of
    each block are kept or added up and the scores formed at the end, so memory does not grow
    with the number of init times and every truth frame is read once.

    Parameters
    ----------
    forecast : xr.Dataset or xr.DataArray
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.Dataset or xr.DataArray
        dims (time=valid, [level], spatial...), same grid, variables and units.
    variables : sequence of str, optional
        Variables to score (default: every forecast variable).
    metrics : sequence of str
        Names in :data:`~gmgclim.metrics.registry.METRICS`, or rmse/acc (the convention's RMSE
        and ACC): rmse_wb1, rmse_wb2, rmse_sqrt_before_time_mean, mse, mae, bias, acc, csi, pod,
        far, ets, fss, ...
    climatology : xr.Dataset, optional
        From :func:`~gmgclim.metrics.baselines.compute_climatology`; needed for ``acc`` with the
        wb2 convention (wb1 falls back to the truth's time mean, as WeatherBench 1 does).
    convention : {"wb2", "wb1"}
        Weights (cell area or cos latitude), the meaning of ``rmse`` and ``acc``. Cell areas come
        from the forecast's CF latitude bounds when it has them (see
        :mod:`gmgclim.metrics.weights`).
    thresholds : sequence of float or mapping variable -> sequence, optional
        Event thresholds for csi/pod/far/ets/fss, in the variable's units.
    scales : sequence of int, optional
        FSS window widths in pixels (default 1, 3, 9).
    lead_times : sequence of timedelta64, optional
        Lead times to score.
    skipna : bool
        Leave NaN pixels out of deterministic means (categorical scores always do).
    require_full_coverage : bool
        Raise if the truth misses some valid times instead of scoring the verified ones.
    compute : bool
        Compute now, block by block; False returns the lazy dataset (one dask graph).
    categorical_weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        Area weighting of csi/pod/far/ets/fss on latitude/longitude grids (default None: every
        pixel counts 1, as before); radar y/x grids are always counted uniformly.
    block_bytes : int, optional
        Forecast bytes read per block (default :data:`gmgclim.metrics.blocks.BLOCK_BYTES`).
    progress : callable, optional
        Called as ``progress(init_times_done, init_times_total)`` after each block.

    Returns
    -------
    xr.Dataset
        Layout described in the module docstring.

    Raises
    ------
    DataError
        Grids, units or calendars differ, lead times or variables are missing, no valid time is
        covered, or a metric needs a climatology or thresholds that were not given.
    """
    fc_ds = _as_dataset(forecast, "forecast")
    tr_ds = _as_dataset(truth, "truth")
    spec = _spec(
        fc_ds,
        tr_ds,
        variables,
        metrics,
        climatology,
        convention,
        thresholds,
        scales,
        skipna,
        categorical_weights,
    )
    fc_ds = select_lead_times(fc_ds[spec.names], lead_times)
    tr_ds = _checked_pair_inputs(fc_ds, tr_ds, spec.names)
    (out,) = _score_candidates(
        {"model": fc_ds},
        tr_ds,
        fc_ds[INIT_DIM].values.astype("datetime64[ns]"),
        fc_ds[LEAD_DIM].values.astype("timedelta64[ns]"),
        spec,
        require_full_coverage,
        compute,
        block_bytes,
        progress,
    )
    return _finalise(out, spec.attrs)


def score_with_baselines(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    baselines: Sequence[str] = ("persistence", "climatology"),
    climatology: xr.Dataset | None = None,
    model_name: str = "model",
    extra: Mapping[str, Candidate] | None = None,
    **kwargs,
) -> xr.Dataset:
    """Score a forecast and baseline forecasts the same way, stacked along a ``model`` dim.

    All of them are scored in the same pass over init-time blocks, so the truth is read once.

    Parameters
    ----------
    forecast, truth : xr.Dataset or xr.DataArray
        As in :func:`score_forecast`.
    baselines : sequence of {"persistence", "climatology"}
        Reference forecasts for the forecast's init and lead times.
    climatology : xr.Dataset, optional
        Needed for the climatology baseline and for ``acc``.
    model_name : str
        Label of the forecast on the ``model`` dim.
    extra : mapping label -> Dataset or callable, optional
        More reference forecasts, labelled; a callable is given the init times of a block and
        returns their forecast (lead times as the forecast's).
    **kwargs
        Passed to :func:`score_forecast` (metrics, convention, thresholds, progress, ...).

    Returns
    -------
    xr.Dataset
        The :func:`score_forecast` layout with a leading ``model`` dim.
    """
    fc_ds = _as_dataset(forecast, "forecast")
    tr_ds = _as_dataset(truth, "truth")
    compute = kwargs.pop("compute", True)
    block_bytes = kwargs.pop("block_bytes", None)
    progress = kwargs.pop("progress", None)
    lead_times = kwargs.pop("lead_times", None)
    require_full_coverage = kwargs.pop("require_full_coverage", False)
    spec = _spec(
        fc_ds,
        tr_ds,
        kwargs.pop("variables", None),
        kwargs.pop("metrics", ("rmse", "mae", "bias", "acc")),
        climatology,
        kwargs.pop("convention", "wb2"),
        kwargs.pop("thresholds", None),
        kwargs.pop("scales", None),
        kwargs.pop("skipna", False),
        kwargs.pop("categorical_weights", None),
    )
    if kwargs:
        raise TypeError(f"score_with_baselines got unexpected arguments {sorted(kwargs)}")
    fc_ds = select_lead_times(fc_ds[spec.names], lead_times)
    tr_ds = _checked_pair_inputs(fc_ds, tr_ds, spec.names)
    inits = fc_ds[INIT_DIM].values.astype("datetime64[ns]")
    leads = fc_ds[LEAD_DIM].values.astype("timedelta64[ns]")
    candidates: dict[str, Candidate] = {model_name: fc_ds}
    for name in baselines:
        if name == "persistence":
            candidates[name] = persistence_forecast(tr_ds, inits, leads)
        elif name == "climatology":
            if climatology is None:
                raise DataError(
                    "the climatology baseline needs a climatology",
                    hint="pass climatology=compute_climatology(truth, years=<training years>)",
                )
            clim = climatology[spec.names]
            candidates[name] = climatology_forecast(clim, inits, leads)
        else:
            raise ValueError(f"unknown baseline {name!r}; choose persistence or climatology")
    candidates.update(extra or {})
    scored = _score_candidates(
        candidates, tr_ds, inits, leads, spec, require_full_coverage, compute, block_bytes, progress
    )
    labels = xr.DataArray(np.array(list(candidates), dtype=str), dims=("model",), name="model")
    out = xr.concat(scored, dim=labels, combine_attrs="override")
    return _finalise(out, spec.attrs)


def _score_kind(da: xr.DataArray) -> str | None:
    return da.attrs.get("score_kind")


def iter_scores(
    scores: xr.Dataset,
    variables: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> Iterator[tuple[str, str, xr.DataArray]]:
    """Every score of a scores Dataset, without the layout's NaN padding.

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`score_forecast` or :func:`score_with_baselines`.
    variables, metrics : sequence of str, optional
        Subsets (default all).

    Yields
    ------
    variable : str
        Forecast variable.
    metric : str
        Metric name as scored (e.g. ``rmse``, ``csi``).
    score : xr.DataArray
        dims ([model], [threshold], [scale], prediction_timedelta, [level]); ``metric`` dropped,
        and ``scale`` dropped for the pixel scores csi/pod/far/ets.
    """
    for da in scores.data_vars.values():
        kind = _score_kind(da)
        if kind not in _KINDS or "metric" not in da.dims:
            continue
        variable = str(da.attrs.get("variable", da.name))
        if variables is not None and variable not in variables:
            continue
        convention = str(scores.attrs.get("convention", "wb2"))
        for metric_name in da["metric"].values.tolist():
            metric: Metric = resolve_metric(str(metric_name), convention)
            if metric.kind not in _KINDS[kind]:
                continue
            if metrics is not None and metric_name not in metrics:
                continue
            score = da.sel(metric=metric_name, drop=True)
            if metric.kind == "contingency" and "scale" in score.dims:
                score = score.sel(scale=PIXEL_SCALE, drop=True)
            score.attrs = dict(da.attrs, metric=str(metric_name))
            score.attrs["units"] = metric.units(str(da.attrs.get("units", "")))
            yield variable, str(metric_name), score


def select_score(scores: xr.Dataset, variable: str, metric: str) -> xr.DataArray:
    """One score of one variable from a scores Dataset (see :func:`iter_scores`).

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`score_forecast` or :func:`score_with_baselines`.
    variable : str
        Forecast variable, e.g. ``"precipitation_rate"``.
    metric : str
        Metric as scored, e.g. ``"rmse"`` or ``"csi"``.

    Returns
    -------
    xr.DataArray
        dims ([model], [threshold], [scale], prediction_timedelta, [level]), ``units`` attribute.

    Raises
    ------
    DataError
        The scores hold no such metric for that variable.
    """
    for _, _, score in iter_scores(scores, [variable], [metric]):
        return score
    held = sorted({(v, m) for v, m, _ in iter_scores(scores)})
    raise DataError(f"no {metric!r} scores for {variable!r}; the scores hold {held}")


def scores_to_table(scores: xr.Dataset) -> pd.DataFrame:
    """Flatten a scores Dataset into one row per score.

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`score_forecast` or :func:`score_with_baselines`.

    Returns
    -------
    pandas.DataFrame
        Columns: [model], variable, metric, lead_time_hours, [level], [threshold], [scale], value,
        units, n_verified; sorted by model, variable, metric, lead time, level, threshold and scale.
        ``scale`` is NaN for the pixel scores csi/pod/far/ets.
    """
    frames = []
    for variable, metric, da in iter_scores(scores):
        df = da.drop_vars("lead_time_hours", errors="ignore").to_dataframe(name="value")
        df = df.reset_index()
        df["variable"] = variable
        df["metric"] = metric
        df["units"] = da.attrs["units"]
        counts = next(
            (
                v
                for v in scores.data_vars.values()
                if _score_kind(v) == "n_verified" and v.attrs.get("variable") == variable
            ),
            None,
        )
        if counts is not None:
            count_df = counts.to_series().rename("n_verified").reset_index()
            keys = ["model", LEAD_DIM] if "model" in counts.dims else [LEAD_DIM]
            df = df.merge(count_df, on=keys, how="left")
        df["lead_time_hours"] = lead_hours(df[LEAD_DIM].values)
        frames.append(df.drop(columns=[LEAD_DIM]))
    if not frames:
        return pd.DataFrame(columns=["variable", "metric", "lead_time_hours", "value"])
    table = pd.concat(frames, ignore_index=True)
    first = [c for c in ("model", "variable", "metric", "lead_time_hours", "level") if c in table]
    rest = [c for c in ("threshold", "scale", "value", "units", "n_verified") if c in table]
    table = table[first + rest]
    order = ("model", "variable", "metric", "lead_time_hours", "level", "threshold", "scale")
    return table.sort_values([c for c in order if c in table]).reset_index(drop=True)
