"""The one time-step parser of gmgclim: ``"6h"``, ``"5min"``, ``"30s"``, ``"1d"`` -> ``timedelta64[ns]``.

Recipes, catalog entries, windows, tasks and forecasts all read their steps with
:func:`parse_step`.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

__all__ = ["parse_step"]

_STEP_RE = re.compile(r"^\s*(\d+)\s*(s|min|h|d)\s*$")
_STEP_UNITS: dict[str, Literal["s", "m", "h", "D"]] = {"s": "s", "min": "m", "h": "h", "d": "D"}


def parse_step(step: str | np.timedelta64, what: str = "step") -> np.timedelta64:
    """Parse a time step such as ``"6h"``, ``"1h"``, ``"5min"``, ``"30s"`` or ``"1d"``.

    The one step parser of gmgclim (recipes, windows, tasks and forecasts all use it).

    Parameters
    ----------
    step : str or np.timedelta64 or pd.Timedelta
        A positive integer followed by one of ``s``, ``min``, ``h``, ``d``; or a positive timedelta.
    what : str
        The name used in the error message (a recipe key, an argument).

    Returns
    -------
    np.timedelta64
        The step in nanoseconds (``timedelta64[ns]``).
    """
    if isinstance(step, np.timedelta64) or hasattr(step, "to_timedelta64"):
        value = np.timedelta64(step.to_timedelta64() if hasattr(step, "to_timedelta64") else step)
        value = value.astype("timedelta64[ns]")
        if value <= np.timedelta64(0, "ns"):
            raise ValueError(f"{what} must be positive, got {step!r}")
        return value
    match = _STEP_RE.match(step) if isinstance(step, str) else None
    shape = "step must look like '6h', '1h', '5min', '30s' or '1d'"
    if match is None:
        raise ValueError(
            f"{what}: {shape}, got {step!r}" if what != "step" else f"{shape}, got {step!r}"
        )
    if int(match.group(1)) <= 0:
        raise ValueError(f"{what} must be positive ({shape}), got {step!r}")
    count, unit = int(match.group(1)), _STEP_UNITS[match.group(2)]
    return np.timedelta64(count, unit).astype("timedelta64[ns]")
