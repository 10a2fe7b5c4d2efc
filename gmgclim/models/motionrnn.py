"""MotionRNN (Wu et al. 2021): PredRNN + MotionGRU branches + motion highway.

Follows the MotionRNN port in the GMG repository (OpenSTL style). The MotionGRU and its
warp are :class:`~gmgclim.models.layers.motion.MotionGuided` without global growth, the same
module GMG uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gmgclim.models.layers.motion import MotionBranch
from gmgclim.models.layers.st_lstm import STLSTMCell
from gmgclim.models.recurrent import (
    RecurrentConfig,
    RecurrentForecaster,
    require_int,
    require_odd,
    zero_states,
)


@dataclass(frozen=True)
class MotionRNNConfig(RecurrentConfig):
    """MotionRNN architecture and grid.

    Parameters
    ----------
    motion_neighbourhood : int
        k of the k x k deformable warp (3).
    motion_reduction : int
        Motion channels are N // motion_reduction (4).
    motion_kernel : int
        Kernel of the MotionGRU gates and the warp gate (3).

    Other fields: see :class:`~gmgclim.models.recurrent.RecurrentConfig`.
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
                f"MotionRNNConfig.motion_reduction={self.motion_reduction} must divide "
                f"num_hidden ({self.num_hidden[0]})"
            )


class MotionRNN(RecurrentForecaster):
    """MotionRNN forecaster with gmgclim's call contract (zero initial states)."""

    config: MotionRNNConfig

    def __init__(self, config: MotionRNNConfig) -> None:
        if not isinstance(config, MotionRNNConfig):
            raise TypeError(f"MotionRNN needs a MotionRNNConfig, got {type(config).__name__}")
        super().__init__(config)
        cfg = config
        h, w = cfg.patch_grid
        periodic = cfg.periodic_longitude
        self.cells = nn.ModuleList(
            STLSTMCell(
                cfg.input_patch_channels if i == 0 else cfg.num_hidden[i - 1],
                cfg.num_hidden[i],
                h,
                w,
                cfg.filter_size,
                cfg.layer_norm,
                cfg.forget_bias,
                periodic,
                highway=True,
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
                global_growth=False,
                periodic=periodic,
            )
            for i in range(cfg.num_layers - 1)
        )
        self.highway_seed = nn.Conv2d(cfg.input_patch_channels, cfg.num_hidden[0], 1, bias=False)
        self.head = nn.Conv2d(cfg.num_hidden[-1], cfg.patch_channels, 1, bias=False)

    def init_state(
        self, batch: int, device: torch.device, patch_grid: tuple[int, int]
    ) -> dict[str, Any]:
        """Zero states as in GMG (h, c, memory; offsets and means on the half grid)."""
        cfg = self.config
        n = cfg.num_hidden[0]
        return zero_states(
            batch,
            device,
            patch_grid,
            [n] * len(self.cells),
            memory=n,
            motion=(len(self.branches), 2 * cfg.motion_neighbourhood**2),
        )

    def step(
        self, x: torch.Tensor, state: dict[str, Any], t: int, cache: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One step: highway re-seeded from x, cells with motion branches below the top."""
        hs, cs, offsets, means = state["h"], state["c"], state["offset"], state["mean"]
        m = state["m"]
        z = self.highway_seed(x)
        inp = x
        for i, cell in enumerate(self.cells):
            hs[i], cs[i], m = cell(inp, hs[i], cs[i], m, z)
            z = hs[i]
            if i < len(self.branches):
                hs[i], offsets[i], means[i] = self.branches[i](hs[i], offsets[i], means[i], t)
            inp = hs[i]
        state["m"] = m
        return hs[-1], state

    def readout(self, top: torch.Tensor) -> torch.Tensor:
        """1x1 convolution (no bias) to a patched frame."""
        return self.head(top)
