"""Self-attention memory (SAM, SA-ConvLSTM) as used by GMG's cell."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class SelfAttentionMemory(nn.Module):
    """Attend from h to itself and to the memory m over all grid positions, then update m.

    ``Z_h = softmax(Q K_h^T) V_h`` and ``Z_m = softmax(Q K_m^T) V_m`` (no 1/sqrt(A) scaling, as in
    the reference), both in one fused ``scaled_dot_product_attention`` call so the
    (h*w) x (h*w) matrix is never materialised on backends with a fused kernel.

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

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update (h, m), each (B, N, h, w); returns the new (h, m)."""
        n, a = self.num_hidden, self.att_hidden
        height, width = h.shape[-2:]
        # The 1x1 projections of h (q, k_h, v_h) and of m (k_m, v_m) as two fused convs.
        w_h = torch.cat([self.query.weight, self.key_h.weight, self.value_h.weight])
        b_h = torch.cat([self.query.bias, self.key_h.bias, self.value_h.bias])
        w_m = torch.cat([self.key_m.weight, self.value_m.weight])
        b_m = torch.cat([self.key_m.bias, self.value_m.bias])
        q, k_h, v_h = torch.split(F.conv2d(h, w_h, b_h), [a, a, n], dim=1)
        k_m, v_m = torch.split(F.conv2d(m, w_m, b_m), [a, n], dim=1)
        q = rearrange(q, "b a y x -> b 1 (y x) a").expand(-1, 2, -1, -1)
        k = rearrange(torch.stack([k_h, k_m], dim=1), "b s a y x -> b s (y x) a")
        v = rearrange(torch.stack([v_h, v_m], dim=1), "b s n y x -> b s (y x) n")
        dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
        z = F.scaled_dot_product_attention(q.to(dtype), k.to(dtype), v.to(dtype), scale=1.0)
        z = rearrange(z, "b s (y x) n -> b (s n) y x", y=height, x=width)
        mixed = self.mix(z)
        mo, mg, mi = torch.chunk(self.update(torch.cat([mixed, h], dim=1)), 3, dim=1)
        gate_i = torch.sigmoid(mi)
        m_new = (1 - gate_i) * m + gate_i * torch.tanh(mg)
        return torch.sigmoid(mo) * m_new, m_new
