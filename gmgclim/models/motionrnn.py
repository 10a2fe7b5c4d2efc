"""MotionRNN (Wu et al. 2021): PredRNN + MotionGRU branches + motion highway.

Follows the MotionRNN port in the GMG repository (OpenSTL style). The MotionGRU and its
warp are :class:`~gmgclim.models.layers.motion.MotionGuided` without global growth, the same
module GMG uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gmgclim.models.layers.st_lstm import STLSTMCell
from gmgclim.models.recurrent import RecurrentForecaster, motion_branches, stacked_cells
from gmgclim.models.recurrent_config import MotionConfig


@dataclass(frozen=True)
class MotionRNNConfig(MotionConfig):
    """MotionRNN architecture and grid.

    Fields: see :class:`~gmgclim.models.recurrent_config.MotionConfig`.
    """


class MotionRNN(RecurrentForecaster):
    """MotionRNN forecaster with gmgclim's call contract (zero initial states)."""

    config: MotionRNNConfig
    config_class = MotionRNNConfig

    def __init__(self, config: MotionRNNConfig) -> None:
        super().__init__(config)
        cfg = config
        self.cells = stacked_cells(cfg, STLSTMCell, highway=True)
        self.branches = motion_branches(cfg, global_growth=False)
        self.highway_seed = nn.Conv2d(cfg.input_patch_channels, cfg.num_hidden[0], 1, bias=False)
        self.head = self.readout_head()

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
