"""Roll a trained model over init times and write the forecasts, in memory or streamed to zarr.

A forecast is an ``xr.Dataset`` with dims ``time`` (initialisation), ``prediction_timedelta``
(lead time, ``step * 1 .. step * output_steps``), ``level`` (hPa, only where channels share a
canonical variable at several pressure levels) and the spatial dims of the input data; one float32
variable per canonical variable, de-normalised to physical units with the checkpoint's statistics,
CF attributes from :mod:`gmgclim.lexicon`, and the source checkpoint and its recipe (JSON) in the
global attributes. On disk it is chunked one init time per chunk with whole fields, the layout
WeatherBench-2-style evaluation reads as it is.

:func:`write_forecast_zarr` streams: it first writes the store's metadata (the full ``time``
coordinate, empty data arrays) into a temporary directory that is renamed into place, then writes
each batch with zarr region writes and marks its init times in the ``init_written`` coordinate
(bool, ``time``). An interrupted forecast resumes and skips what is written; a re-run of a
finished one writes nothing; memory stays flat in the number of init times. Under ``torchrun``,
rank 0 creates the metadata and each rank forecasts every ``world_size``-th batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time as _time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from gmgclim import __version__
from gmgclim.errors import CheckpointError, DataError
from gmgclim.lexicon import resolve_channel

__all__ = [
    "ForecastWriteReport",
    "Forecaster",
    "empty_forecast_array",
    "forecast",
    "forecast_store_template",
    "load_forecaster",
    "stream_to_zarr",
    "write_forecast_zarr",
]

INIT_DIM = "time"
LEAD_DIM = "prediction_timedelta"
LEVEL_DIM = "level"
#: Coordinate (bool, ``time``) marking the init times already written to a zarr store.
WRITTEN_COORD = "init_written"
_PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


# ----------------------------------------------------------------------------------------------
# What is forecast: a model with its task and normalisation
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Forecaster:
    """A model plus everything needed to turn its output into physical fields.

    Parameters
    ----------
    model : torch.nn.Module
        Maps normalised inputs (B, T_in, C, H, W) to normalised forecasts (B, T_out, C, H, W)
        when called without targets (eval mode).
    channels : sequence of str
        Lexicon short names in tensor channel order, e.g. ``("t850", "z500")``.
    input_steps, output_steps : int
        T_in frames fed to the model, T_out frames forecast.
    step : np.timedelta64 or str
        Time between frames (``"6h"``, ``"5min"`` or a timedelta64).
    mean, std : array-like, shape (C,)
        Per-channel normalisation statistics in physical units; forecasts are ``x * std + mean``.
    source : str
        Where the model came from (checkpoint path); written to the forecast attributes.
    recipe : dict, optional
        The recipe that trained the model (plain python); written as JSON to the attributes.
    task : dict, optional
        The checkpoint's task: ``entry`` (catalog entry), ``splits`` (``{name: {start, end}}``),
        ``grid`` (crop/coarsen); used for ``split=`` names, the default dataset and the grid.
        Falls back to the recipe's ``data`` section.
    model_name : str, optional
        Registry name of the model (``"gmg"``).
    fill_nan : float
        Value (normalised units) that replaces NaN in inputs, as in training.
    """

    model: torch.nn.Module
    channels: Sequence[str]
    input_steps: int
    output_steps: int
    step: Any
    mean: Any
    std: Any
    source: str = "<in-memory model>"
    recipe: dict | None = None
    task: dict | None = None
    model_name: str | None = None
    fill_nan: float = 0.0

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.step = _parse_step(self.step)
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        n = len(self.channels)
        if self.mean.shape != (n,) or self.std.shape != (n,):
            raise ValueError(
                f"normalisation mean/std have shapes {self.mean.shape}/{self.std.shape}, "
                f"expected ({n},) for channels {list(self.channels)}"
            )
        if not np.all(np.isfinite(self.std)) or np.any(self.std <= 0):
            raise ValueError(f"normalisation std must be finite and > 0, got {self.std.tolist()}")

    @property
    def lead_times(self) -> np.ndarray:
        """Lead times ``step * 1 .. step * output_steps``, ``timedelta64[ns]``, shape (T_out,)."""
        return (np.arange(1, self.output_steps + 1) * self.step).astype("timedelta64[ns]")

    def task_value(self, key: str) -> Any:
        """``key`` of the task, else of the recipe's data section, else None."""
        task = self.task or {}
        if task.get(key) is not None:
            return task[key]
        return ((self.recipe or {}).get("data") or {}).get(key)

    @property
    def entry(self) -> str | None:
        """Catalog entry of the training data (None if unknown)."""
        return self.task_value("entry")

    def split_bounds(self, split: str) -> tuple[str, str]:
        """``(start, end)`` of a named split of the task, as written in the recipe.

        A bound like ``"2019"`` or ``"2019-03-25"`` covers its whole period, as in training.
        """
        splits = self.task_value("splits") or {}
        if split not in splits or splits[split] is None:
            raise DataError(
                f"split {split!r} is not in the task of {self.source} "
                f"(splits: {sorted(k for k, v in splits.items() if v)})",
                hint="pass --init-times, or a split the recipe defines",
            )
        return str(splits[split]["start"]), str(splits[split]["end"])

    def fingerprint(self) -> str:
        """SHA-256 of the model's state dict, so a resumed store is never filled by another model."""
        digest = hashlib.sha256()
        for key, value in sorted(self.model.state_dict().items()):
            digest.update(key.encode())
            if isinstance(value, torch.Tensor):
                flat = value.detach().to("cpu").contiguous().reshape(-1)
                digest.update(str(value.dtype).encode())
                if flat.numel():
                    digest.update(flat.view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()


def _parse_step(step: Any) -> np.timedelta64:
    if isinstance(step, np.timedelta64):
        value = step.astype("timedelta64[ns]")
    else:
        try:
            value = pd.Timedelta(step).to_timedelta64().astype("timedelta64[ns]")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"step must look like '6h' or '5min', got {step!r}") from exc
    if value <= np.timedelta64(0, "ns"):
        raise ValueError(f"step must be positive, got {step!r}")
    return value


