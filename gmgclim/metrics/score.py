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

from collections.abc import Iterator, Mapping, Sequence

import dask
import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import AlignedPair, align_forecast_truth, lead_hours
from gmgclim.metrics.baselines import climatology_forecast, persistence_forecast
from gmgclim.metrics.categorical import score_contingency_table
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


def _deterministic_scores(
    pair: AlignedPair,
    metrics: Sequence[str],
    convention: str,
    area_weights: xr.DataArray | None,
    skipna: bool,
    climatology,
    attrs: dict[str, str],
) -> xr.DataArray:
    """(metric, prediction_timedelta, [level]) deterministic scores of one variable."""
    pieces = []
    for name in metrics:
        metric = resolve_metric(name, convention)
        weights = metric.weights or convention
        if weights == "wb2" and area_weights is not None:
            weights = area_weights  # the grid's CF latitude bounds
        kwargs = {"climatology": climatology} if metric.needs_climatology else {}
        score = metric.function(pair, weights=weights, skipna=skipna, **kwargs)
        attrs[f"averaging_{name}"] = score.attrs["averaging"]
        attrs[f"weighting_{name}"] = score.attrs["weighting"]
        pieces.append(score.drop_vars("n_verified").expand_dims(metric=[name]))
    return xr.concat(pieces, dim="metric")


