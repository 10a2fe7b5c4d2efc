"""Context channels of a task: its forcings and statics on a grid, frame by frame.

Training windows, validation and forecasts all take their context from :class:`ContextFields`,
so a model reads exactly the same known inputs in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from gmgclim.data.forcings import check_forcing_names, forcing_fields
from gmgclim.data.statics import STATICS, check_static_names, static_fields
from gmgclim.errors import DataError

if TYPE_CHECKING:
    from gmgclim.data.task import Task

__all__ = ["ContextFields", "grid_latlon"]


def grid_latlon(ds: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of every cell, (H, W) each, in degrees.

    Parameters
    ----------
    ds : xr.Dataset or xr.DataArray
        A lat/lon grid (1-D ``latitude``/``longitude`` dims) or a projected grid (``y``, ``x``)
        with 2-D ``latitude``/``longitude`` coordinates (as the radar readers add them).

    Raises
    ------
    DataError
        The grid has no latitude/longitude to compute forcings and statics from.
    """
    if "latitude" not in ds.coords or "longitude" not in ds.coords:
        raise DataError(
            "forcings and statics need latitude/longitude coordinates, but the data has "
            f"coords {sorted(map(str, ds.coords))}",
            hint="projected grids need a CF grid_mapping so 2-D latitude/longitude can be derived",
        )
    lat, lon = ds["latitude"], ds["longitude"]
    if lat.ndim == 1 and lon.ndim == 1:
        return np.meshgrid(
            lat.values.astype(np.float64), lon.values.astype(np.float64), indexing="ij"
        )
    return np.asarray(lat.values, np.float64), np.asarray(lon.values, np.float64)


@dataclass
class ContextFields:
    """Forcings and statics of a task on one grid.

    Parameters
    ----------
    forcings, statics : sequence of str
        Names from :data:`gmgclim.data.forcings.FORCINGS` and :data:`gmgclim.data.statics.STATICS`,
        or keys of ``catalog_statics``.
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees of every cell of the (full) grid.
    catalog_statics : mapping of str to np.ndarray, optional
        Fields a catalog entry declares, already on this grid and standardised: name -> (H, W)
        (:func:`gmgclim.data.catalog_statics.task_static_fields`).
    """

    forcings: Sequence[str]
    statics: Sequence[str]
    latitude: np.ndarray
    longitude: np.ndarray
    catalog_statics: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.forcings = tuple(self.forcings)
        self.statics = tuple(self.statics)
        check_forcing_names(self.forcings)
        check_static_names([n for n in self.statics if n not in self.catalog_statics])
        shape = np.shape(self.latitude)
        for name, values in self.catalog_statics.items():
            if np.shape(values) != shape:
                raise DataError(
                    f"static {name!r} is on a {' x '.join(map(str, np.shape(values)))} grid but "
                    f"the data is on a {' x '.join(map(str, shape))} grid",
                    hint="give the dataset on the task's grid, or forecast through the catalog",
                )
        built_in = static_fields(
            [n for n in self.statics if n in STATICS], self.latitude, self.longitude
        )
        rows = iter(built_in)
        layers = [
            next(rows) if n in STATICS else np.asarray(self.catalog_statics[n], np.float32)
            for n in self.statics
        ]
        self._static = (
            np.stack(layers).astype(np.float32)
            if layers
            else np.zeros((0, *shape), dtype=np.float32)
        )

    @classmethod
    def for_task(cls, task: Task, ds: xr.Dataset) -> ContextFields | None:
        """The context of a task on its data's grid, its entry's statics read from the catalog.

        Parameters
        ----------
        task : Task
            Its forcings and statics; statics that are not built-in are read from its entry on
            its grid (:func:`gmgclim.data.catalog_statics.task_static_fields`).
        ds : xr.Dataset
            The task's data on the task's grid (as :func:`gmgclim.data.task.open_task_data` gives).

        Returns
        -------
        ContextFields or None
            None when the task has no context channels.
        """
        if not task.forcings and not task.statics:
            return None
        from gmgclim.data.catalog_statics import task_static_fields

        lat, lon = grid_latlon(ds)
        return cls(task.forcings, task.statics, lat, lon, task_static_fields(task))

    def fields(self, times: np.ndarray, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """Context of each frame: forcings then statics.

        Parameters
        ----------
        times : array of datetime64, shape (T,)
            Valid times of the frames (UTC).
        window : (slice, slice), optional
            Rows and columns of a crop of the grid.

        Returns
        -------
        np.ndarray
            (T, K, H, W) float32 (H, W of the crop when ``window`` is given).
        """
        rows, cols = window or (slice(None), slice(None))
        lat, lon = self.latitude[rows, cols], self.longitude[rows, cols]
        parts = [forcing_fields(self.forcings, times, lat, lon)]
        static = self._static[:, rows, cols]
        parts.append(np.broadcast_to(static[None], (len(times), *static.shape)))
        return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)