def _find_checkpoint_file(path: Path) -> Path:
    """A checkpoint file from a file path or a run directory (its best, else latest, checkpoint)."""
    import gmgclim.models.checkpoint as ckpt_mod

    if path.is_file():
        return path
    if not path.exists():
        raise FileNotFoundError(f"checkpoint or run directory {path} does not exist")
    found = ckpt_mod.find_checkpoint(path, "best") or ckpt_mod.find_checkpoint(path, "latest")
    if found is None:
        raise CheckpointError(
            f"run directory {path} holds no {ckpt_mod.CHECKPOINT_DIR}/{ckpt_mod.BEST_NAME} or "
            f"{ckpt_mod.CHECKPOINT_DIR}/{ckpt_mod.LATEST_NAME}",
            hint="pass the checkpoint file itself, or a run directory written by `gmgclim train`",
        )
    return found


def load_forecaster(model_or_checkpoint: Any, device: str = "cpu") -> Forecaster:
    """Turn a checkpoint path, run directory, Checkpoint or Forecaster into a :class:`Forecaster`.

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        A ready :class:`Forecaster`; a loaded checkpoint (``gmgclim.models.checkpoint``); a
        checkpoint file; or a run directory (its best/last checkpoint is used).
    device : str
        Torch device to put the model on.

    Returns
    -------
    Forecaster
        With the model in eval mode on ``device``.
    """
    if isinstance(model_or_checkpoint, Forecaster):
        forecaster = model_or_checkpoint
    elif isinstance(model_or_checkpoint, torch.nn.Module):
        raise TypeError(
            "a bare nn.Module does not say its channels, steps or normalisation: wrap it in "
            "gmgclim.inference.Forecaster(model, channels, input_steps, output_steps, step, mean, std)"
        )
    else:
        import gmgclim.models.checkpoint as ckpt_mod

        source = "<checkpoint object>"
        ckpt = model_or_checkpoint
        if isinstance(model_or_checkpoint, str | os.PathLike):
            path = _find_checkpoint_file(Path(model_or_checkpoint))
            source = str(path.resolve())
            ckpt = ckpt_mod.load_checkpoint(path)
        forecaster = _forecaster_from_checkpoint(ckpt, ckpt_mod.build_model(ckpt), source)
    forecaster.model.to(device)
    forecaster.model.eval()
    return forecaster


