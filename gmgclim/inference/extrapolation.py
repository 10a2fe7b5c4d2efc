"""Optical-flow extrapolation nowcast: the standard radar baseline, in gmgclim's forecast layout.

For each init time the last ``input_steps`` frames (the init frame and those before it, one time
step apart) give a motion field by pysteps' Lucas-Kanade optical flow (``motion.get_method("LK")``);
the init frame is then advected along it by pysteps' semi-Lagrangian scheme
(``extrapolation.get_method("semilagrangian")``) to every lead time. Intensities are kept (no
growth or decay): this is the "Lagrangian persistence" that a learned nowcast must beat.

No-data (NaN, outside radar coverage) is handled as pysteps asks: for the motion, precipitation is
moved to decibels (``10 log10(R)``, rates below 0.1 mm/h set to -15 dB), and NaN is filled with the
field's minimum and masked so no features are tracked there; for the advection, NaN is allowed and
pixels advected from outside the domain or from no-data are NaN in the forecast.

The result has the layout of :func:`gmgclim.inference.forecast`: dims ``time`` (init),
``prediction_timedelta``, spatial dims, float32, the truth's spatial coordinates and grid mapping.
A store written from a catalog entry records the entry (``forecast_entry``) and the grid
operations applied to it (``forecast_grid``, JSON), so its truth is opened on the same grid.
:func:`extrapolation_forecast` has the signature of the baselines in :mod:`gmgclim.metrics`
(``truth, init_times, lead_times``), so ``gmgclim score --baselines extrapolation`` uses it as is.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim import __version__
from gmgclim.config import parse_step
from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.data.advection import (
    PRECIPITATION_VARIABLES,
    nowcast_fields,
)
from gmgclim.errors import DataError
from gmgclim.inference.layout import empty_forecast_array, forecast_time_coords
from gmgclim.inference.zarr_writer import (
    ForecastWriteReport,
    forecast_store_template,
    stream_to_zarr,
)
from gmgclim.outputs import check_output_path

__all__ = [
    "PRECIPITATION_VARIABLES",
    "extrapolation_forecast",
    "nowcast_fields",
    "write_extrapolation_zarr",
]


def _as_dataset(truth: xr.Dataset | xr.DataArray) -> xr.Dataset:
    if isinstance(truth, xr.DataArray):
        return truth.to_dataset(name=truth.name or "field")
    return truth


def _field_variables(truth: xr.Dataset, variables: Sequence[str] | None) -> list[str]:
    if variables is not None:
        missing = [v for v in variables if v not in truth.data_vars]
        if missing:
            raise DataError(f"variables {missing} are not in the truth ({list(truth.data_vars)})")
        return list(variables)
    out = [
        str(name)
        for name, var in truth.data_vars.items()
        if INIT_DIM in var.dims and var.ndim == 3 and np.issubdtype(var.dtype, np.floating)
    ]
    if not out:
        raise DataError(
            f"truth has no (time, y, x) float variable to extrapolate (variables: "
            f"{[f'{n}{tuple(v.dims)}' for n, v in truth.data_vars.items()]})"
        )
    return out


def _frame_step(times: np.ndarray) -> np.timedelta64:
    if times.size < 2:
        raise DataError("truth needs at least 2 time steps to estimate motion")
    return np.timedelta64(int(np.median(np.diff(times).astype(np.int64))), "ns")


class _Layout:
    """Init times, lead times, input frame positions and the output layout of a nowcast."""

    def __init__(
        self,
        truth: xr.Dataset | xr.DataArray,
        init_times: Any,
        lead_times: Any,
        input_steps: int,
        variables: Sequence[str] | None,
        step: Any,
        missing: str,
        source: dict[str, Any] | None = None,
    ):
        if input_steps < 2:
            raise ValueError(f"input_steps must be >= 2 for a motion field, got {input_steps}")
        if missing not in ("raise", "nan"):
            raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
        self.truth = _as_dataset(truth)
        self.variables = _field_variables(self.truth, variables)
        times = self.truth[INIT_DIM].values.astype("datetime64[ns]")
        self.step = _frame_step(times) if step is None else parse_step(step, "step")
        self.init_times = np.atleast_1d(pd.to_datetime(np.asarray(init_times)).to_numpy()).astype(
            "datetime64[ns]"
        )
        self.lead_times = np.atleast_1d(pd.to_timedelta(np.asarray(lead_times)).to_numpy()).astype(
            "timedelta64[ns]"
        )
        ratio = self.lead_times.astype(np.int64) / self.step.astype(np.int64)
        if np.any(ratio <= 0) or np.any(np.diff(ratio) <= 0):
            raise ValueError(f"lead_times must be positive and increasing, got {self.lead_times}")
        self.lead_steps = ratio.tolist()
        offsets = np.arange(-(input_steps - 1), 1) * self.step
        wanted = (self.init_times[:, None] + offsets[None, :]).astype(np.int64)
        order = np.argsort(times)
        sorted_times = times[order].astype(np.int64)
        found = np.searchsorted(sorted_times, wanted).clip(0, len(times) - 1)
        hit = sorted_times[found] == wanted
        index = np.where(hit, order[found], -1).astype(np.int64)
        lacking = np.flatnonzero((index < 0).any(axis=1))
        if lacking.size and missing == "raise":
            shown = ", ".join(str(t) for t in self.init_times[lacking[:3]])
            raise DataError(
                f"truth lacks input frames for {lacking.size} init time(s) ({shown}"
                f"{' ...' if lacking.size > 3 else ''}): the nowcast needs {input_steps} frames "
                f"every {pd.Timedelta(self.step)} ending at each init time",
                hint="drop those init times, or pass missing='nan' to leave them NaN",
            )
        self.input_index = index
        self.input_steps = input_steps
        # where the truth came from: {"entry": ..., "grid": GridSpec.to_dict()} (stores only)
        self.source = dict(source or {})
        var0 = self.truth[self.variables[0]]
        self.spatial_dims = tuple(d for d in var0.dims if d != INIT_DIM)
        self.spatial_shape = tuple(var0.sizes[d] for d in self.spatial_dims)

    def precipitation(self, name: str) -> bool:
        units = str(self.truth[name].attrs.get("units", ""))
        return name in PRECIPITATION_VARIABLES or units in ("mm h-1", "mm/h", "mm", "kg m-2")

    def compute(self, rows: np.ndarray, motion_method: str) -> dict[str, np.ndarray]:
        out = {}
        for name in self.variables:
            values = np.full(
                (len(rows), len(self.lead_times), *self.spatial_shape), np.nan, np.float32
            )
            var = self.truth[name].transpose(INIT_DIM, *self.spatial_dims)
            for k, row in enumerate(rows):
                index = self.input_index[row]
                if (index < 0).any():
                    continue
                frames = np.asarray(var.isel({INIT_DIM: index}).values, dtype=np.float64)
                values[k] = nowcast_fields(
                    frames, self.lead_steps, self.precipitation(name), motion_method
                )
            out[name] = values
        return out

    def dataset(self, arrays: dict[str, Any], motion_method: str) -> xr.Dataset:
        coords: dict[str, Any] = forecast_time_coords(self.init_times, self.lead_times)
        for name, coord in self.truth.coords.items():
            if coord.dims and set(coord.dims) <= set(self.spatial_dims):
                coords[str(name)] = coord.variable.load()
        data_vars: dict[str, Any] = {}
        for name in self.variables:
            attrs = {
                k: v
                for k, v in self.truth[name].attrs.items()
                if k in ("units", "long_name", "standard_name", "grid_mapping", "coordinates")
            }
            # CF decoding (decode_coords="all") moves the attribute to the encoding
            mapping = attrs.get("grid_mapping") or self.truth[name].encoding.get("grid_mapping")
            if mapping and mapping in self.truth.variables:
                attrs["grid_mapping"] = mapping
                data_vars[mapping] = self.truth[mapping].reset_coords(drop=True).load().variable
            data_vars[name] = xr.Variable(
                (INIT_DIM, LEAD_DIM, *self.spatial_dims), arrays[name], attrs
            )
        attrs = {
            "title": "gmgclim extrapolation nowcast",
            "Conventions": "CF-1.8",
            "source": (
                f"gmgclim {__version__}: pysteps {motion_method} optical flow on the last "
                f"{self.input_steps} frames + semi-Lagrangian extrapolation"
            ),
            "gmgclim_version": __version__,
            "forecast_model_name": "extrapolation",
            "forecast_input_steps": self.input_steps,
            "forecast_step": str(pd.Timedelta(self.step)),
            "forecast_source_checkpoint": "",
            "forecast_recipe": json.dumps({}),
        }
        if self.source.get("entry"):
            attrs["forecast_entry"] = str(self.source["entry"])
        if self.source.get("grid"):
            attrs["forecast_grid"] = json.dumps(self.source["grid"], sort_keys=True)
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def fingerprint(self, motion_method: str) -> str:
        text = json.dumps(
            {
                "method": "extrapolation",
                "motion": motion_method,
                "input_steps": self.input_steps,
                "variables": self.variables,
                "step": str(self.step),
                "grid": self.source.get("grid"),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def extrapolation_forecast(
    truth: xr.Dataset | xr.DataArray,
    init_times: Any,
    lead_times: Any,
    input_steps: int = 3,
    variables: Sequence[str] | None = None,
    step: Any = None,
    motion_method: str = "LK",
    missing: str = "raise",
) -> xr.Dataset:
    """Optical-flow extrapolation nowcasts from the truth's own frames, in memory.

    Parameters
    ----------
    truth : xr.Dataset or xr.DataArray
        Canonical observations, dims (time, y, x) (or (time, latitude, longitude)); NaN = no data.
        Precipitation in mm/h (``precipitation_rate``) or reflectivity in dBZ.
    init_times : array-like of datetime64, shape (n_init,)
        Init times; each needs ``input_steps`` frames ending at it in ``truth``.
    lead_times : array-like of timedelta64, shape (n_lead,)
        Lead times, positive multiples (or fractions) of the frame step.
    input_steps : int
        Frames used for the motion field (>= 2); pysteps pools vectors of all pairs.
    variables : sequence of str, optional
        Variables to nowcast; by default every float (time, y, x) variable.
    step : str or timedelta, optional
        Frame step; by default the median time step of ``truth``.
    motion_method : str
        pysteps motion method (``"LK"``).
    missing : {"raise", "nan"}
        What to do with init times whose input frames the truth lacks: raise, or leave NaN.

    Returns
    -------
    xr.Dataset
        Dims (time=init, prediction_timedelta, *spatial); float32 per variable, the truth's
        spatial coords and grid mapping; NaN where advected from outside the domain.
    """
    layout = _Layout(truth, init_times, lead_times, input_steps, variables, step, missing)
    arrays = layout.compute(np.arange(len(layout.init_times)), motion_method)
    return layout.dataset(arrays, motion_method)


def write_extrapolation_zarr(
    truth: xr.Dataset | xr.DataArray,
    store: str | os.PathLike,
    init_times: Any,
    lead_times: Any,
    input_steps: int = 3,
    variables: Sequence[str] | None = None,
    step: Any = None,
    motion_method: str = "LK",
    missing: str = "raise",
    batch_size: int = 4,
    resume: bool = True,
    progress: bool = True,
    source: dict[str, Any] | None = None,
) -> ForecastWriteReport:
    """Stream extrapolation nowcasts into a zarr store, resumably (layout of ``forecast``).

    Parameters are those of :func:`extrapolation_forecast`, plus ``store``, ``batch_size``,
    ``resume`` and ``progress`` as in :func:`gmgclim.inference.write_forecast_zarr`, and
    ``source``: ``{"entry": NAME, "grid": GridSpec.to_dict()}`` when ``truth`` is a catalog entry
    on a cropped or coarsened grid, recorded in the store so its truth is opened on that grid.

    Returns
    -------
    ForecastWriteReport
    """
    check_output_path(store, "forecast", "output", overwrite=not resume)
    layout = _Layout(truth, init_times, lead_times, input_steps, variables, step, missing, source)
    n = len(layout.init_times)
    skeleton = layout.dataset(
        {
            name: empty_forecast_array((n, len(layout.lead_times), *layout.spatial_shape))
            for name in layout.variables
        },
        motion_method,
    )
    template, encoding = forecast_store_template(skeleton, layout.fingerprint(motion_method))
    return stream_to_zarr(
        template,
        encoding,
        store,
        lambda rows: layout.compute(rows, motion_method),
        batch_size=batch_size,
        resume=resume,
        progress=progress,
        description="extrapolation",
    )
