"""PredRNN (Wang et al. 2017; ST-LSTM with a zig-zag memory) as in OpenSTL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gmgclim.models.layers.st_lstm import STLSTMCell
from gmgclim.models.recurrent import RecurrentForecaster, stacked_cells
from gmgclim.models.recurrent_config import RecurrentConfig


@dataclass(frozen=True)
class PredRNNConfig(RecurrentConfig):
    """PredRNN architecture and grid.

    Fields: see :class:`~gmgclim.models.recurrent_config.RecurrentConfig`.
    """

    shared_memory: ClassVar[bool] = True


class PredRNN(RecurrentForecaster):
    """Stacked ST-LSTM forecaster (OpenSTL's ``PredRNN_Model``) with gmgclim's call contract."""

    config: PredRNNConfig
    config_class = PredRNNConfig

    def __init__(self, config: PredRNNConfig) -> None:
        super().__init__(config)
        self.cells = stacked_cells(config, STLSTMCell)
        self.head = self.readout_head()

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
