"""Motion modules: MotionGRU (MotionRNN), GMG's global growth, and the gated deformable warp.

The same :class:`MotionGuided` module serves MotionRNN (``global_growth=False``) and GMG
(``global_growth=True``). Offsets are (B, 2 k^2, h, w): the first k^2 channels are row (y)
displacements of the k x k taps, the last k^2 column (x) displacements, in grid cells;
tap j sits at (j // k - k // 2, j % k - k // 2) around each position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gmgclim.models.layers.padding import GridConv2d, GridConvTranspose2d
from gmgclim.models.layers.st_lstm import blend


class DeformableWarp(nn.Module):
    """Modulated deformable k x k sampling (DCNv2) followed by a k x k mixing of the taps.

    Each tap j of every position samples the feature bilinearly at its displaced location
    (zero outside the grid in y; in x too unless ``periodic``, where x wraps), is weighted by
    ``sigmoid(gate(e))[:, j]`` and the taps are mixed by ``conv`` (weight (C_out, C_in, k, k),
    no bias) as a convolution over the tap layout would. Implemented with ``grid_sample``.

    Parameters
    ----------
    channels : int
        C', channels in and out.
    neighbourhood : int
        k (3 in the reference).
    gate_kernel : int
        Kernel of the tap-gate convolution (3 in the reference).
    periodic : bool
        Wrap in x.
    """

    tap_dy: torch.Tensor  # buffers (registered in __init__)
    tap_dx: torch.Tensor

    def __init__(
        self, channels: int, neighbourhood: int = 3, gate_kernel: int = 3, periodic: bool = False
    ) -> None:
        super().__init__()
        k = neighbourhood
        self.neighbourhood = k
        self.periodic = periodic
        self.conv = nn.Conv2d(channels, channels, k, stride=k, bias=False)
        self.gate = GridConv2d(channels, k * k, gate_kernel, periodic=periodic)
        nn.init.zeros_(self.gate.weight)
        taps = torch.arange(k * k)
        self.register_buffer("tap_dy", (taps // k - k // 2).float(), persistent=False)
        self.register_buffer("tap_dx", (taps % k - k // 2).float(), persistent=False)

    def forward(self, e: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Warp e (B, C', h, w) by offset (B, 2 k^2, h, w); returns (B, C', h, w)."""
        b, ch, h, w = e.shape
        n = self.neighbourhood**2
        gate = torch.sigmoid(self.gate(e))
        with torch.autocast(device_type=e.device.type, enabled=False):
            off = offset.float()
            rows = torch.arange(h, device=e.device, dtype=torch.float32)
            cols = torch.arange(w, device=e.device, dtype=torch.float32)
            y = rows[None, None, :, None] + self.tap_dy[None, :, None, None] + off[:, :n]
            x = cols[None, None, None, :] + self.tap_dx[None, :, None, None] + off[:, n:]
            src = e.float()
            width = w
            if self.periodic:
                # Wrap x into [0, w) and append column 0 after column w - 1 so that the
                # bilinear stencil between them is exact.
                x = torch.remainder(x, w)
                src = torch.cat([src, src[..., :1]], dim=-1)
                width = w + 1
            # Pixel -> normalised coordinates for align_corners=False (valid for any size >= 1).
            gx = (2 * x + 1) / width - 1
            gy = (2 * y + 1) / h - 1
            grid = torch.stack([gx, gy], dim=-1).reshape(b, n * h, w, 2)
            sampled = F.grid_sample(
                src, grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )
        sampled = sampled.reshape(b, ch, n, h, w) * gate[:, None].to(sampled.dtype)
        sampled = sampled.reshape(b, ch * n, h, w).to(e.dtype)
        weight = self.conv.weight.reshape(self.conv.out_channels, ch * n, 1, 1)
        return F.conv2d(sampled, weight)


class GlobalGrowth(nn.Module):
    """GMG's global growth of the motion mean field D.

    ``D <- D * exp(-beta * tau) + alpha * growth * D`` with per-sample
    ``alpha = 0.5 alpha0 + 0.5 sigmoid(Linear_a(s))``, ``beta = 0.5 beta0 + 0.5 sigmoid(Linear_b(s))``,
    ``growth = sigmoid(Linear_g(s))`` and s the grid mean of the motion feature. tau is the
    recurrent step index (the reference uses the batch index, which makes a sample's result
    depend on its batch position).

    Parameters
    ----------
    channels : int
        C', channels of the motion feature.
    alpha_init, beta_init : float
        Initial values of the learnable scalars alpha0 and beta0 (0.5 and 0.9).
    """

    def __init__(self, channels: int, alpha_init: float = 0.5, beta_init: float = 0.9) -> None:
        super().__init__()
        self.fc_growth = nn.Linear(channels, 1, bias=False)
        self.fc_alpha = nn.Linear(channels, 1)
        self.fc_beta = nn.Linear(channels, 1)
        self.alpha0 = nn.Parameter(torch.tensor(float(alpha_init)))
        self.beta0 = nn.Parameter(torch.tensor(float(beta_init)))

    def forward(self, mean: torch.Tensor, e: torch.Tensor, tau: int) -> torch.Tensor:
        """Grow mean (B, 2 k^2, h, w) from the feature e (B, C', h, w) at step tau; same shape out."""
        s = e.float().mean(dim=(2, 3))
        alpha = 0.5 * self.alpha0 + 0.5 * torch.sigmoid(self.fc_alpha(s))
        beta = 0.5 * self.beta0 + 0.5 * torch.sigmoid(self.fc_beta(s))
        growth = torch.sigmoid(self.fc_growth(s))
        decay = torch.exp(-beta * float(tau))
        factor = (decay + alpha * growth)[:, :, None, None]
        return mean * factor