def _forecaster_from_checkpoint(ckpt: Any, model: torch.nn.Module, source: str) -> Forecaster:
    task = dict(ckpt.task or {})
    norm = ckpt.normalization or {}
    missing = [k for k in ("channels", "input_steps", "output_steps", "step") if k not in task]
    if missing:
        raise CheckpointError(f"checkpoint {source}: task lacks {missing} (has {sorted(task)})")
    mean, std = norm.get("mean"), norm.get("std")
    if mean is None or std is None:
        raise CheckpointError(
            f"checkpoint {source}: normalization lacks mean/std (has {sorted(norm)})"
        )
    stats_channels = norm.get("channels")
    if stats_channels is not None and list(stats_channels) != list(task["channels"]):
        raise CheckpointError(
            f"checkpoint {source}: normalisation channels {list(stats_channels)} differ from the "
            f"task channels {list(task['channels'])}"
        )
    recipe = getattr(ckpt, "recipe", None) or {}
    return Forecaster(
        model=model,
        channels=task["channels"],
        input_steps=int(task["input_steps"]),
        output_steps=int(task["output_steps"]),
        step=task["step"],
        mean=mean,
        std=std,
        source=source,
        recipe=recipe,
        task=task,
        model_name=getattr(ckpt, "model_name", None),
        fill_nan=float(task.get("fill_nan", (recipe.get("data") or {}).get("fill_nan", 0.0))),
    )


# ----------------------------------------------------------------------------------------------
# Plan: which init times, which inputs, which output variables
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Variable:
    name: str
    channel_index: np.ndarray  # (n,) positions in the tensor channel axis
    level_index: np.ndarray | None  # (n,) positions in the level coord, None: single level
    attrs: dict


@dataclasses.dataclass
class _Plan:
    forecaster: Forecaster
    fields: xr.DataArray  # (time, channel, *spatial), lazy
    init_times: np.ndarray  # (n_init,) datetime64[ns]
    input_index: np.ndarray  # (n_init, T_in) positions into fields.time
    variables: list[_Variable]
    levels: np.ndarray | None
    spatial_dims: tuple[str, ...]
    spatial_coords: dict[str, xr.Variable]
    extra_vars: dict[str, xr.DataArray]  # grid_mapping variables
    attrs: dict

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.fields.sizes[d] for d in self.spatial_dims)

    def var_dims(self, var: _Variable) -> tuple[str, ...]:
        level = (LEVEL_DIM,) if var.level_index is not None else ()
        return (INIT_DIM, LEAD_DIM, *level, *self.spatial_dims)

    def var_shape(self, var: _Variable, n_init: int) -> tuple[int, ...]:
        level = (len(self.levels),) if var.level_index is not None else ()
        return (n_init, self.forecaster.output_steps, *level, *self.spatial_shape)


def _open_dataset(dataset: Any, forecaster: Forecaster) -> xr.Dataset:
    """The input fields on the model's grid.

    An ``xr.Dataset`` is taken to be on the catalog entry's native grid: the task's
    ``target_grid`` (regrid), ``crop`` and ``coarsen`` are applied to it as in training. A string
    (or None: the task's entry) is opened through the catalog the way training opened it.
    """
    from gmgclim.data.grid import apply_grid
    from gmgclim.data.task import open_task_data

    grid = dict(forecaster.task_value("grid") or {})
    if isinstance(dataset, xr.Dataset):
        target = grid.get("target_grid")
        if target and "latitude" in dataset.dims:
            shape = tuple(int(n) for n in target)
            if (dataset.sizes["latitude"], dataset.sizes["longitude"]) != shape:
                from gmgclim.data.gridded import regrid

                dataset = regrid(dataset, shape=shape)
        # always, so a box crossing 0 E is made contiguous exactly as training saw it
        return apply_grid(dataset, grid)
    entry = dataset if isinstance(dataset, str) else forecaster.entry
    if entry is None:
        raise DataError(
            "no dataset given and the model's task names no catalog entry",
            hint="pass an xr.Dataset or a catalog entry name",
        )
    task = {"entry": entry, "channels": list(forecaster.channels), "grid": grid}
    return open_task_data(task)


def _variables(channels: Sequence[str]) -> tuple[list[_Variable], np.ndarray | None]:
    resolved = [resolve_channel(c) for c in channels]
    levels = sorted({c.level for c in resolved if c.level is not None})
    level_array = np.asarray(levels, dtype=np.int64) if levels else None
    out: list[_Variable] = []
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
        if all(with_level):
            level_index = np.asarray([levels.index(c.level) for _, c in members])
            if len(set(level_index.tolist())) != len(level_index):
                raise ValueError(f"channels of {variable!r} repeat a level: {channels}")
        else:
            if len(members) > 1:
                raise ValueError(f"channels {[c.name for _, c in members]} repeat {variable!r}")
            level_index = None
            attrs["long_name"] = first.long_name
        out.append(_Variable(variable, np.asarray([i for i, _ in members]), level_index, attrs))
    return out, level_array


