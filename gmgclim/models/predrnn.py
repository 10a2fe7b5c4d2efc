"""PredRNN (Wang et al. 2017; ST-LSTM with a zig-zag memory) as in OpenSTL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from gmgclim.models.layers.st_lstm import STLSTMCell
from gmgclim.models.recurrent import RecurrentConfig, RecurrentForecaster, zero_states


@dataclass(frozen=True)
class PredRNNConfig(RecurrentConfig):
    """PredRNN architecture and grid; fields as :class:`~gmgclim.models.recurrent.RecurrentConfig`."""

    shared_memory: ClassVar[bool] = True


class PredRNN(RecurrentForecaster):
    """Stacked ST-LSTM forecaster (OpenSTL's ``PredRNN_Model``) with gmgclim's call contract."""

    config: PredRNNConfig

    def __init__(self, config: PredRNNConfig) -> None:
        if not isinstance(config, PredRNNConfig):
            raise TypeError(f"PredRNN needs a PredRNNConfig, got {type(config).__name__}")
        super().__init__(config)
        cfg = config
        h, w = cfg.patch_grid
        self.cells = nn.ModuleList(
            STLSTMCell(
                cfg.input_patch_channels if i == 0 else cfg.num_hidden[i - 1],
                cfg.num_hidden[i],
                h,
                w,
                cfg.filter_size,
                cfg.layer_norm,
                cfg.forget_bias,
                cfg.periodic_longitude,
            )
            for i in range(cfg.num_layers)
        )
        self.head = nn.Conv2d(cfg.num_hidden[-1], cfg.patch_channels, 1, bias=False)

    def init_state(
        self, batch: int, device: torch.device, patch_grid: tuple[int, int]
    ) -> dict[str, Any]:
        """Zero h and c per layer and the shared memory m, each (B, N, h, w)."""
        n = self.config.num_hidden[0]
        return zero_states(batch, device, patch_grid, [n] * len(self.cells), memory=n)

    def step(
        self, x: torch.Tensor, state: dict[str, Any], t: int, cache: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One step; the memory zig-zags up the stack and on to the next step."""
        hs, cs, m = state["h"], state["c"], state["m"]
        inp = x
        for i, cell in enumerate(self.cells):
            hs[i], cs[i], m = cell(inp, hs[i], cs[i], m)
            inp = hs[i]
        state["m"] = m
        return hs[-1], state

    def readout(self, top: torch.Tensor) -> torch.Tensor:
        """1x1 convolution (no bias) to a patched frame."""
        return self.head(top)
