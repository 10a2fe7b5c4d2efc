"""Context channels of a task: its forcings and statics on a grid, frame by frame.

Training windows, validation and forecasts all take their context from :class:`ContextFields`,
so a model reads exactly the same known inputs in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from gmgclim.data.forcings import check_forcing_names, forcing_fields
from gmgclim.data.statics import check_static_names, static_fields
from gmgclim.errors import DataError

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
        Names from :data:`gmgclim.data.forcings.FORCINGS` and :data:`gmgclim.data.statics.STATICS`.
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees of every cell of the (full) grid.
    """

    forcings: Sequence[str]
    statics: Sequence[str]
    latitude: np.ndarray
    longitude: np.ndarray

    def __post_init__(self) -> None:
        self.forcings = tuple(self.forcings)
        self.statics = tuple(self.statics)
        check_forcing_names(self.forcings)
        check_static_names(self.statics)
        self._static = static_fields(self.statics, self.latitude, self.longitude)

    @classmethod
    def for_dataset(
        cls, forcings: Sequence[str], statics: Sequence[str], ds: xr.Dataset
    ) -> ContextFields | None:
        """The context of a dataset's grid, or None when the task has no context channels."""
        if not forcings and not statics:
            return None
        lat, lon = grid_latlon(ds)
        return cls(forcings, statics, lat, lon)

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
