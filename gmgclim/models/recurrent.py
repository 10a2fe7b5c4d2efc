"""The rollout machinery shared by the recurrent forecasters.

Their configs are in :mod:`gmgclim.models.recurrent_config`.

GMG and the baselines (ConvLSTM, PredRNN, MotionRNN) share the same interface:

``model(inputs, targets=None, teacher_forcing_mask=None, context=None)``

* ``inputs`` (B, T_in, C, H, W). Without ``targets`` the model rolls forward on its own
  predictions and returns the forecast (B, T_out, C, H, W).
* With ``targets`` (B, T_out, C, H, W) it returns all T_in + T_out - 1 one-step predictions
  (B, T_in + T_out - 1, C, H, W), prediction k being frame k + 1 of ``cat(inputs, targets)``.
  The frame fed at step t >= T_in is ``mask * true_frame + (1 - mask) * previous_prediction``:

  - ``teacher_forcing_mask`` (B, T_out - 1, C or 1, H, W): scheduled sampling, used at steps
    t = T_in .. T_in + T_out - 2;
  - ``teacher_forcing_mask`` (B, T_in + T_out - 2, C or 1, H, W): reverse scheduled sampling
    (PredRNN-V2), used at steps t = 1 .. T_in + T_out - 2 (the two readings agree when T_in = 1);
  - ``None``: mask = 0, the model feeds on its own predictions after the inputs, exactly as at
    inference (pass a mask of ones for pure teacher forcing).

  Masks are floats in [0, 1] on the unpatched grid.

* ``context`` (B, T_in + T_out, K, H, W): known inputs of every frame (forcings such as time of day
  and insolation, statics such as a land-sea mask), read but never predicted. The model fed frame t
  also reads the context of frame t + 1, the frame it predicts. Needs ``context_channels = K``.

With ``residual=True`` the readout is the change from the frame fed at that step (persistence), so
an untrained model forecasts persistence and the network learns the tendency; given a ``baseline``
forecast (B, T_out, C, H, W) such as optical-flow extrapolation, the forecast frames are the change
from the baseline instead, so the network learns the correction to advection.

The model is convolutional: it runs on any grid of the size it was built for or of another size
(train on crops, forecast a whole domain), except with ``layer_norm`` (whose weights are per pixel).

Grids whose H or W is not a multiple of ``grid_multiple`` (the patch size, times 2 for models
with a half-resolution motion branch) are padded (``pad_mode``: edge values or zeros, split
evenly between both sides) and the output is cropped back, unless ``auto_pad=False``, in which
case such grids raise ``ValueError``. With ``periodic_longitude=True`` W must already be a
multiple: padding a periodic axis would break its periodicity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from gmgclim.models.layers.motion import MotionBranch, MotionSpec
from gmgclim.models.layers.padding import crop_field, pad_amounts, pad_field
from gmgclim.models.layers.patching import patchify, unpatchify
from gmgclim.models.layers.st_lstm import CellSpec
from gmgclim.models.recurrent_config import MotionConfig, RecurrentConfig


def stacked_cells(
    cfg: RecurrentConfig, cell: Callable[..., nn.Module], **extra: Any
) -> nn.ModuleList:
    """One ``cell`` per layer, called as ``cell(CellSpec(...), **extra)`` (the ConvLSTM and
    ST-LSTM cells)."""
    h, w = cfg.patch_grid
    specs = [
        CellSpec(
            in_channels=cfg.layer_in_channels(i),
            num_hidden=cfg.num_hidden[i],
            height=h,
            width=w,
            filter_size=cfg.filter_size,
            layer_norm=cfg.layer_norm,
            forget_bias=cfg.forget_bias,
            periodic=cfg.periodic_longitude,
        )
        for i in range(cfg.num_layers)
    ]
    return nn.ModuleList(cell(spec, **extra) for spec in specs)


def motion_branches(cfg: MotionConfig, **growth: Any) -> nn.ModuleList:
    """One :class:`MotionBranch` under every layer but the top (``growth``: GMG's global growth,
    fields of :class:`MotionSpec`)."""
    spec = MotionSpec(
        neighbourhood=cfg.motion_neighbourhood,
        kernel_size=cfg.motion_kernel,
        periodic=cfg.periodic_longitude,
        **growth,
    )
    return nn.ModuleList(
        MotionBranch(cfg.num_hidden[i], cfg.filter_size, cfg.motion_reduction, spec)
        for i in range(cfg.num_layers - 1)
    )


def zero_states(
    batch: int,
    device: torch.device,
    patch_grid: tuple[int, int],
    hidden: list[int],
    memory: int | None = None,
    motion: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Any]:
    """Zero recurrent states shared by every forecaster (deterministic start).

    Parameters
    ----------
    batch : int
        B.
    device : torch.device
        Where the states live.
    patch_grid : (int, int)
        (h, w) of the patch grid.
    hidden : list of int
        N_i per layer: ``h`` and ``c`` get one (B, N_i, h, w) tensor each.
    memory : int, optional
        Channels of the shared spatiotemporal memory ``m`` (B, N, h, w), when the model has one.
    motion : (int, int), optional
        (branches, 2 k^2): ``offset`` and ``mean`` of each motion branch, (B, 2 k^2, h/2, w/2).
    dtype : torch.dtype
        Of ``h``, ``c`` and ``m`` (the compute dtype of the rollout); motion offsets and means,
        displacements in grid cells, stay float32.

    Returns
    -------
    dict
        ``h``, ``c`` lists, and ``m``, ``offset``, ``mean`` when asked for.
    """
    h, w = patch_grid

    def zeros(channels: int, y: int, x: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.zeros(batch, channels, y, x, device=device, dtype=dtype)

    state: dict[str, Any] = {
        "h": [zeros(n, h, w, dtype) for n in hidden],
        "c": [zeros(n, h, w, dtype) for n in hidden],
    }
    if memory is not None:
        state["m"] = zeros(memory, h, w, dtype)
    if motion is not None:
        branches, channels = motion
        state["offset"] = [zeros(channels, h // 2, w // 2) for _ in range(branches)]
        state["mean"] = [zeros(channels, h // 2, w // 2) for _ in range(branches)]
    return state


class RecurrentForecaster(nn.Module):
    """Base class: padding, patching, scheduled sampling and the rollout loop.

    Subclasses set :attr:`config_class`, build their cells and a ``head`` (:meth:`readout_head`)
    and implement :meth:`step` on the patch grid.

    Attributes
    ----------
    activation_checkpointing : bool
        Recompute each layer's activations in the backward pass instead of storing them
        (``torch.utils.checkpoint``), for models that set ``supports_activation_checkpointing``.
        A training option, not part of the architecture: it does not change the function.

    Notes
    -----
    Models with ``native_low_precision`` run a call made under autocast in the autocast dtype
    themselves: their weights are cast once per forward pass (except the parameters named in
    ``fp32_parameters``), the recurrent states live in that dtype, and autocast is off inside the
    recurrence, so no step re-casts a weight or a state. Frames and predictions stay float32.
    """

    config: RecurrentConfig
    head: nn.Module
    #: The config class the model is built from.
    config_class: ClassVar[type[RecurrentConfig]] = RecurrentConfig
    #: Runs an autocast call in the autocast dtype with weights cast once (see Notes).
    native_low_precision: ClassVar[bool] = False
    #: Name fragments of parameters kept in float32 under ``native_low_precision``.
    fp32_parameters: ClassVar[tuple[str, ...]] = ()
    #: :attr:`activation_checkpointing` has an effect.
    supports_activation_checkpointing: ClassVar[bool] = False

    def __init__(self, config: RecurrentConfig) -> None:
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        super().__init__()
        self.config = config
        self.activation_checkpointing = False

    def compute_parameters(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """Floating parameters cast to ``dtype`` (differentiably), except ``fp32_parameters``."""
        return {
            name: p.to(dtype)
            for name, p in self.named_parameters()
            if p.is_floating_point() and not any(part in name for part in self.fp32_parameters)
        }

    def compute_dtype(self) -> torch.dtype:
        """dtype the recurrence runs in: that of the weights (after any cast to a lower one)."""
        for name, p in self.named_parameters():
            if not any(part in name for part in self.fp32_parameters):
                return p.dtype
        return torch.float32

    def grid_padding(self, height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(top, bottom), (left, right) padding that makes an H x W grid a ``grid_multiple``.

        Raises
        ------
        ValueError
            The grid cannot be run: another size under ``layer_norm``, or a periodic width that
            is not a multiple (padding would break the periodicity), or any non-multiple with
            ``auto_pad=False``.
        """
        cfg = self.config
        name = type(self).__name__
        if cfg.layer_norm and (height, width) != (cfg.height, cfg.width):
            raise ValueError(
                f"{name} uses layer_norm, whose weights are per pixel of its {cfg.height} x "
                f"{cfg.width} grid; it cannot run on {height} x {width}"
            )
        m = cfg.grid_multiple
        if width % m and cfg.periodic_longitude:
            raise ValueError(
                f"{name}: width {width} must be a multiple of {m} with periodic_longitude "
                "(padding would break the periodicity)"
            )
        if (height % m or width % m) and not cfg.auto_pad:
            raise ValueError(f"{name}: {height} x {width} is not a multiple of {m}; set auto_pad")
        pad_y = pad_amounts(height, m) if height % m else (0, 0)
        pad_x = pad_amounts(width, m) if width % m else (0, 0)
        return pad_y, pad_x

    def init_state(
        self,
        batch: int,
        device: torch.device,
        patch_grid: tuple[int, int],
        dtype: torch.dtype = torch.float32,
    ) -> Any:
        """Zero recurrent state for ``batch`` samples on an (h, w) patch grid.

        The states are those of :meth:`RecurrentConfig.state_channels` (see :func:`zero_states`).
        """
        return zero_states(batch, device, patch_grid, dtype=dtype, **self.config.state_channels())

    def step(self, x: torch.Tensor, state: Any, t: int, cache: Any) -> tuple[torch.Tensor, Any]:
        """Advance one step from patched frame x (B, p*p*C, h, w); return (hidden top, state)."""
        raise NotImplementedError

    def prepare(self) -> Any:
        """Per-forward precomputation shared by all steps (e.g. merged weights)."""
        return None

    def readout_head(self) -> nn.Conv2d:
        """A new 1x1 convolution (no bias) from the top hidden state to a patched frame."""
        return nn.Conv2d(self.config.num_hidden[-1], self.config.patch_channels, 1, bias=False)

    def readout(self, top: torch.Tensor) -> torch.Tensor:
        """Prediction (B, p*p*C, h, w) from the top hidden state: ``head(top)``."""
        return self.head(top)

    def _check(
        self,
        name: str,
        x: torch.Tensor,
        steps: int,
        channels: tuple[int, ...],
        grid: tuple[int, int] | None,
    ) -> None:
        """Raise a ValueError naming the tensor unless it is (B, steps, channels, *grid)."""
        size = "H, W" if grid is None else f"{grid[0]}, {grid[1]}"
        expected = f"(B, {steps}, {' or '.join(map(str, channels))}, {size})"
        if (
            x.ndim != 5
            or x.shape[1] != steps
            or x.shape[2] not in channels
            or (grid is not None and tuple(x.shape[-2:]) != grid)
        ):
            raise ValueError(
                f"{type(self).__name__}: {name} must have shape {expected}, got {tuple(x.shape)}"
            )

    def _to_patches(self, x: torch.Tensor, pad: Any, mode: str) -> torch.Tensor:
        return patchify(pad_field(x, pad[0], pad[1], mode), self.config.patch_size)

    def forward(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor | None = None,
        teacher_forcing_mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        baseline: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Forecast or compute all one-step predictions.

        Parameters
        ----------
        inputs : torch.Tensor
            (B, T_in, C, H, W), normalised.
        targets : torch.Tensor, optional
            (B, T_out, C, H, W) true future frames (training).
        teacher_forcing_mask : torch.Tensor, optional
            (B, T_out - 1, C or 1, H, W) scheduled sampling or (B, T_in + T_out - 2, C or 1, H, W)
            reverse scheduled sampling, in [0, 1]; needs ``targets``. None means 0 (own
            predictions after the inputs).
        context : torch.Tensor, optional
            (B, T_in + T_out, K, H, W) known inputs of every frame (normalised); required when
            ``context_channels`` K > 0.
        baseline : torch.Tensor, optional
            (B, T_out, C, H, W) a baseline forecast (normalised), e.g. optical-flow extrapolation;
            with ``residual`` the forecast frames are this baseline plus the network's change.

        Returns
        -------
        torch.Tensor
            (B, T_out, C, H, W) without targets; (B, T_in + T_out - 1, C, H, W) with targets.
        """
        device_type = inputs.device.type
        if self.native_low_precision and torch.is_autocast_enabled(device_type):
            dtype = torch.get_autocast_dtype(device_type)
            if dtype != self.compute_dtype():
                # Cast every weight once here instead of on every convolution of every step.
                with torch.autocast(device_type, enabled=False):
                    return torch.func.functional_call(
                        self,
                        self.compute_parameters(dtype),
                        (inputs, targets, teacher_forcing_mask),
                        {"context": context, "baseline": baseline},
                        strict=False,
                    )
        cfg = self.config
        t_in, t_out = cfg.input_steps, cfg.output_steps
        self._check("inputs", inputs, t_in, (cfg.in_channels,), None)
        grid = (int(inputs.shape[-2]), int(inputs.shape[-1]))
        pad = self.grid_padding(*grid)
        frames = inputs
        if targets is not None:
            self._check("targets", targets, t_out, (cfg.in_channels,), grid)
            frames = torch.cat([inputs, targets.to(inputs.dtype)], dim=1)
        known = None
        if cfg.context_channels:
            if context is None:
                raise ValueError(
                    f"{type(self).__name__} reads {cfg.context_channels} context channels "
                    "(forcings/statics): pass context=(B, T_in + T_out, K, H, W)"
                )
            self._check("context", context, t_in + t_out, (cfg.context_channels,), grid)
            known = self._to_patches(context.to(inputs.dtype), pad, "replicate")
        elif context is not None:
            raise ValueError(f"{type(self).__name__} was built without context channels")
        base = None
        if baseline is not None:
            if not cfg.residual:
                raise ValueError(f"{type(self).__name__}: a baseline needs residual=True")
            self._check("baseline", baseline, t_out, (cfg.in_channels,), grid)
            base = self._to_patches(baseline.to(inputs.dtype), pad, cfg.pad_mode)
        reverse = False
        if teacher_forcing_mask is not None:
            if targets is None:
                raise ValueError(f"{type(self).__name__}: teacher_forcing_mask needs targets")
            n_mask = teacher_forcing_mask.shape[1] if teacher_forcing_mask.ndim == 5 else -1
            reverse = n_mask == t_in + t_out - 2 and n_mask != t_out - 1
            self._check(
                "teacher_forcing_mask",
                teacher_forcing_mask,
                t_in + t_out - 2 if reverse else t_out - 1,
                (cfg.in_channels, 1),
                grid,
            )
            mask = teacher_forcing_mask.to(inputs.dtype).expand(-1, -1, cfg.in_channels, -1, -1)
            mask = self._to_patches(mask, pad, "replicate")
        patches = self._to_patches(frames, pad, cfg.pad_mode)
        batch = inputs.shape[0]
        n_steps = t_in + t_out - 1
        grid_shape = (int(patches.shape[-2]), int(patches.shape[-1]))
        compute_dtype = self.compute_dtype() if self.native_low_precision else inputs.dtype
        state = self.init_state(batch, inputs.device, grid_shape, dtype=compute_dtype)
        cache = self.prepare()
        predictions: list[torch.Tensor] = []
        fed_frames: list[
            torch.Tensor
        ] = []  # the frame fed at each step (a lagged residual's reference)
        x_gen: torch.Tensor | None = None
        for t in range(n_steps):
            if t < t_in and not (teacher_forcing_mask is not None and reverse and t > 0):
                x = patches[:, t]
            else:
                # Set by the previous step: every step when targets are given, else from t_in - 1.
                assert x_gen is not None
                if teacher_forcing_mask is not None and reverse and t > 0:
                    mk = mask[:, t - 1]
                    x = mk * patches[:, t] + (1 - mk) * x_gen
                elif teacher_forcing_mask is not None:
                    mk = mask[:, t - t_in]
                    x = mk * patches[:, t] + (1 - mk) * x_gen
                else:
                    x = x_gen
            fed_frames.append(x)
            fed = x if known is None else torch.cat([x, known[:, t + 1]], dim=1)
            fed = fed.to(compute_dtype)  # frames stay float32; only the step's input is cast
            top, state = self.step(fed, state, t, cache)
            if targets is not None or t >= t_in - 1:
                x_gen = self.readout(top).to(inputs.dtype)
                if cfg.residual:  # change from a fed frame, or from the baseline's forecast
                    if base is not None and t >= t_in - 1:
                        ref = base[:, t - t_in + 1]
                    else:  # frame t + 1 - lag; x itself for lag 1 or when there is none yet
                        lagged = t + 1 - cfg.residual_lag
                        ref = fed_frames[lagged] if lagged >= 0 else x
                    x_gen = ref + x_gen
                predictions.append(x_gen)
        out = unpatchify(torch.stack(predictions, dim=1), cfg.patch_size)
        return crop_field(out, pad[0], pad[1])
