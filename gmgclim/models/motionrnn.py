"""MotionRNN (Wu et al. 2021): PredRNN + MotionGRU branches + motion highway.

Follows the MotionRNN port in the GMG repository (OpenSTL style). The MotionGRU and its
warp are :class:`~gmgclim.models.layers.motion.MotionGuided` without global growth, the same
module GMG uses; the layer loop (:class:`MotionHighwayForecaster`) is GMG's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from gmgclim.models.layers.st_lstm import STLSTMCell
from gmgclim.models.recurrent import RecurrentForecaster, motion_branches, stacked_cells
from gmgclim.models.recurrent_config import MotionConfig


@dataclass(frozen=True)
class MotionRNNConfig(MotionConfig):
    """MotionRNN architecture and grid.

    Fields: see :class:`~gmgclim.models.recurrent_config.MotionConfig`.
    """


class MotionHighwayForecaster(RecurrentForecaster):
    """The layer loop of MotionRNN and GMG.

    Each step re-seeds the motion highway z from the fed frame; every layer runs its cell on
    (input, h, c, shared memory m, z), the new hidden state becomes the next layer's z, and the
    layers below the top then refine h with their half-resolution motion branch.

    Subclasses build ``cells``, ``branches`` (:func:`~gmgclim.models.recurrent.motion_branches`)
    and ``highway_seed``; GMG overrides :meth:`run_cell`. With ``activation_checkpointing`` each
    layer of each step (cell and motion branch) is recomputed in the backward pass.
    """

    cells: nn.ModuleList
    branches: nn.ModuleList
    highway_seed: nn.Module

    def run_cell(
        self, i: int, tensors: tuple[torch.Tensor, ...], prepared: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, ...]:
        """Cell i on ``tensors`` = (x, h, c, m, z), each (B, ., h, w); returns the new (h, c, m, z).

        Here an ST-LSTM cell with the highway (MotionRNN), whose new hidden state is the next
        layer's z; ``prepared`` (this cell's share of :meth:`prepare`) is empty for it.
        """
        h, c, m = self.cells[i](*tensors)
        return h, c, m, h

    def step(
        self, x: torch.Tensor, state: dict[str, Any], t: int, cache: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One recurrent step on the patch grid; returns the top hidden state and the new state."""
        hs, cs, offsets, means = state["h"], state["c"], state["offset"], state["mean"]
        m = state["m"]
        z = self.highway_seed(x)
        inp = x
        recompute = self.activation_checkpointing and torch.is_grad_enabled()
        for i in range(len(self.cells)):
            prepared = () if cache is None else cache[i]
            layer_state = (inp, hs[i], cs[i], m, z, *prepared)
            motion = (offsets[i], means[i]) if i < len(self.branches) else ()
            if recompute:
                out = checkpoint(self._layer, i, t, *layer_state, *motion, use_reentrant=False)
            else:
                out = self._layer(i, t, *layer_state, *motion)
            hs[i], cs[i], m, z = out[:4]
            if motion:
                offsets[i], means[i] = out[4:]
            inp = hs[i]
        state["m"] = m
        return hs[-1], state

    def _layer(self, i: int, t: int, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Layer i at step t: its cell, then its motion branch (all but the top layer).

        ``tensors`` = (x, h, c, m, z, *prepared weights of the cell, [offset, mean]); returns
        (h, c, m, z[, offset, mean]). One function of tensors so that it can be checkpointed.
        """
        n_prepared = len(tensors) - 5 - (2 if i < len(self.branches) else 0)
        h, c, m, z = self.run_cell(i, tensors[:5], tensors[5 : 5 + n_prepared])
        if i >= len(self.branches):
            return h, c, m, z
        offset, mean = tensors[5 + n_prepared :]
        h, offset, mean = self.branches[i](h, offset, mean, t)
        return h, c, m, z, offset, mean


class MotionRNN(MotionHighwayForecaster):
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
