"""GMG's recurrent cell: ST-LSTM + multi-scale input conv + Global Focus + self-attention memory
+ motion highway."""

from __future__ import annotations

import operator
from functools import reduce
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from gmgclim.models.layers.attention_memory import SelfAttentionMemory
from gmgclim.models.layers.global_focus import GlobalFocus
from gmgclim.models.layers.padding import conv_bias, grid_conv2d
from gmgclim.models.layers.st_lstm import (
    STLSTMCellBase,
    maybe_layer_norm,
    state_norms,
)


class GMGCell(STLSTMCellBase):
    """One GMG layer (the reference's ``GSAMSpatioTemporalLSTMCell``).

    Parameters
    ----------
    in_channels : int
        Channels of the layer input x.
    num_hidden : int
        N.
    att_hidden : int
        A, query/key channels of the attention memory.
    height, width : int
        Patch-grid size (only the LayerNorm variant uses it).
    filter_size : int
        Odd kernel of the gate convolutions.
    multiscale_kernels : tuple of int
        Odd kernels of the summed input convolutions S.
    focus_kernel : int
        Kernel of the Global Focus convolutions.
    layer_norm : bool
        LayerNorm after the gate convolutions.
    forget_bias : float
        Forget-gate bias.
    periodic : bool
        Wrap in x.

    Notes
    -----
    The multi-scale convolutions stay separate parameters, but at run time their kernels are
    zero-padded to ``filter_size``, summed and stacked under ``conv_x``'s weight, so one
    convolution computes both the 7N gate inputs and S (:meth:`input_weight`). This is the
    same function with fewer FLOPs.
    """

    conv_x: nn.Conv2d

    def __init__(
        self,
        in_channels: int,
        num_hidden: int,
        att_hidden: int,
        height: int,
        width: int,
        filter_size: int = 5,
        multiscale_kernels: tuple[int, ...] = (1, 3, 5),
        focus_kernel: int = 3,
        layer_norm: bool = False,
        forget_bias: float = 1.0,
        periodic: bool = False,
    ) -> None:
        n = num_hidden
        # run merged with the multi-scale convolutions (input_weight), so a plain Conv2d
        conv_x = nn.Conv2d(in_channels, 7 * n, filter_size, bias=False)
        super().__init__(conv_x, n, filter_size, forget_bias, periodic)
        self.num_hidden = n
        self.filter_size = filter_size
        self.periodic = periodic
        self.multiscale = nn.ModuleList(nn.Conv2d(in_channels, n, k) for k in multiscale_kernels)
        self.conv_last = nn.Conv2d(2 * n, n, 1, bias=False)
        self.focus = GlobalFocus(in_channels, n, focus_kernel, periodic)
        self.attention = SelfAttentionMemory(n, att_hidden)
        self.norm_x = maybe_layer_norm(7 * n, height, width, layer_norm)
        # Without LayerNorm on the gate inputs the forget bias is folded into the merged
        # convolution's bias (prepare), not added in memory_step (a plain bool, not state).
        self.forget_bias_in_conv = isinstance(self.norm_x, nn.Identity)
        self.norm_s = maybe_layer_norm(n, height, width, layer_norm)
        self.norm_h, self.norm_m, self.norm_o = state_norms(n, height, width, layer_norm)

    def input_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Merged input convolution: weight (8N, C_in, k, k) and bias (8N,).

        Rows 0..7N-1 are ``conv_x`` (no bias); rows 7N..8N-1 are the sum of the multi-scale
        kernels zero-padded to k x k, with the sum of their biases; k is the largest of
        filter_size and the multi-scale kernels (filter_size for the reference's (1, 3, 5)).
        """
        convs = cast("list[nn.Conv2d]", list(self.multiscale))  # a ModuleList yields Module
        k = max(self.filter_size, *(conv.kernel_size[0] for conv in convs))

        def padded(w: torch.Tensor) -> torch.Tensor:
            return F.pad(w, [(k - w.shape[-1]) // 2] * 4)

        s_weight: torch.Tensor = reduce(operator.add, (padded(conv.weight) for conv in convs))
        s_bias: torch.Tensor = reduce(operator.add, (conv_bias(conv) for conv in convs))
        weight = torch.cat([padded(self.conv_x.weight), s_weight])
        bias = torch.cat([s_bias.new_zeros(7 * self.num_hidden), s_bias])
        return weight, bias

    def prepare(self) -> tuple[torch.Tensor, ...]:
        """Weights a rollout builds once per forward pass, not once per step.

        Returns
        -------
        tuple of torch.Tensor
            :meth:`input_weight` with the forget bias added to the f_x and f_x' rows of its bias
            (without LayerNorm, where the bias may move in front of the normalisation), then the
            attention memory's :meth:`~SelfAttentionMemory.projection_weights`.
        """
        weight, bias = self.input_weight()
        if self.forget_bias and self.forget_bias_in_conv:
            n = self.num_hidden
            forget = torch.zeros(8, dtype=bias.dtype, device=bias.device)
            forget[[1, 4]] = self.forget_bias  # f_x and f_x' of (i, f, g, i', f', g', o, S)
            bias = bias + forget.repeat_interleave(n)
        return (weight, bias, *self.attention.projection_weights())

    def forward(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        m: torch.Tensor,
        z: torch.Tensor,
        prepared: tuple[torch.Tensor, ...] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step.

        Parameters
        ----------
        x : torch.Tensor
            (B, C_in, h, w) layer input.
        h, c, m, z : torch.Tensor
            (B, N, h, w) hidden, cell, shared memory, motion highway.
        prepared : tuple of torch.Tensor, optional
            Precomputed :meth:`prepare` (a rollout computes it once per forward pass).

        Returns
        -------
        h_new, c_new, m_new, z_new : torch.Tensor
            (B, N, h, w) each; ``z_new`` is ``h_new``.
        """
        n = self.num_hidden
        weight, bias, *projections = self.prepare() if prepared is None else prepared
        forget_bias = 0.0 if self.forget_bias_in_conv else self.forget_bias
        xs = grid_conv2d(x, weight, bias, periodic=self.periodic)
        x_gates, s = xs[:, : 7 * n], xs[:, 7 * n :]
        h_new, c_new, m_new, o = self.memory_step(self.norm_x(x_gates), h, c, m, forget_bias)
        h_new = self.focus(x, h_new) * self.norm_s(s)
        h_new, m_new = self.attention(h_new, m_new, projections)
        h_new = torch.addcmul(h_new, 1 - o, z)  # the highway: h + (1 - o) z
        return h_new, c_new, m_new, h_new
