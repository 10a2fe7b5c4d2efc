"""Spatiotemporal LSTM (ST-LSTM, PredRNN) cell and its gate arithmetic.

The gate update is shared by PredRNN, MotionRNN and GMG; each cell computes its own
convolutions and calls :func:`st_lstm_update`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gmgclim.models.layers.padding import GridConv2d


def st_lstm_update(
    x_gates: torch.Tensor,
    h_gates: torch.Tensor,
    m_gates: torch.Tensor,
    c: torch.Tensor,
    m: torch.Tensor,
    forget_bias: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ST-LSTM updates of the temporal cell c and the spatiotemporal memory m.

    Parameters
    ----------
    x_gates : torch.Tensor
        (B, 7N, h, w) input convolution: i_x, f_x, g_x, i_x', f_x', g_x', o_x.
    h_gates : torch.Tensor
        (B, 4N, h, w) hidden convolution: i_h, f_h, g_h, o_h.
    m_gates : torch.Tensor
        (B, 3N, h, w) memory convolution: i_m, f_m, g_m.
    c, m : torch.Tensor
        (B, N, h, w) previous cell and memory.
    forget_bias : float
        Added to both forget gates before the sigmoid.

    Returns
    -------
    c_new, m_new, o_partial : torch.Tensor
        (B, N, h, w) each; ``o_partial = o_x + o_h`` (the output gate before the memory term).
    """
    n = c.shape[1]
    # Sums of the gate inputs as three adds over contiguous channel blocks (i, f, g | i', f', g' | o)
    # instead of seven over single gates.
    pre_c = x_gates[:, : 3 * n] + h_gates[:, : 3 * n]
    pre_m = x_gates[:, 3 * n : 6 * n] + m_gates
    o_partial = x_gates[:, 6 * n :] + h_gates[:, 3 * n :]
    return _gated_update(pre_c, c, forget_bias), _gated_update(pre_m, m, forget_bias), o_partial


def _gated_update(pre: torch.Tensor, state: torch.Tensor, forget_bias: float) -> torch.Tensor:
    """``sigmoid(f + forget_bias) * state + sigmoid(i) * tanh(g)`` from ``pre`` = (i, f, g) (B, 3N, h, w)."""
    n = state.shape[1]
    if forget_bias:
        i, f = torch.sigmoid(pre[:, :n]), torch.sigmoid(pre[:, n : 2 * n] + forget_bias)
    else:  # the bias is already in the input convolution's (GMGCell.prepare): one sigmoid
        i, f = torch.sigmoid(pre[:, : 2 * n]).chunk(2, dim=1)
    return torch.addcmul(f * state, i, torch.tanh(pre[:, 2 * n :]))