def _categorical_scores(
    pair: AlignedPair,
    metrics: Sequence[str],
    thresholds,
    scales: Sequence[int],
    weights,
) -> xr.DataArray:
    """(metric, threshold, [scale], prediction_timedelta, [level]) categorical scores."""
    with_fss = any(resolve_metric(m).kind == "fss" for m in metrics)
    table = None
    pieces = []
    for name in metrics:
        metric = resolve_metric(name)
        if metric.kind == "fss":
            score = metric.function(pair, thresholds, scales, weights=weights)
        else:
            if table is None:
                table = score_contingency_table(pair, thresholds, weights)
            score = metric.function(table)
            if with_fss:  # pixel-by-pixel scores: the 1-pixel scale of the FSS windows
                score = score.expand_dims(scale=[PIXEL_SCALE])
        pieces.append(score.drop_vars("n_verified").expand_dims(metric=[name]))
    out = xr.concat(pieces, dim="metric", join="outer", combine_attrs="drop")
    order = ("metric", "threshold", "scale", LEAD_DIM, "level")
    out = out.transpose(*[d for d in order if d in out.dims], ...)
    if "scale" in out.dims:
        out["scale"].attrs = {"units": "pixels", "long_name": "FSS window width"}
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
) -> xr.Dataset:
    """Score a forecast per lead time, variable and level.

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
        Compute now, reading the data once; False returns the lazy dataset.
    categorical_weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        Area weighting of csi/pod/far/ets/fss on latitude/longitude grids (default None: every
        pixel counts 1, as before); radar y/x grids are always counted uniformly.

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
    if convention not in ("wb1", "wb2"):
        raise ValueError(f"convention must be 'wb1' or 'wb2', got {convention!r}")
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRIC_NAMES)}")
    fc_ds = _as_dataset(forecast, "forecast")
    tr_ds = _as_dataset(truth, "truth")
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
    scale_values = list(scales) if scales is not None else [1, 3, 9]
    bounds = latitude_bounds_of(fc_ds)
    area_weights = cell_area_weights(fc_ds["latitude"], bounds) if bounds is not None else None

    out = xr.Dataset()
    attrs: dict[str, str] = {
        "convention": convention,
        "weighting": WEIGHT_NAMES[convention],
        "categorical_event": "value >= threshold; NaN pixels excluded; counts pooled",
        "categorical_weighting": str(categorical_weights or "uniform"),
        "metrics": " ".join(metrics),
    }
    for name in names:
        pair = align_forecast_truth(
            fc_ds[name],
            tr_ds[name],
            lead_times=lead_times,
            require_full_coverage=require_full_coverage,
        )
        if det:
            clim = None
            if "acc" in det:
                clim = _per_variable(climatology, name, "climatology")
                if isinstance(clim, xr.Dataset):
                    clim = clim[name]
                if clim is None:
                    clim = tr_ds[name].mean(INIT_DIM)
            da = _deterministic_scores(
                pair, det, convention, area_weights, skipna, clim, attrs
            ).reindex(metric=list(metrics))
            da.attrs = {"units": str(fc_ds[name].attrs.get("units", "")), "variable": name}
            da.attrs["comment"] = "acc is dimensionless; mse in units squared"
            da.attrs["score_kind"] = "deterministic"
            out[name] = da
        if cat:
            thr = _per_variable(thresholds, name, "thresholds")
            if thr is None:
                raise DataError(f"metrics {cat} need thresholds for '{name}'")
            da = _categorical_scores(pair, cat, thr, scale_values, categorical_weights)
            da = da.reindex(metric=list(metrics))
            da.attrs = {
                "units": "1",
                "variable": name,
                "score_kind": "categorical",
                "event": "value >= threshold",
                "comment": "csi, pod, far, ets are pixel scores, stored at scale 1",
            }
            out[f"{name}_categorical"] = da
        counts = pair.n_verified.drop_vars([c for c in pair.n_verified.coords if c != LEAD_DIM])
        counts.attrs = {"variable": name, "score_kind": "n_verified", "units": "1"}
        out[f"{name}_n_verified"] = counts
    out = out.assign_coords(
        lead_time_hours=(LEAD_DIM, lead_hours(out[LEAD_DIM].values), {"units": "h"})
    )
    out.attrs = attrs
    if compute:
        (out,) = dask.compute(out)
    return out


def score_with_baselines(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    baselines: Sequence[str] = ("persistence", "climatology"),
    climatology: xr.Dataset | None = None,
    model_name: str = "model",
    **kwargs,
) -> xr.Dataset:
    """Score a forecast and baseline forecasts the same way, stacked along a ``model`` dim.

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
    **kwargs
        Passed to :func:`score_forecast` (metrics, convention, thresholds, ...).

    Returns
    -------
    xr.Dataset
        The :func:`score_forecast` layout with a leading ``model`` dim.
    """
    fc_ds = _as_dataset(forecast, "forecast")
    tr_ds = _as_dataset(truth, "truth")
    names = kwargs.get("variables")
    if names is None:
        names = [str(k) for k, v in fc_ds.data_vars.items() if {INIT_DIM, LEAD_DIM} <= set(v.dims)]
    fc_ds = fc_ds[list(names)]
    if kwargs.get("lead_times") is not None:
        fc_ds = fc_ds.sel({LEAD_DIM: np.asarray(kwargs["lead_times"]).astype("timedelta64[ns]")})
    compute = kwargs.pop("compute", True)
    inits = fc_ds[INIT_DIM].values
    leads = fc_ds[LEAD_DIM].values
    candidates = {model_name: fc_ds}
    for name in baselines:
        if name == "persistence":
            tr = tr_ds[list(fc_ds.data_vars)]
            candidates[name] = persistence_forecast(tr, inits, leads)
        elif name == "climatology":
            if climatology is None:
                raise DataError(
                    "the climatology baseline needs a climatology",
                    hint="pass climatology=compute_climatology(truth, years=<training years>)",
                )
            clim = climatology[list(fc_ds.data_vars)]
            candidates[name] = climatology_forecast(clim, inits, leads)
        else:
            raise ValueError(f"unknown baseline {name!r}; choose persistence or climatology")
    scored = [
        score_forecast(fc, tr_ds, climatology=climatology, compute=False, **kwargs)
        for fc in candidates.values()
    ]
    labels = xr.DataArray(np.array(list(candidates), dtype=str), dims=("model",), name="model")
    out = xr.concat(scored, dim=labels, combine_attrs="override")
    if compute:
        (out,) = dask.compute(out)
    return out


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
