"""Target transforms for skewed fields such as rain rate, with exact inverses.

A task's ``transform`` is applied to its fields after reading and before normalisation, so that
statistics, the loss and the network all live in the transformed space; a forecast is mapped back
with the inverse and clipped to the field's physical range.

``none``
    Identity.
``log``
    ``log(R + c) - log(c)`` with ``c = 0.1`` (units of the field, mm/h for rain): zero stays zero,
    1 mm/h -> 2.40, 10 mm/h -> 4.62; the inverse is ``c * (exp(y) - 1)``. An MSE in this space
    weighs light and heavy rain more evenly than in mm/h.
``dbr``
    Decibels of rain rate as pysteps' ``dB_transform``: ``10 log10(R)`` for ``R >= 0.1``, and a
    floor ``10 log10(0.1) - 5 = -15 dB`` below; the inverse sets values under -10 dB to zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gmgclim.errors import DataError

__all__ = ["TRANSFORMS", "check_transform", "forward", "inverse"]

LOG_OFFSET = 0.1
DBR_THRESHOLD = 0.1
DBR_FLOOR = 10.0 * np.log10(DBR_THRESHOLD) - 5.0


def _log_forward(x):
    return np.log(np.maximum(x, 0.0) + LOG_OFFSET) - np.log(LOG_OFFSET)


def _log_inverse(y):
    return LOG_OFFSET * (np.exp(y) - 1.0)


def _dbr_forward(x):
    x = np.maximum(x, 0.0)
    safe = np.where(x >= DBR_THRESHOLD, x, DBR_THRESHOLD)
    return np.where(x >= DBR_THRESHOLD, 10.0 * np.log10(safe), DBR_FLOOR)


def _dbr_inverse(y):
    rate = 10.0 ** (y / 10.0)
    return np.where(y >= 10.0 * np.log10(DBR_THRESHOLD), rate, 0.0)


def _identity(x):
    return x


#: name -> (forward, inverse); both work on numpy arrays and lazily on xarray/dask objects.
TRANSFORMS: dict[str, tuple[Callable, Callable]] = {
    "none": (_identity, _identity),
    "log": (_log_forward, _log_inverse),
    "dbr": (_dbr_forward, _dbr_inverse),
}


def check_transform(name: str, where: str = "data.transform") -> None:
    """Raise a DataError naming ``where`` and the known names if ``name`` is unknown."""
    if name not in TRANSFORMS:
        raise DataError(f"{where}: unknown transform {name!r}; known: {sorted(TRANSFORMS)}")


def forward(name: str, values):
    """Apply transform ``name``; numpy arrays or xarray objects.

    NaN stays NaN and +-inf becomes NaN (no data, not a heavy or a zero rain rate), so both are
    filled as inputs and masked as targets alike.
    """
    check_transform(name)
    if name == "none":
        return values
    if hasattr(values, "copy") and hasattr(values, "attrs"):  # xarray: keep coords and attrs
        import xarray as xr

        out = xr.apply_ufunc(TRANSFORMS[name][0], values, dask="allowed", keep_attrs=True)
        return out.where(np.isfinite(values))
    arr = np.asarray(values)
    with np.errstate(invalid="ignore"):
        out = TRANSFORMS[name][0](arr)
    return np.where(np.isfinite(arr), out, np.nan).astype(arr.dtype)


def inverse(name: str, values: np.ndarray) -> np.ndarray:
    """Undo transform ``name`` on a numpy array (NaN stays NaN)."""
    check_transform(name)
    if name == "none":
        return values
    arr = np.asarray(values)
    return np.where(np.isnan(arr), np.nan, TRANSFORMS[name][1](arr)).astype(arr.dtype)
