"""Score a forecast against a truth: all metrics of all variables in one lazy pass.

:func:`score_forecast` returns an xr.Dataset laid out for files and plots:

- ``<var>``: deterministic scores, dims (metric, prediction_timedelta, [level]);
- ``<var>_csi``, ``_pod``, ``_far``, ``_ets``: dims (threshold, prediction_timedelta, [level]);
- ``<var>_fss``: fractions skill score, dims (threshold, scale, prediction_timedelta, [level]);
- ``<var>_n_verified``: init times verified per lead time;
- coordinate ``lead_time_hours`` on ``prediction_timedelta``; attributes naming the convention,
  the weighting and, per metric, the averaging order (``averaging_<metric>``).

:func:`score_with_baselines` adds a ``model`` dim (the model, persistence, climatology) and
:func:`scores_to_table` flattens any of these into a long pandas table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dask
import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.metrics import categorical, deterministic
from gmgclim.metrics.alignment import INIT_DIM, LEAD_DIM, align_forecast_truth, lead_hours
from gmgclim.metrics.baselines import climatology_forecast, persistence_forecast

DETERMINISTIC_METRICS = (
    "rmse",
    "rmse_wb1",
    "rmse_wb2",
    "rmse_sqrt_before_time_mean",
    "mse",
    "mae",
    "bias",
    "acc",
)
CONTINGENCY_METRICS = ("csi", "pod", "far", "ets")
ALL_METRICS = (*DETERMINISTIC_METRICS, *CONTINGENCY_METRICS, "fss")


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


def _deterministic(pair, metric: str, convention: str, skipna: bool, climatology):
    weights = convention
    if metric == "rmse":
        metric = "rmse_wb1" if convention == "wb1" else "rmse_wb2"
    if metric == "rmse_wb1":
        return deterministic.rmse_sqrt_after_time_mean_wb1_from_pair(pair, "wb1", skipna)
    if metric == "rmse_wb2":
        return deterministic.rmse_wb2_from_pair(pair, "wb2", skipna)
    if metric == "rmse_sqrt_before_time_mean":
        return deterministic.rmse_sqrt_before_time_mean_from_pair(pair, weights, skipna)
    if metric == "mse":
        return deterministic.mse_from_pair(pair, weights, skipna)
    if metric == "mae":
        return deterministic.mae_from_pair(pair, weights, skipna)
    if metric == "bias":
        return deterministic.bias_from_pair(pair, weights, skipna)
    if metric == "acc":
        if convention == "wb1":
            return deterministic.acc_pooled_wb1_from_pair(pair, climatology, weights)
        return deterministic.acc_from_pair(pair, climatology, weights, skipna)
    raise ValueError(f"unknown metric {metric!r}")


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
        Any of rmse (the convention's RMSE), rmse_wb1, rmse_wb2, rmse_sqrt_before_time_mean, mse,
        mae, bias, acc, csi, pod, far, ets, fss.
    climatology : xr.Dataset, optional
        From :func:`~gmgclim.metrics.baselines.compute_climatology`; needed for ``acc`` with the
        wb2 convention (wb1 falls back to the truth's time mean, as WeatherBench 1 does).
    convention : {"wb2", "wb1"}
        Weights (cell area or cos latitude), the meaning of ``rmse`` and ``acc``.
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
    unknown = [m for m in metrics if m not in ALL_METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(ALL_METRICS)}")
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
    det = [m for m in metrics if m in DETERMINISTIC_METRICS]
    cont = [m for m in metrics if m in CONTINGENCY_METRICS]
    want_fss = "fss" in metrics
    if "acc" in det and convention == "wb2" and climatology is None:
        raise DataError(
            "metric 'acc' needs a climatology",
            hint="pass climatology=compute_climatology(truth, years=<training years>)",
        )
    scale_values = list(scales) if scales is not None else [1, 3, 9]

    out = xr.Dataset()
    attrs: dict[str, str] = {
        "convention": convention,
        "weighting": deterministic._WEIGHT_NAMES[convention],
        "categorical_event": "value >= threshold; NaN pixels excluded; counts pooled",
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
            pieces = []
            for metric in det:
                score = _deterministic(pair, metric, convention, skipna, clim)
                attrs[f"averaging_{metric}"] = score.attrs["averaging"]
                attrs[f"weighting_{metric}"] = score.attrs["weighting"]
                pieces.append(score.drop_vars("n_verified").expand_dims(metric=[metric]))
            da = xr.concat(pieces, dim="metric")
            da.attrs = {"units": str(fc_ds[name].attrs.get("units", "")), "variable": name}
            da.attrs["comment"] = "acc is dimensionless; mse in units squared"
            out[name] = da
        if cont or want_fss:
            thr = _per_variable(thresholds, name, "thresholds")
            if thr is None:
                raise DataError(
                    f"metrics {cont + (['fss'] if want_fss else [])} need thresholds for '{name}'"
                )
            if cont:
                table = categorical.contingency_table_from_pair(pair, thr)
                funcs = {"csi": categorical.csi, "pod": categorical.pod}
                funcs.update(far=categorical.far, ets=categorical.ets)
                for metric in cont:
                    score = funcs[metric](table).drop_vars("n_verified")
                    score.attrs.update(variable=name, metric=metric)
                    out[f"{name}_{metric}"] = score
            if want_fss:
                score = categorical.fss_from_pair(pair, thr, scale_values)
                out[f"{name}_fss"] = score.drop_vars("n_verified")
                out[f"{name}_fss"].attrs.update(variable=name, metric="fss")
        out[f"{name}_n_verified"] = pair.n_verified.drop_vars(
            [c for c in pair.n_verified.coords if c != LEAD_DIM]
        )
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
        units, n_verified; sorted by variable, metric and lead time.
    """
    frames = []
    for name, da in scores.data_vars.items():
        name = str(name)
        if name.endswith("_n_verified"):
            continue
        variable = str(da.attrs.get("variable", name))
        if "metric" not in da.dims:
            da = da.expand_dims(metric=[str(da.attrs.get("metric", name))])
        df = da.drop_vars("lead_time_hours", errors="ignore").to_dataframe(name="value")
        df = df.reset_index()
        df["variable"] = variable
        df["units"] = "1" if name != variable else da.attrs.get("units", "")
        if name == variable:
            df.loc[df["metric"] == "acc", "units"] = "1"
            mse_units = f"({da.attrs.get('units', '')})2"
            df.loc[df["metric"] == "mse", "units"] = mse_units
        counts = scores.get(f"{variable}_n_verified")
        if counts is not None:
            count_df = counts.to_series().rename("n_verified")
            if "model" in counts.dims:
                df = df.merge(count_df.reset_index(), on=["model", LEAD_DIM], how="left")
            else:
                df = df.merge(count_df.reset_index(), on=[LEAD_DIM], how="left")
        df["lead_time_hours"] = lead_hours(df[LEAD_DIM].values)
        frames.append(df.drop(columns=[LEAD_DIM]))
    if not frames:
        return pd.DataFrame(columns=["variable", "metric", "lead_time_hours", "value"])
    table = pd.concat(frames, ignore_index=True)
    first = [c for c in ("model", "variable", "metric", "lead_time_hours", "level") if c in table]
    rest = [c for c in ("threshold", "scale", "value", "units", "n_verified") if c in table]
    table = table[first + rest]
    return table.sort_values(
        [
            c
            for c in (
                "model",
                "variable",
                "metric",
                "lead_time_hours",
                "level",
                "threshold",
                "scale",
            )
            if c in table
        ]
    ).reset_index(drop=True)