def _select_windows(
    forecaster: Forecaster,
    times: np.ndarray,
    init_times: Any,
    split: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Init times and input frame positions, (n,) and (n, T_in).

    With a split, whole windows (inputs and targets) lie inside it, as in training, so every
    forecast of a split can be verified. Explicit init times (without a split) need only their
    input frames: forecasts may run past the end of the data.
    """
    from gmgclim.data.windows import build_windows

    start = end = None
    if isinstance(split, str):
        start, end = forecaster.split_bounds(split)
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
        raise DataError(
            f"no init time has a complete window of {forecaster.input_steps} input frames "
            f"every {_fmt_td(forecaster.step)}"
            + (f" in split {split!r}" if split is not None else "")
            + f" (dataset times {times[0] if times.size else '-'} .. {times[-1] if times.size else '-'})"
        )
    # the model forecasts from the last input frame on
    last_input = times[input_index[:, -1]].astype("datetime64[ns]")
    if not np.array_equal(last_input, all_inits):
        raise DataError("window init times are not the last input frames; data.windows changed?")
    return all_inits, input_index


def _fmt_td(td: np.timedelta64) -> str:
    return str(pd.Timedelta(td))


def _plan(forecaster: Forecaster, dataset: Any, init_times: Any, split: Any) -> _Plan:
    from gmgclim.data.channels import select_channels

    ds = _open_dataset(dataset, forecaster)
    fields = select_channels(ds, list(forecaster.channels))
    if fields.dims[:2] != ("time", "channel"):
        raise DataError(f"select_channels gave dims {fields.dims}, expected (time, channel, ...)")
    spatial_dims = tuple(fields.dims[2:])
    height, width = forecaster.task_value("height"), forecaster.task_value("width")
    shape = tuple(fields.sizes[d] for d in spatial_dims)
    if height is not None and width is not None and shape != (int(height), int(width)):
        raise DataError(
            f"the dataset's fields are {dict(zip(spatial_dims, shape, strict=True))}, but the model "
            f"of {forecaster.source} was trained on {height} x {width}",
            hint="pass the dataset on the entry's native grid: crop/coarsen/regrid of the recipe "
            "are applied here",
        )
    times = fields["time"].values.astype("datetime64[ns]")
    inits, input_index = _select_windows(forecaster, times, init_times, split)
    variables, levels = _variables(forecaster.channels)

    spatial_coords: dict[str, xr.Variable] = {}
    for name, coord in ds.coords.items():
        if name in ("time", "channel", LEVEL_DIM) or not coord.dims:
            continue
        if set(coord.dims) <= set(spatial_dims):
            spatial_coords[str(name)] = coord.variable.load()
    extra_vars: dict[str, xr.DataArray] = {}
    for var in ds.data_vars.values():
        mapping = var.attrs.get("grid_mapping")
        if mapping and mapping in ds.variables and mapping not in extra_vars:
            extra_vars[mapping] = ds[mapping].reset_coords(drop=True).load()
    if extra_vars:
        mapping_name = next(iter(extra_vars))
        for var in variables:
            var.attrs["grid_mapping"] = mapping_name
            if any(c in spatial_coords for c in ("latitude", "longitude")) and "y" in spatial_dims:
                var.attrs["coordinates"] = "latitude longitude"
    f = forecaster
    attrs = {
        "title": "gmgclim forecast",
        "Conventions": "CF-1.8",
        "institution": "gmgclim",
        "source": f"gmgclim {__version__} model {f.model_name or type(f.model).__name__}",
        "gmgclim_version": __version__,
        "forecast_source_checkpoint": f.source,
        "forecast_model_name": f.model_name or type(f.model).__name__,
        "forecast_channels": json.dumps(list(f.channels)),
        "forecast_input_steps": f.input_steps,
        "forecast_step": _fmt_td(f.step),
        "forecast_recipe": json.dumps(f.recipe or {}, sort_keys=True, default=str),
        "forecast_task": json.dumps(
            {k: v for k, v in (f.task or {}).items() if k not in ("latitude", "longitude")},
            sort_keys=True,
            default=str,
        ),
        "history": f"{pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds')}: gmgclim forecast",
    }
    return _Plan(
        forecaster=f,
        fields=fields,
        init_times=inits,
        input_index=input_index,
        variables=variables,
        levels=levels,
        spatial_dims=spatial_dims,
        spatial_coords=spatial_coords,
        extra_vars=extra_vars,
        attrs=attrs,
    )


def _coords(plan: _Plan, init_times: np.ndarray) -> dict[str, Any]:
    coords: dict[str, Any] = {
        INIT_DIM: xr.Variable(
            INIT_DIM, init_times, {"long_name": "forecast initialisation time", "axis": "T"}
        ),
        LEAD_DIM: xr.Variable(
            LEAD_DIM,
            plan.forecaster.lead_times,
            {"long_name": "forecast lead time", "standard_name": "forecast_period"},
        ),
    }
    if plan.levels is not None:
        coords[LEVEL_DIM] = xr.Variable(
            LEVEL_DIM,
            plan.levels,
            {"units": "hPa", "long_name": "pressure level", "positive": "down", "axis": "Z"},
        )
    coords.update(plan.spatial_coords)
    return coords


def _dataset(plan: _Plan, init_times: np.ndarray, arrays: dict[str, Any]) -> xr.Dataset:
    data_vars: dict[str, Any] = {
        v.name: xr.Variable(plan.var_dims(v), arrays[v.name], v.attrs) for v in plan.variables
    }
    ds = xr.Dataset(data_vars, coords=_coords(plan, init_times), attrs=dict(plan.attrs))
    for name, var in plan.extra_vars.items():
        ds[name] = var
    return ds


# ----------------------------------------------------------------------------------------------
# Running the model
# ----------------------------------------------------------------------------------------------


def _read_inputs(plan: _Plan, rows: np.ndarray) -> np.ndarray:
    """Physical-unit input frames for window rows, float32 (B, T_in, C, *spatial)."""
    index = plan.input_index[rows]
    needed, inverse = np.unique(index, return_inverse=True)
    frames = np.asarray(plan.fields.isel(time=needed).values, dtype=np.float32)
    return frames[inverse.reshape(index.shape)]


def _normalise(plan: _Plan, inputs: np.ndarray) -> np.ndarray:
    f = plan.forecaster
    shape = (1, 1, -1) + (1,) * len(plan.spatial_dims)
    out = (inputs - f.mean.reshape(shape).astype(np.float32)) / f.std.reshape(shape).astype(
        np.float32
    )
    return np.where(np.isfinite(out), out, np.float32(f.fill_nan)).astype(np.float32)


def _run_model(plan: _Plan, inputs: np.ndarray, device: str, precision: str) -> np.ndarray:
    f = plan.forecaster
    x = torch.from_numpy(_normalise(plan, inputs)).to(device)
    dtype = _PRECISIONS[precision]
    device_type = torch.device(device).type
    autocast = (
        torch.autocast(device_type=device_type, dtype=dtype)
        if dtype is not None
        else contextlib.nullcontext()
    )
    with torch.inference_mode(), autocast:
        y = f.model(x)
    expected = (inputs.shape[0], f.output_steps, len(f.channels), *inputs.shape[3:])
    if tuple(y.shape) != expected:
        raise ValueError(
            f"model {f.model_name or type(f.model).__name__} returned shape {tuple(y.shape)}, "
            f"expected {expected} (B, T_out, C, *spatial)"
        )
    out = y.float().cpu().numpy()
    shape = (1, 1, -1) + (1,) * len(plan.spatial_dims)
    return out * f.std.reshape(shape).astype(np.float32) + f.mean.reshape(shape).astype(np.float32)


def _split_variables(plan: _Plan, physical: np.ndarray) -> dict[str, np.ndarray]:
    """(B, T_out, C, *spatial) -> {variable: (B, T_out, [level], *spatial) float32}."""
    out = {}
    for var in plan.variables:
        if var.level_index is None:
            out[var.name] = physical[:, :, var.channel_index[0]].astype(np.float32)
        else:
            arr = np.full(plan.var_shape(var, physical.shape[0]), np.nan, np.float32)
            arr[:, :, var.level_index] = physical[:, :, var.channel_index]
            out[var.name] = arr
    return out


def _batches(rows: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


def _forecast_batches(
    plan: _Plan, batches: Sequence[np.ndarray], device: str, precision: str
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    for rows in batches:
        inputs = _read_inputs(plan, rows)
        yield rows, _split_variables(plan, _run_model(plan, inputs, device, precision))


def _check_args(batch_size: int, precision: str) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(_PRECISIONS)}, got {precision!r}")


def forecast(
    model_or_checkpoint: Any,
    dataset: Any = None,
    init_times: Any = None,
    split: Any = None,
    batch_size: int = 8,
    device: str = "cpu",
    precision: str = "fp32",
) -> xr.Dataset:
    """Forecast every init time in memory (for small cases; use :func:`write_forecast_zarr` else).

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        See :func:`load_forecaster`.
    dataset : xr.Dataset or str, optional
        Canonical dataset holding the input channels, or a catalog entry name; by default the
        entry of the model's recipe.
    init_times : array-like of datetime64, optional
        Init times (the last input frame of each window); by default every init time with a
        complete window in ``split``.
    split : str or (start, end) or slice, optional
        A split name of the recipe (``"test"``) or time bounds; None: the whole dataset.
    batch_size : int
        Init times per model call.
    device : str
        Torch device.
    precision : {"fp32", "bf16", "fp16"}
        Autocast precision of the model call; outputs are float32.

    Returns
    -------
    xr.Dataset
        Dims (time=init, prediction_timedelta, [level], *spatial); float32 variables in physical
        units, one per canonical variable.
    """
    _check_args(batch_size, precision)
    forecaster = load_forecaster(model_or_checkpoint, device)
    plan = _plan(forecaster, dataset, init_times, split)
    n = len(plan.init_times)
    arrays = {v.name: np.empty(plan.var_shape(v, n), np.float32) for v in plan.variables}
    batches = _batches(np.arange(n), batch_size)
    for rows, values in _forecast_batches(plan, batches, device, precision):
        for name, value in values.items():
            arrays[name][rows] = value
    return _dataset(plan, plan.init_times, arrays)


# ----------------------------------------------------------------------------------------------
# Streaming to zarr
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ForecastWriteReport:
    """What :func:`write_forecast_zarr` did.

    Attributes
    ----------
    store : str
        The zarr store.
    n_init_times : int
        Init times in the store.
    n_written : int
        Init times this call (this rank) forecast and wrote.
    n_skipped : int
        Init times already written before this call (resumed).
    seconds : float
        Wall time of the forecast loop (excluding metadata creation).
    """

    store: str
    n_init_times: int
    n_written: int
    n_skipped: int
    seconds: float

    @property
    def init_times_per_second(self) -> float:
        """Write throughput of this call."""
        return self.n_written / self.seconds if self.seconds > 0 else float("nan")


def _init_distributed() -> bool:
    """Join the torchrun process group if launched by torchrun and not joined yet."""
    import torch.distributed as dist

    if not dist.is_available() or dist.is_initialized():
        return False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        return True
    return False


def _rank_world() -> tuple[int, int]:
    """(rank, world_size) of the joined process group, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _is_local(store: str) -> bool:
    return "://" not in store


def forecast_store_template(skeleton: xr.Dataset, fingerprint: str) -> tuple[xr.Dataset, dict]:
    """Turn a forecast Dataset with dask-backed data into a zarr template plus its encoding.

    Parameters
    ----------
    skeleton : xr.Dataset
        The forecast layout with the full ``time`` coordinate; data variables with a ``time``
        dim are dask arrays (their values are never computed).
    fingerprint : str
        Identifies what fills the store (model weights, method + settings); a resumed store must
        have the same.

    Returns
    -------
    template : xr.Dataset
        ``skeleton`` plus the ``init_written`` coordinate and fingerprint attribute.
    encoding : dict
        float32, NaN fill, chunks of one init time and whole fields.
    """
    import dask.array as dsa

    n = skeleton.sizes[INIT_DIM]
    encoding: dict[str, dict] = {}
    for name, var in skeleton.data_vars.items():
        if INIT_DIM not in var.dims:
            continue
        chunks = tuple(1 if d == INIT_DIM else var.sizes[d] for d in var.dims)
        encoding[str(name)] = {
            "chunks": chunks,
            "dtype": "float32",
            "_FillValue": np.float32("nan"),
        }
    template = skeleton.assign_coords(
        {
            WRITTEN_COORD: xr.Variable(
                INIT_DIM,
                dsa.zeros(n, dtype=bool, chunks=1),
                {"long_name": "init time written by gmgclim forecast (resume marker)"},
            )
        }
    )
    template.attrs["forecast_fingerprint"] = fingerprint
    encoding[WRITTEN_COORD] = {"chunks": (1,)}
    encoding[INIT_DIM] = {"units": "seconds since 1970-01-01", "dtype": "int64"}
    return template, encoding


def empty_forecast_array(shape: tuple[int, ...]) -> Any:
    """A lazy NaN float32 dask array chunked one init time per chunk (never computed)."""
    import dask.array as dsa

    return dsa.full(shape, np.nan, dtype=np.float32, chunks=(1, *shape[1:]))


def _create_store(template: xr.Dataset, encoding: dict, store: str) -> None:
    """Write metadata (and coords) only; into a temp dir renamed into place for local stores."""
    if not _is_local(store):
        template.to_zarr(store, mode="w", compute=False, encoding=encoding, zarr_format=2)
        return
    target = Path(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        template.to_zarr(
            str(tmp), mode="w", compute=False, encoding=encoding, zarr_format=2, consolidated=True
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_existing(existing: xr.Dataset, template: xr.Dataset, store: str) -> None:
    """Raise if a store to resume does not hold the same forecast as the template."""
    hint = "pass resume=False (CLI: --overwrite) to start the store again"

    def differ(what: str, have: Any, want: Any) -> DataError:
        return DataError(f"{store}: {what} differ from this forecast: {have} vs {want}", hint=hint)

    if set(existing.data_vars) != set(template.data_vars):
        raise differ("variables", sorted(existing.data_vars), sorted(template.data_vars))
    for coord in (INIT_DIM, LEAD_DIM):
        have, want = existing[coord].values, template[coord].values
        if have.shape != want.shape or not np.array_equal(have, want):
            raise differ(f"{coord} values", f"{have.size} values", f"{want.size} values")
    if WRITTEN_COORD not in existing.coords:
        raise DataError(f"{store} is not a gmgclim forecast store (no {WRITTEN_COORD})", hint=hint)
    for name, var in template.data_vars.items():
        if existing[name].shape != var.shape:
            raise differ(f"shapes of {name}", existing[name].shape, var.shape)
    key = "forecast_fingerprint"
    if existing.attrs.get(key) != template.attrs[key]:
        raise differ("model or method (fingerprint)", existing.attrs.get(key), template.attrs[key])


def _open_store(store: str) -> xr.Dataset:
    return xr.open_zarr(store, consolidated=True, decode_timedelta=True)


def _contiguous_runs(rows: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Split sorted positions into runs (start, stop, positions-in-batch)."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    out = []
    for part in np.split(np.arange(len(rows)), breaks):
        out.append((int(rows[part[0]]), int(rows[part[-1]]) + 1, part))
    return out


class _RegionWriter:
    """Region writes of whole init-time chunks into a store made by :func:`_create_store`.

    Writes go straight to the zarr arrays (the same bytes ``to_zarr(region=...)`` writes: float32,
    no scale/offset, NaN fill) because the store's metadata never changes after creation; this
    avoids xarray re-reading the metadata on every call, which dominated small writes.
    """

    def __init__(self, template: xr.Dataset, store: str):
        import zarr

        self.group = zarr.open_group(store, mode="r+", zarr_format=2)
        self.dims = {str(n): template[n].dims for n in template.data_vars}

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Write ``values`` ({variable: (len(rows), ...)}) at positions ``rows`` of ``time``."""
        runs = _contiguous_runs(rows)
        for name, value in values.items():
            if self.dims[name][0] != INIT_DIM:
                raise ValueError(
                    f"variable {name} does not lead with {INIT_DIM}: {self.dims[name]}"
                )
            array = self.group[name]
            for start, stop, part in runs:
                array[start:stop] = np.ascontiguousarray(value[part], dtype=np.float32)
        # the marker goes last: a crash between the two leaves the init time to be redone
        marker = self.group[WRITTEN_COORD]
        for start, stop, _ in runs:
            marker[start:stop] = np.ones(stop - start, dtype=bool)


class _Progress:
    """A rich progress bar (init times done, rate, time left), or nothing."""

    def __init__(self, total: int, enabled: bool, description: str):
        self.enabled = enabled and total > 0
        self._progress = None
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("init times"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, rate="")
            self._start = _time.perf_counter()
            self._done = 0
            self._progress.start()

    def advance(self, n: int) -> None:
        if self._progress is None:
            return
        self._done += n
        rate = self._done / max(_time.perf_counter() - self._start, 1e-9)
        self._progress.update(self._task, advance=n, rate=f"{rate:.2f}/s")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def stream_to_zarr(
    template: xr.Dataset,
    encoding: dict,
    store: str | os.PathLike,
    compute_batch: Callable[[np.ndarray], dict[str, np.ndarray]],
    batch_size: int = 8,
    resume: bool = True,
    progress: bool = True,
    description: str = "forecast",
) -> ForecastWriteReport:
    """Fill a forecast zarr store batch by batch with region writes, resumably.

    Parameters
    ----------
    template, encoding
        From :func:`forecast_store_template`.
    store : str or path-like
        Local directory or fsspec URL.
    compute_batch : callable
        ``compute_batch(rows)`` with ``rows`` (B,) positions along ``time`` returns
        ``{variable: float32 array (B, *other dims of the variable)}``.
    batch_size : int
        Init times per ``compute_batch`` call and region write.
    resume : bool
        Keep what an existing store of the same forecast holds (else start it again).
    progress : bool
        Progress bar on rank 0.
    description : str
        Progress bar label.

    Returns
    -------
    ForecastWriteReport
    """
    store = os.fspath(store)
    rank, world = _rank_world()
    if rank == 0:
        if _store_exists(store) and resume:
            _check_existing(_open_store(store), template, store)
        else:
            _create_store(template, encoding, store)
    _barrier(world)
    written = _open_store(store)[WRITTEN_COORD].values.astype(bool)
    # every rank must split the same pending list: nobody writes before all have read it
    _barrier(world)
    pending = np.flatnonzero(~written)
    batches = _batches(pending, batch_size)[rank::world]
    n_mine = int(sum(len(b) for b in batches))
    bar = _Progress(n_mine, progress and rank == 0, f"{description} -> {Path(store).name}")
    writer = _RegionWriter(template, store)
    start = _time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # one write in flight while the next batch is computed: memory stays ~two batches
            in_flight: tuple[Future, int] | None = None
            for rows in batches:
                values = compute_batch(rows)
                if in_flight is not None:
                    in_flight[0].result()
                    bar.advance(in_flight[1])
                in_flight = (pool.submit(writer.write, rows, values), len(rows))
                del values
            if in_flight is not None:
                in_flight[0].result()
                bar.advance(in_flight[1])
    finally:
        bar.close()
    seconds = _time.perf_counter() - start
    _barrier(world)
    return ForecastWriteReport(
        store=store,
        n_init_times=int(template.sizes[INIT_DIM]),
        n_written=n_mine,
        n_skipped=int(written.sum()),
        seconds=seconds,
    )


def write_forecast_zarr(
    model_or_checkpoint: Any,
    dataset: Any = None,
    store: str | os.PathLike = "forecasts.zarr",
    init_times: Any = None,
    split: Any = None,
    batch_size: int = 8,
    device: str = "cpu",
    precision: str = "fp32",
    resume: bool = True,
    progress: bool = True,
) -> ForecastWriteReport:
    """Forecast every init time and stream the results into a zarr store, resumably.

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        See :func:`load_forecaster`.
    dataset : xr.Dataset or str, optional
        Canonical input dataset or catalog entry name (default: the recipe's entry).
    store : str or path-like
        Zarr store (a local directory, or an fsspec URL).
    init_times, split : optional
        Which init times, as in :func:`forecast`.
    batch_size : int
        Init times per model call and per region write.
    device : str
        Torch device; under torchrun ``"cuda"`` means each rank's ``cuda:LOCAL_RANK``.
    precision : {"fp32", "bf16", "fp16"}
        Autocast precision of the model call.
    resume : bool
        Keep init times already written to an existing store of the same forecast (same init
        times, lead times, variables and model weights; anything else raises). False: start
        the store again.
    progress : bool
        Show a progress bar (rank 0).

    Returns
    -------
    ForecastWriteReport
    """
    _check_args(batch_size, precision)
    initialised_here = _init_distributed()
    rank, world = _rank_world()
    if world > 1 and device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    try:
        forecaster = load_forecaster(model_or_checkpoint, device)
        plan = _plan(forecaster, dataset, init_times, split)
        skeleton = _dataset(
            plan,
            plan.init_times,
            {
                v.name: empty_forecast_array(plan.var_shape(v, len(plan.init_times)))
                for v in plan.variables
            },
        )
        template, encoding = forecast_store_template(skeleton, forecaster.fingerprint())

        def compute_batch(rows: np.ndarray) -> dict[str, np.ndarray]:
            inputs = _read_inputs(plan, rows)
            return _split_variables(plan, _run_model(plan, inputs, device, precision))

        return stream_to_zarr(
            template, encoding, store, compute_batch, batch_size, resume, progress, "forecast"
        )
    finally:
        if initialised_here:
            import torch.distributed as dist

            dist.destroy_process_group()


def _store_exists(store: str) -> bool:
    if _is_local(store):
        return (Path(store) / ".zgroup").exists() or (Path(store) / "zarr.json").exists()
    import fsspec

    mapper = fsspec.get_mapper(store)
    return ".zgroup" in mapper or "zarr.json" in mapper
