"""Open a forecast zarr store as written by ``gmgclim forecast``: its written init times and its task.

A store records what it forecast in its attributes: the task as JSON in ``forecast_task`` (a
:class:`gmgclim.data.task.Task`), the recipe in ``forecast_recipe`` and the channels in
``forecast_channels``. Stores written before the task was stored whole carry only part of it; the
recipe's ``data`` section fills the rest. Extrapolation nowcasts record no task at all.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from gmgclim.conventions import FORECAST_DIMS
from gmgclim.data.task import Task
from gmgclim.errors import DataError, GmgclimError

__all__ = ["ForecastStore", "forecast_variables", "open_forecast_store", "task_from_attrs"]

INIT_DIM, LEAD_DIM = FORECAST_DIMS
#: Coordinate that marks the init times already written (the resume marker of the store writer).
WRITTEN_COORD = "init_written"
_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(Task))


@dataclass(frozen=True)
class ForecastStore:
    """A forecast store, opened lazily.

    Attributes
    ----------
    path : str
        Where the store is.
    forecast : xr.Dataset
        Only the written init times; forecast variables (dims ``time``, ``prediction_timedelta``,
        spatial dims) plus any grid mapping variable.
    task : Task or None
        What was forecast (entry, channels, grid, splits); None when the store does not say.
    n_init_times_in_store : int
        Init times the store has room for, written or not.
    """

    path: str
    forecast: xr.Dataset
    task: Task | None
    n_init_times_in_store: int

    @property
    def variables(self) -> list[str]:
        """Names of the forecast variables (those with init and lead time dims)."""
        return forecast_variables(self.forecast)

    @property
    def model_name(self) -> str:
        """The model's label (``forecast_model_name``), ``"model"`` when not recorded."""
        return str(self.forecast.attrs.get("forecast_model_name", "model"))

    @property
    def input_steps(self) -> int:
        """Frames the model read per forecast (``forecast_input_steps``, 3 when not recorded)."""
        return int(self.forecast.attrs.get("forecast_input_steps", 3))

    @property
    def is_partial(self) -> bool:
        """True when some init times of the store are not written yet."""
        return self.forecast.sizes[INIT_DIM] < self.n_init_times_in_store

    def partial_note(self, doing: str = "scoring") -> str | None:
        """A one-line note for a partly written store (None for a complete one)."""
        if not self.is_partial:
            return None
        return (
            f"{self.path} holds {self.forecast.sizes[INIT_DIM]} of {self.n_init_times_in_store} "
            f"init times; {doing} those (resume the forecast to finish it)"
        )


def forecast_variables(forecast: xr.Dataset) -> list[str]:
    """Names of the variables with both forecast dims (``time``, ``prediction_timedelta``)."""
    return [str(n) for n, v in forecast.data_vars.items() if {INIT_DIM, LEAD_DIM} <= set(v.dims)]


def _json_dict(attrs: Mapping[str, Any], key: str) -> dict[str, Any]:
    try:
        value = json.loads(attrs.get(key) or "{}")
    except (json.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def task_from_attrs(
    attrs: Mapping[str, Any], n_lead_times: int | None = None, source: str = "forecast store"
) -> Task | None:
    """The :class:`Task` a store was forecast from, read from its attributes.

    Parameters
    ----------
    attrs : mapping
        The store's global attributes.
    n_lead_times : int, optional
        Lead times in the store: ``output_steps`` when the attributes do not record it.
    source : str
        The store's path, for error messages.

    Returns
    -------
    Task or None
        ``forecast_task`` over the recipe's ``data`` section (its non-null values win), with
        ``forecast_channels``, ``forecast_step`` and ``forecast_input_steps`` filling gaps; None
        when no catalog entry is recorded (as for extrapolation nowcasts).
    """
    recorded = {k: v for k, v in _json_dict(attrs, "forecast_task").items() if v is not None}
    values = {**(_json_dict(attrs, "forecast_recipe").get("data") or {}), **recorded}
    if not values.get("entry"):
        return None
    channels = json.loads(attrs.get("forecast_channels") or "null")
    fallbacks = {
        "channels": channels,
        "step": attrs.get("forecast_step"),
        "input_steps": attrs.get("forecast_input_steps"),
        "output_steps": n_lead_times,
    }
    for key, value in fallbacks.items():
        if values.get(key) is None and value is not None:
            values[key] = value
    # keys of older recipes/tasks that are no Task field (stats, in_memory ...) say nothing here
    return Task.from_dict({k: v for k, v in values.items() if k in _TASK_FIELDS}, source=source)


def _open_zarr(path: str) -> xr.Dataset:
    """The store lazily, checked to have the forecast dims and a variable on them.

    Raises
    ------
    DataError
        One line naming the store and the dims or variables it lacks.
    """
    try:
        fc = xr.open_zarr(path, decode_timedelta=True)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: cannot open as a zarr forecast store ({type(exc).__name__}: {exc})",
            hint="pass a store written by gmgclim forecast",
        ) from None
    missing = [d for d in (INIT_DIM, LEAD_DIM) if d not in fc.dims]
    if missing:
        raise DataError(
            f"{path}: a forecast store needs dims {INIT_DIM!r} (init time) and {LEAD_DIM!r} "
            f"(lead time); it lacks {missing} (dims {sorted(map(str, fc.dims))})",
            hint="pass a store written by gmgclim forecast (WeatherBench-2 layout)",
        )
    if not forecast_variables(fc):
        raise DataError(
            f"{path}: no variable has both dims {INIT_DIM!r} and {LEAD_DIM!r}; "
            f"variables {sorted(map(str, fc.data_vars))}",
            hint="pass a store written by gmgclim forecast (WeatherBench-2 layout)",
        )
    return fc


def open_forecast_store(path: str | Path) -> ForecastStore:
    """Open a forecast zarr store with only its written init times.

    Parameters
    ----------
    path : str or Path
        Local path or URL of a store written by ``gmgclim forecast``.

    Returns
    -------
    ForecastStore

    Raises
    ------
    FileNotFoundError
        No store at a local ``path``.
    GmgclimError
        No init time is written yet.
    DataError
        Not a zarr store, or one without the forecast dims (one line naming the store).
    """
    path = str(path)
    if not Path(path).exists() and "://" not in path:
        raise FileNotFoundError(f"forecast store {path} does not exist")
    fc = _open_zarr(path)
    n_in_store = int(fc.sizes[INIT_DIM])
    if WRITTEN_COORD in fc.coords:
        written = fc[WRITTEN_COORD].values.astype(bool)
        if not written.any():
            raise GmgclimError(f"{path}: no init time is written yet", hint="run gmgclim forecast")
        fc = fc.isel({INIT_DIM: written}).drop_vars(WRITTEN_COORD)
    task = task_from_attrs(fc.attrs, n_lead_times=int(fc.sizes[LEAD_DIM]), source=path)
    return ForecastStore(path=path, forecast=fc, task=task, n_init_times_in_store=n_in_store)
