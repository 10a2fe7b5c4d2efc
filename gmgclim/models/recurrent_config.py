"""Configs of the recurrent forecasters: :class:`RecurrentConfig` and the motion models' fields.

Frozen dataclasses of plain values (stored in checkpoints by
:func:`gmgclim.models.registry.config_to_dict`); the interface they configure is described in
:mod:`gmgclim.models.recurrent`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

PAD_MODES = ("replicate", "zeros")


def require_int(config: Any, name: str, minimum: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"{type(config).__name__}.{name} must be an integer >= {minimum}, got {value!r}"
        )


def require_odd(config: Any, name: str) -> None:
    require_int(config, name, 1)
    if getattr(config, name) % 2 != 1:
        raise ValueError(
            f"{type(config).__name__}.{name} must be odd (for 'same' padding), got "
            f"{getattr(config, name)!r}"
        )


@dataclass(frozen=True)
class RecurrentConfig:
    """Fields common to all recurrent forecasters (the interface: :mod:`gmgclim.models.recurrent`).

    Parameters
    ----------
    in_channels : int
        C, variables per frame.
    height, width : int
        H, W of the frames in grid cells (y = latitude rows, x = longitude columns).
    input_steps, output_steps : int
        T_in context frames and T_out forecast frames.
    patch_size : int
        p; every p x p block of pixels becomes p * p * C channels.
    num_hidden : tuple of int
        N per layer (the zig-zag memory requires all equal).
    filter_size : int
        Odd kernel of the gate convolutions (5).
    stride : int
        Stride of the gate convolutions; only 1 keeps the recurrence shapes consistent.
    layer_norm : bool
        LayerNorm after each gate convolution (PredRNN's option).
    forget_bias : float
        Added to the forget gates (1.0).
    periodic_longitude : bool
        Every spatial operation wraps around in x.
    pad_mode : {"replicate", "zeros"}
        How grids that are not a multiple of ``grid_multiple`` are padded.
    auto_pad : bool
        Pad such grids (True) or reject them (False).
    context_channels : int
        K, known input channels per frame (forcings, statics) read but not predicted (0).
    residual : bool
        Predict the change from the fed frame instead of the frame itself (False).
    residual_lag : int
        With ``residual``: the reference of a forecast frame is the frame this many steps before it
        (1: the fed frame, persistence; ``1 day / step``: the same time the day before). Frames with
        no frame that far back (the first one-step predictions in training) use the fed frame.
    """

    in_channels: int
    height: int
    width: int
    input_steps: int
    output_steps: int
    patch_size: int = 2
    num_hidden: tuple[int, ...] = (128, 128, 128, 128)
    filter_size: int = 5
    stride: int = 1
    layer_norm: bool = False
    forget_bias: float = 1.0
    periodic_longitude: bool = False
    pad_mode: str = "replicate"
    auto_pad: bool = True
    context_channels: int = 0
    residual: bool = False
    residual_lag: int = 1

    #: The grid must be divisible by 2p (a half-resolution motion branch) instead of p.
    half_resolution_branch: ClassVar[bool] = False
    #: One spatiotemporal memory zig-zags through all layers (their N must be equal).
    shared_memory: ClassVar[bool] = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.num_hidden, tuple):
            try:
                object.__setattr__(self, "num_hidden", tuple(self.num_hidden))
            except TypeError as err:
                raise ValueError(
                    f"{name}.num_hidden must be a sequence of layer sizes, got {self.num_hidden!r}"
                ) from err
        for field in ("in_channels", "height", "width", "input_steps", "output_steps"):
            require_int(self, field, 1)
        require_int(self, "patch_size", 1)
        require_int(self, "context_channels", 0)
        require_int(self, "residual_lag", 1)
        if self.residual_lag > self.input_steps:
            raise ValueError(
                f"{name}.residual_lag ({self.residual_lag}) must not exceed input_steps "
                f"({self.input_steps}): the first forecast frame needs its reference among the inputs"
            )
        require_odd(self, "filter_size")
        if self.stride != 1:
            raise ValueError(
                f"{name}.stride must be 1 (the recurrence keeps the grid), got {self.stride!r}"
            )
        if len(self.num_hidden) == 0:
            raise ValueError(f"{name}.num_hidden must list at least one layer, got ()")
        for n in self.num_hidden:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(
                    f"{name}.num_hidden entries must be integers >= 1, got {self.num_hidden!r}"
                )
        if self.shared_memory and len(set(self.num_hidden)) != 1:
            raise ValueError(
                f"{name}.num_hidden must be equal in all layers (the spatiotemporal memory passes "
                f"between layers), got {self.num_hidden!r}"
            )
        if self.pad_mode not in PAD_MODES:
            raise ValueError(f"{name}.pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        multiple = self.grid_multiple
        for field in ("height", "width"):
            size = getattr(self, field)
            if size % multiple == 0:
                continue
            if not self.auto_pad:
                raise ValueError(
                    f"{name}.{field}={size} is not a multiple of {multiple} (patch_size="
                    f"{self.patch_size}{' x 2 for the half-resolution motion branch' if self.half_resolution_branch else ''}); "
                    "set auto_pad=True to pad and crop"
                )
            if field == "width" and self.periodic_longitude:
                raise ValueError(
                    f"{name}.width={size} must be a multiple of {multiple} when "
                    "periodic_longitude=True (padding would break the periodicity)"
                )

    @property
    def grid_multiple(self) -> int:
        """H and W are padded to multiples of this (p, or 2p with a motion branch)."""
        return self.patch_size * (2 if self.half_resolution_branch else 1)

    @property
    def num_layers(self) -> int:
        """L, the number of stacked cells."""
        return len(self.num_hidden)

    @property
    def patch_channels(self) -> int:
        """p * p * C, channels of a patched frame."""
        return self.in_channels * self.patch_size**2

    @property
    def input_patch_channels(self) -> int:
        """p * p * (C + K), channels of a patched frame with its context."""
        return (self.in_channels + self.context_channels) * self.patch_size**2

    @property
    def padded_shape(self) -> tuple[int, int]:
        """(H, W) after padding to ``grid_multiple``."""
        m = self.grid_multiple
        return -(-self.height // m) * m, -(-self.width // m) * m

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(h, w) = padded (H, W) / p, the grid the cells run on."""
        hp, wp = self.padded_shape
        return hp // self.patch_size, wp // self.patch_size

    def layer_in_channels(self, layer: int) -> int:
        """Input channels of cell ``layer``: the patched frame for the first, else N below."""
        return self.input_patch_channels if layer == 0 else self.num_hidden[layer - 1]

    def state_channels(self) -> dict[str, Any]:
        """Channels of the recurrent states, as keywords of :func:`zero_states`."""
        channels: dict[str, Any] = {"hidden": list(self.num_hidden)}
        if self.shared_memory:
            channels["memory"] = self.num_hidden[0]
        return channels

    def to_dict(self) -> dict[str, Any]:
        """Plain-python dict (lists for tuples) for checkpoints."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass(frozen=True)
class MotionConfig(RecurrentConfig):
    """Fields of the models with MotionGRU branches on a half-resolution grid (MotionRNN, GMG).

    Parameters
    ----------
    motion_neighbourhood : int
        k of the k x k deformable warp (3); offsets have 2 k^2 channels.
    motion_reduction : int
        Motion feature channels are N // motion_reduction (4).
    motion_kernel : int
        Kernel of the MotionGRU gates and the warp gate (3).

    Other fields: see :class:`RecurrentConfig`.
    """

    motion_neighbourhood: int = 3
    motion_reduction: int = 4
    motion_kernel: int = 3

    half_resolution_branch: ClassVar[bool] = True
    shared_memory: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        require_odd(self, "motion_neighbourhood")
        require_odd(self, "motion_kernel")
        require_int(self, "motion_reduction", 1)
        if self.num_layers > 1 and self.num_hidden[0] % self.motion_reduction:
            raise ValueError(
                f"{type(self).__name__}.motion_reduction={self.motion_reduction} must divide "
                f"num_hidden ({self.num_hidden[0]})"
            )

    def state_channels(self) -> dict[str, Any]:
        """h, c and the memory, plus an offset and a mean (2 k^2 channels) per motion branch."""
        channels = super().state_channels()
        channels["motion"] = (self.num_layers - 1, 2 * self.motion_neighbourhood**2)
        return channels
