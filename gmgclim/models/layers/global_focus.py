"""Global Focus Module (GFM) of GMG: a per-sample global context vector gated into h."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gmgclim.models.layers.padding import GridConv2d
from gmgclim.models.layers.st_lstm import blend


class GlobalFocus(nn.Module):
    """Mix a global context vector of the layer input into the hidden state.

    ``v = relu(Linear(mean_over_grid(relu(conv(x)))))`` is broadcast over the grid, and
    ``gate = sigmoid(conv(concat(h, v)))``; the result is ``h * gate + v * (1 - gate)``.

    Parameters
    ----------
    in_channels : int
        Channels of the layer input x.
    num_hidden : int
        N, channels of h and of v.
    kernel_size : int
        Kernel of both convolutions (3 in the reference).
    periodic : bool
        Wrap in x.
    """

    def __init__(
        self, in_channels: int, num_hidden: int, kernel_size: int = 3, periodic: bool = False
    ) -> None:
        super().__init__()
        self.conv = GridConv2d(in_channels, num_hidden, kernel_size, periodic=periodic)
        self.fc = nn.Linear(num_hidden, num_hidden)
        self.gate = GridConv2d(2 * num_hidden, num_hidden, kernel_size, periodic=periodic)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Gate the global context of x (B, C_in, h, w) into h (B, N, h, w); returns (B, N, h, w)."""
        v = F.relu(self.fc(F.relu(self.conv(x)).mean(dim=(2, 3))))
        v = v[:, :, None, None].expand_as(h).to(h.dtype)
        gate = torch.sigmoid(self.gate(torch.cat([h, v], dim=1)))
        return blend(v, h, gate)  # h * gate + v * (1 - gate)