def blend(start: torch.Tensor, end: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``start + weight * (end - start)``, i.e. ``(1 - weight) * start + weight * end``, as one op.

    ``torch.lerp`` needs one dtype; under autocast a float32 state can meet a bf16 gate, so the
    operands are promoted first (a no-op when they agree, as inside a rollout).
    """
    dtype = torch.promote_types(torch.promote_types(start.dtype, end.dtype), weight.dtype)
    return torch.lerp(start.to(dtype), end.to(dtype), weight.to(dtype))


def maybe_layer_norm(channels: int, height: int, width: int, enabled: bool) -> nn.Module:
    """LayerNorm over (channels, height, width) as in PredRNN's ``layer_norm`` option, else identity."""
    return nn.LayerNorm([channels, height, width]) if enabled else nn.Identity()


def state_convs(
    num_hidden: int, filter_size: int, periodic: bool
) -> tuple[GridConv2d, GridConv2d, GridConv2d]:
    """``conv_h`` (N -> 4N), ``conv_m`` (N -> 3N), ``conv_o`` (2N -> N) of an ST-LSTM cell.

    Built in this order (their random initial weights depend on it); the GMG cell shares them.
    """
    n = num_hidden
    return (
        GridConv2d(n, 4 * n, filter_size, bias=False, periodic=periodic),
        GridConv2d(n, 3 * n, filter_size, bias=False, periodic=periodic),
        GridConv2d(2 * n, n, filter_size, bias=False, periodic=periodic),
    )


def state_norms(
    num_hidden: int, height: int, width: int, enabled: bool
) -> tuple[nn.Module, nn.Module, nn.Module]:
    """``norm_h``, ``norm_m``, ``norm_o``: the LayerNorms (or identities) after the convs above."""
    n = num_hidden
    return (
        maybe_layer_norm(4 * n, height, width, enabled),
        maybe_layer_norm(3 * n, height, width, enabled),
        maybe_layer_norm(n, height, width, enabled),
    )


@dataclass(frozen=True)
class CellSpec:
    """Sizes and options of one cell of a recurrent stack (built by ``recurrent.stacked_cells``).

    Attributes
    ----------
    in_channels : int
        Channels of the layer input x.
    num_hidden : int
        N, channels of the hidden state and the cell (and memory) states.
    height, width : int
        Patch-grid size (used only by the LayerNorm variant).
    filter_size : int
        Odd kernel of the gate convolutions.
    layer_norm : bool
        LayerNorm after each gate convolution.
    forget_bias : float
        Forget-gate bias.
    periodic : bool
        Wrap in x.
    """

    in_channels: int
    num_hidden: int
    height: int
    width: int
    filter_size: int
    layer_norm: bool
    forget_bias: float
    periodic: bool


class STLSTMCellBase(nn.Module):
    """The ST-LSTM memory step that PredRNN's, MotionRNN's and GMG's cells share.

    Parameters
    ----------
    conv_x : nn.Module
        The cell's input convolution (C_in -> 7N or more), registered before ``conv_h``,
        ``conv_m``, ``conv_o`` (:func:`state_convs`): the order fixes the random initial weights
        and the parameter order of checkpoints.
    num_hidden, filter_size, forget_bias, periodic
        N, the odd kernel of the state convolutions, the forget-gate bias, wrapping in x.

    Subclasses then build ``conv_last`` (1x1, 2N -> N) and ``norm_x``, ``norm_h``, ``norm_m``,
    ``norm_o`` (:func:`state_norms`), and compute their own input gates.
    """

    conv_last: nn.Module
    norm_h: nn.Module
    norm_m: nn.Module
    norm_o: nn.Module

    def __init__(
        self,
        conv_x: nn.Module,
        num_hidden: int,
        filter_size: int,
        forget_bias: float,
        periodic: bool,
    ) -> None:
        super().__init__()
        self.forget_bias = forget_bias
        self.conv_x = conv_x
        self.conv_h, self.conv_m, self.conv_o = state_convs(num_hidden, filter_size, periodic)

    def memory_step(
        self,
        x_gates: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        m: torch.Tensor,
        forget_bias: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """New cell c, memory m, hidden state h and output gate o from the input gates.

        Parameters
        ----------
        x_gates : torch.Tensor
            (B, 7N, h, w) input convolution, normalised (see :func:`st_lstm_update`).
        h, c, m : torch.Tensor
            (B, N, h, w) hidden, cell, spatiotemporal memory.
        forget_bias : float
            Added to both forget gates (0 when the input convolution's bias holds it).

        Returns
        -------
        h_new, c_new, m_new, o : torch.Tensor
            (B, N, h, w) each; ``h_new = o * tanh(conv_last([c_new, m_new]))``.
        """
        c_new, m_new, o_partial = st_lstm_update(
            x_gates,
            self.norm_h(self.conv_h(h)),
            self.norm_m(self.conv_m(m)),
            c,
            m,
            forget_bias,
        )
        mem = torch.cat([c_new, m_new], dim=1)
        o = torch.sigmoid(o_partial + self.norm_o(self.conv_o(mem)))
        h_new = o * torch.tanh(self.conv_last(mem))
        return h_new, c_new, m_new, o


class STLSTMCell(STLSTMCellBase):
    """PredRNN's ST-LSTM cell, optionally with MotionRNN's motion highway.

    Parameters
    ----------
    spec : CellSpec
        Input channels, N, grid, kernel, LayerNorm, forget bias (1.0 in PredRNN), periodicity.
    highway : bool
        Add MotionRNN's highway term ``(1 - o) * z`` to the hidden state.
    """

    def __init__(self, spec: CellSpec, highway: bool = False) -> None:
        n, k, periodic = spec.num_hidden, spec.filter_size, spec.periodic
        conv_x = GridConv2d(spec.in_channels, 7 * n, k, bias=False, periodic=periodic)
        super().__init__(conv_x, n, k, spec.forget_bias, periodic)
        self.highway = highway
        self.conv_last = nn.Conv2d(2 * n, n, 1, bias=False)
        self.norm_x = maybe_layer_norm(7 * n, spec.height, spec.width, spec.layer_norm)
        self.norm_h, self.norm_m, self.norm_o = state_norms(
            n, spec.height, spec.width, spec.layer_norm
        )

    def forward(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        m: torch.Tensor,
        z: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step.

        Parameters
        ----------
        x : torch.Tensor
            (B, C_in, h, w) layer input.
        h, c, m : torch.Tensor
            (B, N, h, w) hidden, cell, spatiotemporal memory.
        z : torch.Tensor, optional
            (B, N, h, w) motion highway (required when ``highway``).

        Returns
        -------
        h_new, c_new, m_new : torch.Tensor
            (B, N, h, w) each; with the highway, ``h_new`` is also the new highway.
        """
        h_new, c_new, m_new, o = self.memory_step(
            self.norm_x(self.conv_x(x)), h, c, m, self.forget_bias
        )
        if self.highway:
            if z is None:
                raise ValueError("STLSTMCell(highway=True) needs the highway tensor z")
            h_new = h_new + (1 - o) * z
        return h_new, c_new, m_new
