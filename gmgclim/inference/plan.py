"""Planning a model forecast: which input fields, init times and windows, which output variables.

:func:`plan_forecast` opens the input data on the model's grid, picks the init times (all complete
windows of a split, or given ones) and maps the tensor channels to output variables (channels that
share a canonical variable at several pressure levels become one variable with a ``level`` dim).
The returned :class:`ForecastPlan` reads the inputs of a batch of init times, splits the model's
output into variables and assembles the forecast ``xr.Dataset`` with CF attributes, the grid
mapping of the input, and the model's task and recipe (JSON) in the global attributes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim import __version__
from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.data.context import ContextFields
from gmgclim.errors import DataError
from gmgclim.inference.forecaster import Forecaster
from gmgclim.inference.layout import LEVEL_DIM, forecast_time_coords
from gmgclim.lexicon import resolve_channel

__all__ = ["ForecastPlan", "OutputVariable", "plan_forecast"]


@dataclasses.dataclass
class OutputVariable:
    """One variable of the forecast and the tensor channels it is made of.

    Attributes
    ----------
    name : str
        Canonical variable name (``"temperature"``).
    channel_index : np.ndarray, shape (n,)
        Positions of its channels in the tensor channel axis.
    level_index : np.ndarray, shape (n,), or None
        Positions of those channels in the plan's ``level`` coordinate; None: single level.
    attrs : dict
        CF attributes (units, long_name, standard_name, grid_mapping).
    """

    name: str
    channel_index: np.ndarray
    level_index: np.ndarray | None
    attrs: dict


@dataclasses.dataclass
class ForecastPlan:
    """Everything decided before the model runs.

    Attributes
    ----------
    forecaster : Forecaster
    fields : xr.DataArray
        Input fields (time, channel, *spatial) in physical units, lazy.
    init_times : np.ndarray, datetime64[ns], shape (n_init,)
    input_index : np.ndarray, int, shape (n_init, T_in)
        Positions of each init time's input frames in ``fields.time``.
    variables : list of OutputVariable
    levels : np.ndarray of int (hPa) or None
    spatial_dims : tuple of str
    spatial_coords : dict of str to xr.Variable
        Coordinates of the input on the spatial dims (1-D or 2-D latitude/longitude).
    extra_vars : dict of str to xr.DataArray
        Grid-mapping variables of the input.
    attrs : dict
        Global attributes of the forecast.
    context : ContextFields or None
        Forcings and statics of the task on this grid (None when the model reads none).
    """

    forecaster: Forecaster
    fields: xr.DataArray
    init_times: np.ndarray
    input_index: np.ndarray
    variables: list[OutputVariable]
    levels: np.ndarray | None
    spatial_dims: tuple[str, ...]
    spatial_coords: dict[str, xr.Variable]
    extra_vars: dict[str, xr.DataArray]
    attrs: dict
    context: ContextFields | None = None

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Sizes of the spatial dims, e.g. (H, W)."""
        return tuple(self.fields.sizes[d] for d in self.spatial_dims)

    def var_dims(self, var: OutputVariable) -> tuple[str, ...]:
        """``(time, prediction_timedelta, [level], *spatial)``."""
        level = (LEVEL_DIM,) if var.level_index is not None else ()
        return (INIT_DIM, LEAD_DIM, *level, *self.spatial_dims)

    def var_shape(self, var: OutputVariable, n_init: int) -> tuple[int, ...]:
        """``(n_init, T_out, [n_level], *spatial)``."""
        level = (
            (len(self.levels),) if self.levels is not None and var.level_index is not None else ()
        )
        return (n_init, self.forecaster.output_steps, *level, *self.spatial_shape)

    def read_inputs(self, rows: np.ndarray) -> np.ndarray:
        """Physical-unit input frames of init times ``rows`` (B,), float32 (B, T_in, C, *spatial)."""
        index = self.input_index[rows]
        needed, inverse = np.unique(index, return_inverse=True)
        frames = np.asarray(self.fields.isel(time=needed).values, dtype=np.float32)
        return frames[inverse.reshape(index.shape)]

    def context_fields(self, rows: np.ndarray) -> np.ndarray | None:
        """Context of init times ``rows`` (B,): (B, T_in + T_out, K, *spatial) float32, or None.

        Frame k of init time t0 is valid at ``t0 + (k - T_in + 1) * step``.
        """
        if self.context is None:
            return None
        task = self.forecaster.task
        offsets = np.arange(-task.input_steps + 1, task.output_steps + 1) * task.step_timedelta
        return np.stack([self.context.fields(self.init_times[r] + offsets) for r in rows])

    def split_variables(self, physical: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T_out, C, *spatial) -> {variable: (B, T_out, [level], *spatial) float32}.

        Levels a variable has no channel for are NaN.
        """
        out = {}
        for var in self.variables:
            if var.level_index is None:
                out[var.name] = physical[:, :, var.channel_index[0]].astype(np.float32)
            else:
                arr = np.full(self.var_shape(var, physical.shape[0]), np.nan, np.float32)
                arr[:, :, var.level_index] = physical[:, :, var.channel_index]
                out[var.name] = arr
        return out

    def dataset(self, init_times: np.ndarray, arrays: dict[str, Any]) -> xr.Dataset:
        """The forecast Dataset of ``init_times`` with data ``arrays`` ({variable: array})."""
        coords: dict[str, Any] = forecast_time_coords(init_times, self.forecaster.lead_times)
        if self.levels is not None:
            coords[LEVEL_DIM] = xr.Variable(
                LEVEL_DIM,
                self.levels,
                {"units": "hPa", "long_name": "pressure level", "positive": "down", "axis": "Z"},
            )
        coords.update(self.spatial_coords)
        data_vars = {
            v.name: xr.Variable(self.var_dims(v), arrays[v.name], v.attrs) for v in self.variables
        }
        ds = xr.Dataset(data_vars, coords=coords, attrs=dict(self.attrs))
        for name, var in self.extra_vars.items():
            ds[name] = var
        return ds


def _open_dataset(dataset: Any, forecaster: Forecaster) -> xr.Dataset:
    """The input fields on the model's grid.

    An ``xr.Dataset`` is taken to be on the catalog entry's native grid: the task's
    ``target_grid`` (regrid), ``crop`` and ``coarsen`` are applied to it as in training. A string
    (or None: the task's entry) is opened through the catalog the way training opened it.
    """
    from gmgclim.data.grid import apply_grid
    from gmgclim.data.task import open_task_data

    grid = forecaster.task.grid
    if isinstance(dataset, xr.Dataset):
        if grid.target_grid is not None and "latitude" in dataset.dims:
            if (dataset.sizes["latitude"], dataset.sizes["longitude"]) != grid.target_grid:
                from gmgclim.data.gridded import regrid

                dataset = regrid(dataset, shape=grid.target_grid)
        # always, so a box crossing 0 E is made contiguous exactly as training saw it
        return apply_grid(dataset, grid)
    entry = dataset if isinstance(dataset, str) else forecaster.entry
    if entry is None:
        raise DataError(
            "no dataset given and the model's task names no catalog entry",
            hint="pass an xr.Dataset or a catalog entry name",
        )
    return open_task_data(forecaster.task.replace(entry=entry))


def _output_variables(
    channels: Sequence[str], ds: xr.Dataset | None = None
) -> tuple[list[OutputVariable], np.ndarray | None]:
    # a channel mapped or defined by the catalog carries its own variable and units in the data
    if ds is not None:
        from gmgclim.data.channels import dataset_channel

        resolved = [dataset_channel(ds, c) for c in channels]
    else:
        resolved = [resolve_channel(c) for c in channels]
    levels = sorted({c.level for c in resolved if c.level is not None})
    level_array = np.asarray(levels, dtype=np.int64) if levels else None
    out: list[OutputVariable] = []
    for variable in dict.fromkeys(c.variable for c in resolved):
        members = [(i, c) for i, c in enumerate(resolved) if c.variable == variable]
        with_level = [c.level is not None for _, c in members]
        if any(with_level) and not all(with_level):
            raise ValueError(
                f"channels {[c.name for _, c in members]} mix single-level and pressure-level "
                f"fields of variable {variable!r}"
            )
        first = members[0][1]
        attrs = {"units": first.units, "long_name": first.long_name.split(" at ")[0]}
        if first.standard_name:
            attrs["standard_name"] = first.standard_name
        level_index = None
        if all(with_level):
            level_index = np.asarray([levels.index(cast(int, c.level)) for _, c in members])
            if len(set(level_index.tolist())) != len(level_index):
                raise ValueError(f"channels of {variable!r} repeat a level: {channels}")
        else:
            if len(members) > 1:
                raise ValueError(f"channels {[c.name for _, c in members]} repeat {variable!r}")
            attrs["long_name"] = first.long_name
        channel_index = np.asarray([i for i, _ in members])
        out.append(OutputVariable(variable, channel_index, level_index, attrs))
    return out, level_array


def _fmt_td(td: np.timedelta64) -> str:
    return str(pd.Timedelta(td))


def _select_windows(
    forecaster: Forecaster, times: np.ndarray, init_times: Any, split: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Init times and input frame positions, (n,) and (n, T_in).

    With a split, whole windows (inputs and targets) lie inside it, as in training, so every
    forecast of a split can be verified. Explicit init times (without a split) need only their
    input frames: forecasts may run past the end of the data.
    """
    from gmgclim.data.windows import build_windows

    start = end = None
    if isinstance(split, str):
        start, end = forecaster.task.split_bounds(split)
    elif isinstance(split, slice):
        start, end = split.start, split.stop
    elif split is not None:
        start, end = split
    windows = build_windows(
        times,
        input_steps=forecaster.input_steps,
        output_steps=forecaster.output_steps if split is not None else 0,
        step=forecaster.step,
        start=start,
        end=end,
    )
    all_inits = np.asarray(windows.init_times).astype("datetime64[ns]")
    input_index = np.asarray(windows.input_index)
    every = f"{forecaster.input_steps} input frames every {_fmt_td(forecaster.step)}"
    if init_times is not None:
        wanted = np.atleast_1d(pd.to_datetime(np.asarray(init_times)).to_numpy()).astype(
            "datetime64[ns]"
        )
        missing = np.setdiff1d(wanted, all_inits)
        if missing.size:
            shown = ", ".join(str(t) for t in missing[:3]) + (" ..." if missing.size > 3 else "")
            raise DataError(
                f"init times {shown} ({missing.size} of {wanted.size}) have no complete input "
                f"window of {forecaster.input_steps} frames every {_fmt_td(forecaster.step)} "
                "in the dataset" + (f" within split {split!r}" if split is not None else ""),
                hint="pick init times whose input frames the data covers",
            )
        rows = np.flatnonzero(np.isin(all_inits, wanted))
        all_inits, input_index = all_inits[rows], input_index[rows]
    if all_inits.size == 0:
        span = f"{times[0]} .. {times[-1]}" if times.size else "- .. -"
        raise DataError(
            f"no init time has a complete window of {every}"
            + (f" in split {split!r}" if split is not None else "")
            + f" (dataset times {span})"
        )
    # the model forecasts from the last input frame on
    last_input = times[input_index[:, -1]].astype("datetime64[ns]")
    if not np.array_equal(last_input, all_inits):
        raise DataError("window init times are not the last input frames; data.windows changed?")
    return all_inits, input_index


def _forecast_attrs(forecaster: Forecaster) -> dict[str, Any]:
    """Global attributes: provenance, and the task and recipe as JSON (read by the scorer)."""
    f = forecaster
    # the grid's coordinate values are in the store itself
    task = {k: v for k, v in f.task.to_dict().items() if k not in ("latitude", "longitude")}
    return {
        "title": "gmgclim forecast",
        "Conventions": "CF-1.8",
        "institution": "gmgclim",
        "source": f"gmgclim {__version__} model {f.display_name}",
        "gmgclim_version": __version__,
        "forecast_source_checkpoint": f.source,
        "forecast_model_name": f.display_name,
        "forecast_channels": json.dumps(list(f.channels)),
        "forecast_input_steps": f.input_steps,
        "forecast_step": _fmt_td(f.step),
        "forecast_recipe": json.dumps(f.recipe, sort_keys=True, default=str),
        "forecast_task": json.dumps(task, sort_keys=True, default=str),
        "history": f"{pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds')}: gmgclim forecast",
    }


def plan_forecast(
    forecaster: Forecaster, dataset: Any = None, init_times: Any = None, split: Any = None
) -> ForecastPlan:
    """Decide what to forecast: inputs, init times, windows and output variables.

    Parameters
    ----------
    forecaster : Forecaster
    dataset, init_times, split
        As in :func:`gmgclim.inference.forecast`.

    Returns
    -------
    ForecastPlan

    Raises
    ------
    DataError
        The data is not on the model's grid, a split is unknown, or an init time has no
        complete input window.
    """
    from gmgclim.data.channels import select_channels
    from gmgclim.data.windows import check_step

    ds = _open_dataset(dataset, forecaster)
    fields = select_channels(ds, list(forecaster.channels))
    if fields.dims[:2] != ("time", "channel"):
        raise DataError(f"select_channels gave dims {fields.dims}, expected (time, channel, ...)")
    spatial_dims = tuple(str(d) for d in fields.dims[2:])
    # the models are convolutional: any grid runs (a crop-trained model forecasts a whole
    # domain); what cannot (layer_norm) is refused by the model itself with the sizes named
    times = fields["time"].values.astype("datetime64[ns]")
    entry = dataset if isinstance(dataset, str) else forecaster.entry
    source = f"catalog entry {entry!r}" if entry else "the data"
    check_step(
        times, forecaster.step, "the forecast step (--step, or the model's data.step)", source
    )
    inits, input_index = _select_windows(forecaster, times, init_times, split)
    variables, levels = _output_variables(forecaster.channels, ds)

    spatial_coords: dict[str, xr.Variable] = {}
    for name, coord in ds.coords.items():
        if name in ("time", "channel", LEVEL_DIM) or not coord.dims:
            continue
        if set(coord.dims) <= set(spatial_dims):
            spatial_coords[str(name)] = coord.variable.load()
    extra_vars: dict[str, xr.DataArray] = {}
    for var in ds.data_vars.values():
        # CF decoding (decode_coords="all") moves the attribute to the encoding
        mapping = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
        if mapping and mapping in ds.variables and mapping not in extra_vars:
            extra_vars[mapping] = ds[mapping].reset_coords(drop=True).load()
    if extra_vars:
        mapping_name = next(iter(extra_vars))
        for output in variables:
            output.attrs["grid_mapping"] = mapping_name
            if any(c in spatial_coords for c in ("latitude", "longitude")) and "y" in spatial_dims:
                output.attrs["coordinates"] = "latitude longitude"
    return ForecastPlan(
        forecaster=forecaster,
        fields=fields,
        init_times=inits,
        input_index=input_index,
        variables=variables,
        levels=levels,
        spatial_dims=spatial_dims,
        spatial_coords=spatial_coords,
        extra_vars=extra_vars,
        attrs=_forecast_attrs(forecaster),
        # statics an entry declares are read from the entry the data came from, on its grid
        context=ContextFields.for_task(
            forecaster.task.replace(entry=dataset) if isinstance(dataset, str) else forecaster.task,
            ds,
        ),
    )