@dataclass(frozen=True)
class MotionSpec:
    """Options of the motion module (:class:`MotionGuided`) and its branch.

    Attributes
    ----------
    neighbourhood : int
        k; offsets have 2 k^2 channels.
    kernel_size : int
        Kernel of the update/reset/output and warp-gate convolutions.
    global_growth : bool
        Apply :class:`GlobalGrowth` to the mean field (GMG) or not (MotionRNN).
    alpha_init, beta_init : float
        Global-growth initial scalars.
    periodic : bool
        Wrap in x.
    """

    neighbourhood: int = 3
    kernel_size: int = 3
    global_growth: bool = True
    alpha_init: float = 0.5
    beta_init: float = 0.9
    periodic: bool = False


class MotionGuided(nn.Module):
    """MotionGRU (MotionRNN) with optional global growth (GMG's Motion Guided Module).

    Parameters
    ----------
    channels : int
        C', channels of the motion feature.
    spec : MotionSpec
        Neighbourhood, kernel, global growth and periodicity.
    """

    def __init__(self, channels: int, spec: MotionSpec = MotionSpec()) -> None:
        super().__init__()
        k, periodic = spec.kernel_size, spec.periodic
        motion = 2 * spec.neighbourhood * spec.neighbourhood
        self.motion_channels = motion
        self.update = GridConv2d(channels + motion, motion, k, periodic=periodic)
        self.reset = GridConv2d(channels + motion, motion, k, periodic=periodic)
        self.output = GridConv2d(channels + motion, motion, k, periodic=periodic)
        for conv in (self.update, self.reset, self.output):
            nn.init.zeros_(conv.weight)
        self.warp = DeformableWarp(channels, spec.neighbourhood, k, periodic)
        self.growth = (
            GlobalGrowth(channels, spec.alpha_init, spec.beta_init) if spec.global_growth else None
        )

    def forward(
        self, e: torch.Tensor, offset: torch.Tensor, mean: torch.Tensor, tau: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step.

        Parameters
        ----------
        e : torch.Tensor
            (B, C', h, w) motion feature.
        offset, mean : torch.Tensor
            (B, 2 k^2, h, w) previous offset F and mean D (float32 state).
        tau : int
            Recurrent step index.

        Returns
        -------
        warped, offset_new, mean_new : torch.Tensor
            (B, C', h, w), (B, 2 k^2, h, w), (B, 2 k^2, h, w).
        """
        stacked = torch.cat([e, offset.to(e.dtype)], dim=1)
        u = torch.sigmoid(self.update(stacked)).float()
        r = torch.sigmoid(self.reset(stacked)).float()
        candidate = torch.tanh(self.output(torch.cat([e, (offset * r).to(e.dtype)], dim=1)))
        offset_new = blend(offset, candidate.float(), u)  # offset (1 - u) + candidate u
        if self.growth is not None:
            mean = self.growth(mean, e, tau)
        mean = mean + 0.5 * (offset - mean)
        offset_new = offset_new + mean
        return self.warp(e, offset_new), offset_new, mean


class MotionBranch(nn.Module):
    """Half-resolution motion branch of a lower layer (MotionRNN / GMG wiring).

    ``e = enc(h)`` (stride 2), ``(e', F, D) = MotionGuided(e, F, D)``, ``d = dec(e')`` (x2),
    ``g = sigmoid(gate(concat(d, h)))``, ``h <- g * d + (1 - g) * h``.

    Parameters
    ----------
    num_hidden : int
        N, channels of h.
    filter_size : int
        Kernel of the encoder and the gate convolution.
    reduction : int
        Motion channels C' = N // reduction (4).
    spec : MotionSpec
        Options of :class:`MotionGuided`; ``spec.periodic`` applies to every convolution.
    """

    def __init__(
        self,
        num_hidden: int,
        filter_size: int = 5,
        reduction: int = 4,
        spec: MotionSpec = MotionSpec(),
    ) -> None:
        super().__init__()
        c = num_hidden // reduction
        periodic = spec.periodic
        self.encoder = GridConv2d(num_hidden, c, filter_size, stride=2, periodic=periodic)
        self.motion = MotionGuided(c, spec)
        self.decoder = GridConvTranspose2d(c, num_hidden, 4, 2, 1, periodic=periodic)
        self.gate = GridConv2d(2 * num_hidden, num_hidden, filter_size, periodic=periodic)

    def forward(
        self, h: torch.Tensor, offset: torch.Tensor, mean: torch.Tensor, tau: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Refine h (B, N, h, w) with (offset, mean) (B, 2 k^2, h/2, w/2); returns new (h, offset, mean)."""
        warped, offset, mean = self.motion(self.encoder(h), offset, mean, tau)
        d = self.decoder(warped)
        g = torch.sigmoid(self.gate(torch.cat([d, h.to(d.dtype)], dim=1)))
        return blend(h, d, g), offset, mean  # g d + (1 - g) h
