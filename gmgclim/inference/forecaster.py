"""What is forecast: a model, its typed task and normalisation, and how to run it.

A :class:`Forecaster` holds a model that maps normalised input frames to normalised forecasts,
the :class:`~gmgclim.data.task.Task` it was trained on (channels, steps, grid, splits) and the
per-channel statistics that turn its output into physical fields. :func:`gmgclim.inference.loading.load_forecaster`
builds one from a checkpoint file or run directory. :meth:`Forecaster.predict` is the
one place that normalises inputs, runs the model and de-normalises its output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from gmgclim.config import parse_step
from gmgclim.data.task import Task
from gmgclim.errors import DataError

__all__ = ["PRECISIONS", "Forecaster"]

#: Autocast dtype of each ``precision`` name (None: no autocast, float32).
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(Task))
_STEP_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


@dataclasses.dataclass(init=False, eq=False)
class Forecaster:
    """A model plus everything needed to turn its output into physical fields.

    Parameters
    ----------
    model : torch.nn.Module
        Maps normalised inputs (B, T_in, C, H, W) to normalised forecasts (B, T_out, C, H, W)
        when called without targets (eval mode).
    channels : sequence of str, optional
        Lexicon short names in tensor channel order, e.g. ``("t850", "z500")``.
    input_steps, output_steps : int, optional
        T_in frames fed to the model, T_out frames forecast.
    step : str or np.timedelta64, optional
        Time between frames (``"6h"``, ``"5min"`` or a timedelta64).
    mean, std : array-like, shape (C,)
        Per-channel normalisation statistics in physical units; forecasts are ``x * std + mean``.
    source : str
        Where the model came from (checkpoint path); written to the forecast attributes.
    recipe : dict, optional
        The recipe that trained the model (plain python); written as JSON to the attributes.
    task : Task or dict, optional
        The model's task. A :class:`~gmgclim.data.task.Task` is used as it is (``channels`` ...
        need not be repeated, and must agree when they are). A dict (a checkpoint's task, or
        part of one such as ``{"splits": ...}``) is completed from the recipe's ``data`` section
        and the arguments above, which win.
    model_name : str, optional
        Registry name of the model (``"gmg"``).
    fill_nan : float, optional
        Value (normalised units) that replaces NaN in inputs, as in training (default: the
        task's, else 0).
    diurnal : array-like, shape (24, C, H, W), optional
        Mean by UTC hour of day of the training split on the training grid, in the units of
        ``mean``/``std`` (NaN at hours without data); required by ``residual: diurnal``
        (:mod:`gmgclim.data.diurnal`).

    Attributes
    ----------
    task : Task
        The typed task; ``entry`` is ``""`` when no catalog entry is known.
    mean, std : np.ndarray, float64, shape (C,)
    diurnal : np.ndarray, float64, shape (24, C, H, W), or None
    """

    model: torch.nn.Module
    task: Task
    mean: np.ndarray
    std: np.ndarray
    diurnal: np.ndarray | None
    source: str
    recipe: dict
    model_name: str | None
    #: Default precision of :meth:`predict`: the one the checkpoint was trained in ("fp32" else).
    precision: str

    def __init__(
        self,
        model: torch.nn.Module,
        channels: Sequence[str] | None = None,
        input_steps: int | None = None,
        output_steps: int | None = None,
        step: Any = None,
        mean: Any = None,
        std: Any = None,
        source: str = "<in-memory model>",
        recipe: dict | None = None,
        task: Task | Mapping[str, Any] | None = None,
        model_name: str | None = None,
        fill_nan: float | None = None,
        diurnal: Any = None,
    ):
        self.model = model
        self.precision = "fp32"
        self.source = source
        self.recipe = dict(recipe or {})
        self.model_name = model_name
        explicit = {
            "channels": None if channels is None else tuple(channels),
            "input_steps": input_steps,
            "output_steps": output_steps,
            "step": step,
            "fill_nan": fill_nan,
        }
        self.task = _build_task(task, self.recipe, explicit, source)
        if mean is None or std is None:
            raise ValueError("a Forecaster needs the normalisation mean and std, shape (C,)")
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        n = len(self.channels)
        if self.mean.shape != (n,) or self.std.shape != (n,):
            raise ValueError(
                f"normalisation mean/std have shapes {self.mean.shape}/{self.std.shape}, "
                f"expected ({n},) for channels {list(self.channels)}"
            )
        if not np.all(np.isfinite(self.std)) or np.any(self.std <= 0):
            raise ValueError(f"normalisation std must be finite and > 0, got {self.std.tolist()}")
        #: NaN/inf input cells filled with ``task.fill_nan`` so far, per channel, and cells read
        self.filled_input_cells = np.zeros(n, dtype=np.int64)
        self.input_cells_per_channel = 0
        self.diurnal = None if diurnal is None else np.asarray(diurnal, dtype=np.float64)
        self._diurnal_scale: Any = None  # built on first use (data.diurnal_scaling)
        if self.task.residual == "diurnal" and (
            self.diurnal is None or self.diurnal.shape[:2] != (24, n)
        ):
            got = None if self.diurnal is None else self.diurnal.shape
            raise ValueError(
                f"{source}: data.residual: diurnal needs the training split's mean by hour of "
                f"day, shape (24, {n}, H, W); got {got}"
            )

    def for_data(
        self,
        entry: str | None = None,
        grid: Any = None,
        step: Any = None,
        probability_matching: str | None = None,
    ) -> Forecaster:
        """This model applied to other data: another entry, grid operations or frame step.

        Parameters
        ----------
        entry : str, optional
            Catalog entry to read instead of the task's. Another entry is read on its native grid
            unless ``grid`` says otherwise (the training crop belongs to the training entry).
        grid : GridSpec or dict, optional
            Regrid / crop / coarsen to apply instead of the task's.
        step : str, optional
            Time between the frames fed to the model (e.g. ``"10min"`` for a model trained on
            5-minute frames, on purpose); lead times follow it.
        probability_matching : {"none", "cdf"}, optional
            Instead of the task's ``data.probability_matching``.

        Returns
        -------
        Forecaster
            A shallow copy with the changed task (the same model and statistics).
        """
        import copy

        from gmgclim.data.task import GridSpec

        changes: dict[str, Any] = {}
        if entry is not None and entry != self.task.entry:
            changes["entry"] = entry
            changes["grid"] = GridSpec()
        if grid is not None:
            changes["grid"] = grid if isinstance(grid, GridSpec) else GridSpec.from_dict(grid)
        if step is not None:
            changes["step"] = _step_text(step)
        if probability_matching is not None and (
            probability_matching != self.task.probability_matching
        ):
            changes["probability_matching"] = probability_matching
        if not changes:
            return self
        moved = changes.get("entry", self.task.entry) != self.task.entry or (
            changes.get("grid", self.task.grid) != self.task.grid
        )
        if moved and self.task.residual == "diurnal":
            raise DataError(
                f"model {self.display_name} of {self.source} has data.residual: diurnal, whose "
                f"mean day per pixel belongs to its training data ({self.task.entry!r} on its "
                "grid): it cannot forecast another entry or grid",
                hint="forecast the training entry and grid, or train with residual: persistence",
            )
        other = copy.copy(self)
        other.task = self.task.replace(**changes)
        return other

    # -- the task, typed ----------------------------------------------------------------------

    @property
    def channels(self) -> tuple[str, ...]:
        """Lexicon short names in tensor channel order (C,)."""
        return self.task.channels

    @property
    def input_steps(self) -> int:
        """T_in, frames fed to the model."""
        return self.task.input_steps

    @property
    def output_steps(self) -> int:
        """T_out, frames forecast."""
        return self.task.output_steps

    @property
    def step(self) -> np.timedelta64:
        """Time between frames, ``timedelta64[ns]``."""
        return self.task.step_timedelta

    @property
    def lead_times(self) -> np.ndarray:
        """Lead times ``step * 1 .. step * output_steps``, ``timedelta64[ns]``, shape (T_out,)."""
        return self.task.lead_times

    @property
    def entry(self) -> str | None:
        """Catalog entry of the training data (None if unknown)."""
        return self.task.entry or None

    @property
    def display_name(self) -> str:
        """The registry name of the model, else its class name."""
        return self.model_name or type(self.model).__name__

    # -- running the model --------------------------------------------------------------------

    def predict(
        self,
        inputs: np.ndarray,
        device: str = "cpu",
        precision: str | None = None,
        context: np.ndarray | None = None,
        init_times: np.ndarray | None = None,
    ) -> np.ndarray:
        """Forecast in physical units from physical inputs.

        Parameters
        ----------
        inputs : np.ndarray, float32, shape (B, T_in, C, *spatial)
            Input frames in physical units; NaN becomes ``task.fill_nan`` after normalising.
        device : str
            Torch device of the model.
        precision : {"fp32", "bf16", "fp16"}, optional
            Autocast precision of the model call; None: :attr:`precision`, the one the
            checkpoint was trained in.
        context : np.ndarray, float32, shape (B, T_in + T_out, K, *spatial), optional
            Forcings and statics of every frame (:meth:`ForecastPlan.context_fields`); required
            when the task has any.
        init_times : np.ndarray, datetime64, shape (B,), optional
            Valid time of each window's last input frame; required by ``residual: diurnal``.

        Returns
        -------
        np.ndarray, float32, shape (B, T_out, C, *spatial)
            ``inverse_transform(model(normalised transformed inputs) * std + mean)``, with
            precipitation matched to the last input frame (``probability_matching: cdf``) and
            clipped at zero (a rate or amount is never negative).
        """
        from gmgclim.data.transforms import forward as transform_forward
        from gmgclim.data.transforms import inverse as transform_inverse
        from gmgclim.inference.probability_matching import match_to_reference

        shape = (1, 1, -1) + (1,) * (inputs.ndim - 3)
        mean = self.mean.reshape(shape).astype(np.float32)
        std = self.std.reshape(shape).astype(np.float32)
        transform = self.task.transform
        normalised = self._normalise(inputs, mean, std)
        x = torch.from_numpy(normalised).to(device)
        dtype = PRECISIONS[self.precision if precision is None else precision]
        autocast = (
            torch.autocast(device_type=torch.device(device).type, dtype=dtype)
            if dtype is not None
            else contextlib.nullcontext()
        )
        kwargs = {}
        if self.task.context_channels:
            if context is None:
                raise ValueError(
                    f"model {self.display_name} reads forcings/statics {self.task.forcings + self.task.statics}: "
                    "pass their context (B, T_in + T_out, K, *spatial)"
                )
            kwargs["context"] = torch.from_numpy(np.ascontiguousarray(context, np.float32)).to(
                device
            )
        if self.task.residual == "extrapolation":
            kwargs["baseline"] = torch.from_numpy(self._baseline(inputs, mean, std)).to(device)
        elif self.task.residual == "diurnal":
            observed = None
            if self.task.diurnal_scaling == "inputs":  # NaN kept: left out of the fit
                observed = (transform_forward(transform, inputs) - mean) / std
            base = self._diurnal_baseline(normalised, init_times, observed)
            kwargs["baseline"] = torch.from_numpy(base).to(device)
        try:
            with torch.inference_mode(), autocast:
                y = self.model(x, **kwargs)
        except ValueError as exc:  # a grid or shape the model cannot run, named by the model
            raise DataError(f"model {self.display_name} of {self.source}: {exc}") from None
        expected = (inputs.shape[0], self.output_steps, len(self.channels), *inputs.shape[3:])
        if tuple(y.shape) != expected:
            raise ValueError(
                f"model {self.display_name} returned shape {tuple(y.shape)}, "
                f"expected {expected} (B, T_out, C, *spatial)"
            )
        physical = transform_inverse(transform, y.float().cpu().numpy() * std + mean)
        non_negative = self.non_negative_channels
        if self.task.probability_matching == "cdf":
            for c in non_negative:  # the last input's values, in the forecast's rank order
                physical[:, :, c] = match_to_reference(physical[:, :, c], inputs[:, -1, c])
        if non_negative:
            physical[:, :, non_negative] = np.maximum(physical[:, :, non_negative], 0.0)
        return physical.astype(np.float32)

    def _normalise(
        self, physical: np.ndarray, mean: np.ndarray, std: np.ndarray, count: bool = True
    ) -> np.ndarray:
        """Transformed, normalised float32 frames; NaN and inf become ``task.fill_nan``.

        ``count`` adds the filled cells to :meth:`filled_input_lines` (the model inputs only,
        not a baseline derived from them).
        """
        from gmgclim.data.transforms import forward as transform_forward

        normalised = (transform_forward(self.task.transform, physical) - mean) / std
        finite = np.isfinite(normalised)
        if count:
            other = tuple(a for a in range(finite.ndim) if a != 2)
            self.filled_input_cells += (~finite).sum(axis=other)
            self.input_cells_per_channel += finite[:, :, 0].size
        return np.where(finite, normalised, np.float32(self.task.fill_nan)).astype(np.float32)

    def filled_input_lines(self) -> list[str]:
        """One line per channel whose inputs had NaN/inf cells filled so far (none: [])."""
        total = max(self.input_cells_per_channel, 1)
        return [
            f"filled {int(n):,} NaN/inf input cells ({n / total:.2%}) in channel {channel} with "
            f"data.fill_nan {self.task.fill_nan:g} (normalised units)"
            for channel, n in zip(self.channels, self.filled_input_cells, strict=True)
            if n
        ]

    def _baseline(self, inputs: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Normalised optical-flow extrapolation of each input window, (B, T_out, C, *spatial)."""
        from gmgclim.data.advection import advected_baseline

        non_negative = set(self.non_negative_channels)
        precipitation = [i in non_negative for i in range(len(self.channels))]
        physical = np.stack(
            [advected_baseline(window, self.output_steps, precipitation) for window in inputs]
        )
        return self._normalise(physical, mean, std, count=False)

    def _diurnal_baseline(
        self,
        normalised: np.ndarray,
        init_times: np.ndarray | None,
        observed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Last normalised input plus the mean diurnal change of each lead, (B, T_out, C, H, W).

        ``observed`` (B, T_in, C, H, W), the normalised inputs with NaN unfilled, scales each
        window's change by their fit (``diurnal_scaling: inputs``).

        Raises
        ------
        DataError
            The inputs are not on the grid of the diurnal mean (one line naming the option).
        """
        from gmgclim.data.diurnal import diurnal_change, input_amplitude

        if init_times is None:
            raise ValueError(
                f"model {self.display_name} has data.residual: diurnal: pass init_times (B,)"
            )
        assert self.diurnal is not None  # checked in __init__
        grid, trained = tuple(normalised.shape[3:]), tuple(self.diurnal.shape[2:])
        if grid != trained:
            raise DataError(
                f"model {self.display_name} of {self.source} has data.residual: diurnal, whose "
                f"mean day per pixel is of its {' x '.join(map(str, trained))} training grid: it "
                f"cannot forecast a {' x '.join(map(str, grid))} grid",
                hint="forecast the training grid, or train with residual: persistence",
            )
        if self._diurnal_scale is None and self.task.diurnal_scaling != "none":
            self._diurnal_scale = self.task.diurnal_scale()  # the training grid's rows
        amplitude = None
        if observed is not None:
            steps = np.arange(1 - self.input_steps, 1) * self.step
            times = np.asarray(init_times, "datetime64[ns]")[:, None] + steps[None, :]
            amplitude = input_amplitude(self.diurnal, self.std, observed, times)
        change = diurnal_change(
            self.diurnal, self.std, init_times, self.lead_times, self._diurnal_scale, amplitude
        )
        return (normalised[:, -1:] + change).astype(np.float32)

    @property
    def non_negative_channels(self) -> list[int]:
        """Positions of precipitation channels (clipped at zero in forecasts)."""
        return self.task.precipitation_channels

    def fingerprint(self) -> str:
        """SHA-256 of the model's state dict (and of a probability matching), so a resumed store
        is never filled by another model."""
        digest = hashlib.sha256()
        for key, value in sorted(self.model.state_dict().items()):
            digest.update(key.encode())
            if isinstance(value, torch.Tensor):
                flat = value.detach().to("cpu").contiguous().reshape(-1)
                digest.update(str(value.dtype).encode())
                if flat.numel():
                    digest.update(flat.view(torch.uint8).numpy().tobytes())
        if self.task.probability_matching != "none":  # other values from the same weights
            digest.update(f"probability_matching={self.task.probability_matching}".encode())
        return digest.hexdigest()


def _step_text(step: Any) -> str:
    """A step as the text a :class:`Task` holds (``"6h"``), from text or a timedelta."""
    if isinstance(step, str):
        return step
    seconds, rest = divmod(int(parse_step(step, "step").astype(np.int64)), 10**9)
    if rest:
        raise ValueError(f"step must be a whole number of seconds, got {step!r}")
    unit, size = next((u, s) for u, s in _STEP_UNITS if seconds % s == 0)
    return f"{seconds // size}{unit}"


def _build_task(
    task: Task | Mapping[str, Any] | None, recipe: Mapping[str, Any], explicit: dict, source: str
) -> Task:
    """The typed task from a Task, or from a (partial) task dict, the recipe and the arguments."""
    given = {k: v for k, v in explicit.items() if v is not None}
    if "step" in given:
        given["step"] = _step_text(given["step"])
    if isinstance(task, Task):
        differ = {}
        for key, value in given.items():
            have = getattr(task, key)
            same = parse_step(value) == task.step_timedelta if key == "step" else value == have
            if key != "fill_nan" and not same:
                differ[key] = (value, have)
        if differ:
            raise ValueError(f"Forecaster arguments differ from its task: {differ} (given, task)")
        return task.replace(fill_nan=float(given["fill_nan"])) if "fill_nan" in given else task
    data = recipe.get("data") or {}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in _TASK_FIELDS and v is not None}
    values.update({k: v for k, v in (task or {}).items() if v is not None})
    values.update(given)
    values.setdefault("entry", "")
    missing = [k for k in ("channels", "input_steps", "output_steps", "step") if k not in values]
    if missing:
        raise ValueError(f"{source}: the Forecaster's task lacks {missing}; pass them or a Task")
    return Task.from_dict(values, source=source)
