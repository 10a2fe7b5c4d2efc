"""ConvLSTM (Shi et al. 2015) as in OpenSTL, on gmgclim's recurrent interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gmgclim.models.layers.padding import GridConv2d
from gmgclim.models.layers.st_lstm import CellSpec, maybe_layer_norm
from gmgclim.models.recurrent import RecurrentForecaster, stacked_cells
from gmgclim.models.recurrent_config import RecurrentConfig


@dataclass(frozen=True)
class ConvLSTMConfig(RecurrentConfig):
    """ConvLSTM architecture and grid.

    Parameters
    ----------
    forget_bias : float
        Added to the forget gate; 0.0 by default because OpenSTL's cell, although it stores
        a forget bias of 1.0, never adds it.
    openstl_unused_convs : bool
        Create the ``conv_o`` (2N -> N, filter_size) and ``conv_last`` (1x1, 2N -> N) layers that
        OpenSTL's ConvLSTM cell declares but never uses. They change nothing in the output and
        get no gradient; they exist only so parameter counts (14,928,384 at the WeatherBench
        t2m config) and state-dict shapes match OpenSTL. Set False for a lean model.

    Other fields: see :class:`~gmgclim.models.recurrent_config.RecurrentConfig`.
    """

    forget_bias: float = 0.0
    openstl_unused_convs: bool = True


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell: gates from conv(x) + conv(h); ``h = o * tanh(c)``.

    Parameters
    ----------
    spec : CellSpec
        Input channels, N, grid (LayerNorm variant only), kernel, LayerNorm, forget bias,
        periodicity.
    unused_convs : bool
        See :class:`ConvLSTMConfig`.
    """

    def __init__(self, spec: CellSpec, unused_convs: bool) -> None:
        super().__init__()
        n, k, periodic = spec.num_hidden, spec.filter_size, spec.periodic
        norm_args = (spec.height, spec.width, spec.layer_norm)
        self.forget_bias = spec.forget_bias
        self.conv_x = GridConv2d(spec.in_channels, 4 * n, k, bias=False, periodic=periodic)
        self.conv_h = GridConv2d(n, 4 * n, k, bias=False, periodic=periodic)
        self.norm_x = maybe_layer_norm(4 * n, *norm_args)
        self.norm_h = maybe_layer_norm(4 * n, *norm_args)
        if unused_convs:
            self.conv_o = GridConv2d(2 * n, n, k, bias=False, periodic=periodic)
            self.norm_o = maybe_layer_norm(n, *norm_args)
            self.conv_last = nn.Conv2d(2 * n, n, 1, bias=False)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Step x (B, C_in, h, w), h and c (B, N, h, w) -> new (h, c)."""
        gates = self.norm_x(self.conv_x(x)) + self.norm_h(self.conv_h(h))
        i, f, g, o = torch.chunk(gates, 4, dim=1)
        c_new = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_new), c_new


class ConvLSTM(RecurrentForecaster):
    """Stacked ConvLSTM forecaster (OpenSTL's ``ConvLSTM_Model``) with gmgclim's call contract."""

    config: ConvLSTMConfig
    config_class = ConvLSTMConfig

    def __init__(self, config: ConvLSTMConfig) -> None:
        super().__init__(config)
        self.cells = stacked_cells(config, ConvLSTMCell, unused_convs=config.openstl_unused_convs)
        self.head = self.readout_head()

    def step(
        self, x: torch.Tensor, state: dict[str, Any], t: int, cache: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One step through the stack; returns the top hidden state and the state."""
        hs, cs = state["h"], state["c"]
        inp = x
        for i, cell in enumerate(self.cells):
            hs[i], cs[i] = cell(inp, hs[i], cs[i])
            inp = hs[i]
        return hs[-1], state
