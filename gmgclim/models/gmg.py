"""GMG: Global Focus and Motion Guided video prediction (Du et al., TCSVT 2026).

See the paper (arXiv 2503.11297) for the computation; this is a plain ``nn.Module`` with sizes
from :class:`GMGConfig`. States start at zero (deterministic), the global growth's tau is the
recurrent step index, and every spatial operation can wrap in longitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gmgclim.models.layers.gmg_cell import GMGCell
from gmgclim.models.layers.motion import MotionBranch
from gmgclim.models.recurrent import (
    RecurrentConfig,
    RecurrentForecaster,
    require_int,
    require_odd,
    zero_states,
)


@dataclass(frozen=True)
class GMGConfig(RecurrentConfig):
    """Architecture and grid of a GMG model (defaults: the WeatherBench reference config).

    Parameters
    ----------
    in_channels, height, width, input_steps, output_steps, patch_size, num_hidden, filter_size,
    stride, layer_norm, forget_bias, periodic_longitude, pad_mode, auto_pad
        See :class:`~gmgclim.models.recurrent.RecurrentConfig`.
    att_hidden : int
        A, query/key channels of the self-attention memory (32 for Moving MNIST / CIKM /
        TaxiBJ, 64 for WeatherBench).
    multiscale_kernels : tuple of int
        Odd kernels of the summed multi-scale input convolutions (1, 3, 5); they are merged
        into the input convolution, whose kernel grows if one exceeds filter_size.
    focus_kernel : int
        Kernel of the Global Focus convolutions (3).
    motion_neighbourhood : int
        k of the k x k deformable warp (3); offsets have 2 k^2 channels.
    motion_reduction : int
        Motion feature channels are N // motion_reduction (4).
    motion_kernel : int
        Kernel of the MotionGRU gates and the warp gate (3).
    growth_alpha_init, growth_beta_init : float
        Initial alpha0 and beta0 of the global growth (0.5, 0.9).
    """

    att_hidden: int = 64
    multiscale_kernels: tuple[int, ...] = (1, 3, 5)
    focus_kernel: int = 3
    motion_neighbourhood: int = 3
    motion_reduction: int = 4
    motion_kernel: int = 3
    growth_alpha_init: float = 0.5
    growth_beta_init: float = 0.9

    half_resolution_branch: ClassVar[bool] = True
    shared_memory: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not isinstance(self.multiscale_kernels, tuple):
            object.__setattr__(self, "multiscale_kernels", tuple(self.multiscale_kernels))
        super().__post_init__()
        require_int(self, "att_hidden", 1)
        require_odd(self, "focus_kernel")
        require_odd(self, "motion_neighbourhood")
        require_odd(self, "motion_kernel")
        require_int(self, "motion_reduction", 1)
        if not self.multiscale_kernels or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0
            for k in self.multiscale_kernels
        ):
            raise ValueError(
                f"GMGConfig.multiscale_kernels must be a non-empty tuple of odd integers, got "
                f"{self.multiscale_kernels!r}"
            )
        if self.num_layers > 1 and self.num_hidden[0] % self.motion_reduction:
            raise ValueError(
                f"GMGConfig.motion_reduction={self.motion_reduction} must divide num_hidden "
                f"({self.num_hidden[0]})"
            )


class GMG(RecurrentForecaster):
    """GMG forecaster. Call as ``model(inputs, targets=None, teacher_forcing_mask=None)``.

    Parameters
    ----------
    config : GMGConfig
        Architecture and grid.

    Notes
    -----
    See :mod:`gmgclim.models.recurrent` for the call contract (shapes, masks, padding).
    """

    config: GMGConfig

    def __init__(self, config: GMGConfig) -> None:
        if not isinstance(config, GMGConfig):
            raise TypeError(f"GMG needs a GMGConfig, got {type(config).__name__}")
        super().__init__(config)
        cfg = config
        h, w = cfg.patch_grid
        periodic = cfg.periodic_longitude
        n = cfg.num_hidden[0]
        self.cells = nn.ModuleList(
            GMGCell(
                cfg.input_patch_channels if i == 0 else cfg.num_hidden[i - 1],
                cfg.num_hidden[i],
                cfg.att_hidden,
                h,
                w,
                cfg.filter_size,
                cfg.multiscale_kernels,
                cfg.focus_kernel,
                cfg.layer_norm,
                cfg.forget_bias,
                periodic,
            )
            for i in range(cfg.num_layers)
        )
        self.branches = nn.ModuleList(
            MotionBranch(
                cfg.num_hidden[i],
                cfg.filter_size,
                cfg.motion_reduction,
                cfg.motion_neighbourhood,
                cfg.motion_kernel,
                global_growth=True,
                alpha_init=cfg.growth_alpha_init,
                beta_init=cfg.growth_beta_init,
                periodic=periodic,
            )
            for i in range(cfg.num_layers - 1)
        )
        self.highway_seed = nn.Conv2d(cfg.input_patch_channels, n, 1, bias=False)
        self.head = nn.Conv2d(cfg.num_hidden[-1], cfg.patch_channels, 1, bias=False)

    def init_state(
        self, batch: int, device: torch.device, patch_grid: tuple[int, int]
    ) -> dict[str, Any]:
        """Zero states: h, c per layer (B, N, h, w); memory; offsets and means (B, 2k^2, h/2, w/2)."""
        cfg = self.config
        n = cfg.num_hidden[0]
        return zero_states(
            batch,
            device,
            patch_grid,
            [n] * len(cfg.num_hidden),
            memory=n,
            motion=(len(self.branches), 2 * cfg.motion_neighbourhood**2),
        )

    def prepare(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Merged input-conv weights of every cell, built once per forward pass."""
        return [cell.input_weight() for cell in self.cells]

    def step(
        self, x: torch.Tensor, state: dict[str, Any], t: int, cache: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One recurrent step on the patch grid; returns the top hidden state and the new state."""
        hs, cs, offsets, means = state["h"], state["c"], state["offset"], state["mean"]
        m = state["m"]
        z = self.highway_seed(x)
        inp = x
        for i, cell in enumerate(self.cells):
            hs[i], cs[i], m, z = cell(inp, hs[i], cs[i], m, z, input_weight=cache[i])
            if i < len(self.branches):
                hs[i], offsets[i], means[i] = self.branches[i](hs[i], offsets[i], means[i], t)
            inp = hs[i]
        state["m"] = m
        return hs[-1], state

    def readout(self, top: torch.Tensor) -> torch.Tensor:
        """1x1 convolution (no bias) from the top hidden state to a patched frame."""
        return self.head(top)
