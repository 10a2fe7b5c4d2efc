"""Spatial and temporal reductions shared by the deterministic metrics.

A deterministic score is formed in two steps (see :class:`gmgclim.metrics.deterministic.
DeterministicParts`): per init time a weighted spatial mean (:func:`spatial_mean`, or
:func:`masked_spatial_mean` when missing cells are skipped), then a mean over the verified init
times (:func:`mean_over_verified`) or a pooled ratio of sums (:func:`pooled_mean`, WeatherBench
1); :func:`finish` attaches the counts and attributes every score carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM
from gmgclim.metrics.alignment import AlignedPair

Field = xr.DataArray | xr.Dataset

__all__ = [
    "Field",
    "Stats",
    "field",
    "finish",
    "masked_spatial_mean",
    "mean_over_verified",
    "pooled_mean",
    "spatial_mean",
    "spatial_sums",
    "sqrt",
]


def spatial_sums(
    field: Field, weights: xr.DataArray | None, dims: tuple, skipna: bool
) -> tuple[Field, Field | float]:
    """Weighted sum of ``field`` over ``dims`` and the sum of weights it used."""
    if skipna:
        valid = field.notnull()
        filled = field.fillna(0)
        if weights is None:
            return filled.sum(dims), valid.sum(dims)
        return (filled * weights).sum(dims), (valid * weights).sum(dims)
    n_points = float(np.prod([field.sizes[d] for d in dims]))
    if weights is None:
        return field.sum(dims, skipna=False), n_points
    other = n_points / weights.size
    return (field * weights).sum(dims, skipna=False), float(weights.sum()) * other


def masked_spatial_mean(filled: Field, valid: Field, weights, dims) -> Field:
    """Weighted mean over ``dims`` of the valid cells of ``filled`` (0 where not valid), summed
    in float64; NaN where no cell is valid."""
    if weights is not None:
        filled, valid = filled * weights, valid * weights
    num = filled.sum(dims, skipna=False, dtype=np.float64)
    den = valid.sum(dims, skipna=False, dtype=np.float64)
    return num / den.where(den > 0)


def spatial_mean(field: Field, weights, dims, skipna: bool) -> Field:
    num, den = spatial_sums(field, weights, dims, skipna)
    if isinstance(den, float):
        return num / den
    return num / den.where(den > 0)


def mean_over_verified(per_init: Field, verified: xr.DataArray, skipna: bool) -> Field:
    """Mean over init times of the verified cases (and, with skipna, of non-NaN values)."""
    ok = per_init.notnull() & verified if skipna else verified
    total = per_init.where(ok, 0).sum(INIT_DIM, skipna=False)
    count = ok.sum(INIT_DIM)
    return total / count.where(count > 0)


def pooled_mean(num: Field, den: Field | float, verified: xr.DataArray) -> Field:
    """sum_t(num) / sum_t(den) over verified init times (a mean over time and space together)."""
    total = num.where(verified, 0).sum(INIT_DIM, skipna=False)
    weight_total: Field
    if isinstance(den, float):
        weight_total = den * verified.sum(INIT_DIM)
    else:
        weight_total = den.where(verified, 0).sum(INIT_DIM)
    return total / weight_total.where(weight_total > 0)


def finish(
    result: Field,
    pair: AlignedPair,
    metric: str,
    weighting: str,
    order: str,
    units: Callable[[str], str] | str | None = None,
) -> Field:
    """Attach ``n_verified`` and the metric/weighting/averaging/units attributes."""
    result = result.assign_coords(n_verified=pair.n_verified)
    attrs = {"metric": metric, "weighting": weighting, "averaging": order}

    def _units(source: Field) -> dict[str, str]:
        if isinstance(units, str):
            return {"units": units}
        field_units = source.attrs.get("units")
        if not field_units:
            return {}
        return {"units": units(field_units) if units else field_units}

    if isinstance(result, xr.Dataset):
        for name in result.data_vars:
            result[name].attrs = dict(attrs, **_units(pair.forecast[name]))
        result.attrs = attrs
    else:
        result.attrs = dict(attrs, **_units(pair.forecast))
    return result


Stats = dict[str, "Field | float"]


def sqrt(field: Field) -> Field:
    """``np.sqrt`` of an xarray object (numpy's stubs type ufuncs as returning ndarrays)."""
    return cast(Field, np.sqrt(field))


def field(stats: Stats, key: str) -> Field:
    """Statistic ``key``: a field; only sums of weights (``den``) may be plain floats."""
    value = stats[key]
    if isinstance(value, float):
        raise TypeError(f"statistic {key!r} is a float, expected an xarray object")
    return value
