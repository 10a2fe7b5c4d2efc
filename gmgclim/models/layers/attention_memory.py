"""Self-attention memory (SAM, SA-ConvLSTM) as used by GMG's cell."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gmgclim.models.layers.padding import conv_bias
from gmgclim.models.layers.st_lstm import blend


def attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``softmax(Q^T K) V`` over grid positions, unscaled, in channel-first layout.

    Parameters
    ----------
    query, key : torch.Tensor
        (B, A, P) with P = h * w grid positions.
    value : torch.Tensor
        (B, N, P).

    Returns
    -------
    torch.Tensor
        (B, N, P): position i is ``sum_j softmax_j(q_i . k_j) v_j``.

    Notes
    -----
    Written out rather than through ``scaled_dot_product_attention``: with value width N != query
    width A no fused CPU kernel applies, and SDPA's math fallback builds masks on every call and
    upcasts bf16 to float32. Here the P x P matrix is built once, in the compute dtype (softmax
    accumulates in float32 internally). It is only ever read untransposed (``weights @ V^T``): the
    backward pass of a product with a transposed P x P view copies that matrix (a profile of the
    alternative spends 19 % of the attention's time in ``aten::copy_``, this form 3 %).
    """
    scores = torch.bmm(query.transpose(1, 2).contiguous(), key)  # (B, P_q, P_k); q^T is small
    weights = torch.softmax(scores, dim=-1)
    return torch.bmm(weights, value.transpose(1, 2)).transpose(1, 2)


class SelfAttentionMemory(nn.Module):
    """Attend from h to itself and to the memory m over all grid positions, then update m.

    ``Z_h = softmax(Q^T K_h) V_h`` and ``Z_m = softmax(Q^T K_m) V_m`` (no 1/sqrt(A) scaling, as in
    the reference), each an explicit softmax of the (h*w) x (h*w) score matrix (:func:`attend`).

    Parameters
    ----------
    num_hidden : int
        N, channels of h and m.
    att_hidden : int
        A, channels of queries and keys.
    """

    def __init__(self, num_hidden: int, att_hidden: int) -> None:
        super().__init__()
        n, a = num_hidden, att_hidden
        self.num_hidden = n
        self.att_hidden = a
        self.query = nn.Conv2d(n, a, 1)
        self.key_h = nn.Conv2d(n, a, 1)
        self.key_m = nn.Conv2d(n, a, 1)
        self.value_h = nn.Conv2d(n, n, 1)
        self.value_m = nn.Conv2d(n, n, 1)
        self.mix = nn.Conv2d(2 * n, 2 * n, 1)
        self.update = nn.Conv2d(3 * n, 3 * n, 1)

    def projection_weights(
        self,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stacked 1x1 projections: of h (q, k_h, v_h) and of m (k_m, v_m), weight and bias each.

        A rollout builds them once per forward pass (:meth:`GMGCell.prepare`).
        """
        w_h = torch.cat([self.query.weight, self.key_h.weight, self.value_h.weight])
        b_h = torch.cat([conv_bias(self.query), conv_bias(self.key_h), conv_bias(self.value_h)])
        w_m = torch.cat([self.key_m.weight, self.value_m.weight])
        b_m = torch.cat([conv_bias(self.key_m), conv_bias(self.value_m)])
        return w_h, b_h, w_m, b_m

    def forward(
        self,
        h: torch.Tensor,
        m: torch.Tensor,
        projections: tuple[torch.Tensor, ...] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update (h, m), each (B, N, h, w); returns the new (h, m).

        ``projections`` is a precomputed :meth:`projection_weights`.
        """
        n, a = self.num_hidden, self.att_hidden
        w_h, b_h, w_m, b_m = self.projection_weights() if projections is None else projections
        proj_h = F.conv2d(h, w_h, b_h).flatten(2)  # (B, 2A + N, P)
        proj_m = F.conv2d(m, w_m, b_m).flatten(2)  # (B, A + N, P)
        q, k_h, v_h = proj_h[:, :a], proj_h[:, a : 2 * a], proj_h[:, 2 * a :]
        k_m, v_m = proj_m[:, :a], proj_m[:, a:]
        z = torch.cat([attend(q, k_h, v_h), attend(q, k_m, v_m)], dim=1)  # (B, 2N, P)
        mixed = self.mix(z.view(z.shape[0], 2 * n, *h.shape[-2:]))
        mo, mg, mi = torch.chunk(self.update(torch.cat([mixed, h], dim=1)), 3, dim=1)
        m_new = blend(m, torch.tanh(mg), torch.sigmoid(mi))  # (1 - g) m + g tanh(mg)
        return torch.sigmoid(mo) * m_new, m_new
