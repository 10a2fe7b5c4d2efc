"""Grid-aware convolutions and field padding helpers.

Every spatial operation of the models goes through these helpers so that one switch,
``periodic``, makes the x (longitude) axis wrap around: convolutions pad circularly in x and
with zeros in y. Tensors are (B, C, H, W) with y = rows (latitude) and x = columns (longitude).
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


def grid_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: int = 1,
    periodic: bool = False,
) -> torch.Tensor:
    """Convolve with "same" padding, circular in x when ``periodic``.

    Parameters
    ----------
    x : torch.Tensor
        (B, C_in, H, W).
    weight : torch.Tensor
        (C_out, C_in, kh, kw) with odd kh, kw.
    bias : torch.Tensor or None
        (C_out,).
    stride : int
        Stride in both directions.
    periodic : bool
        Pad x circularly (zeros in y) instead of zeros everywhere.

    Returns
    -------
    torch.Tensor
        (B, C_out, ceil(H / stride), ceil(W / stride)).
    """
    ph, pw = weight.shape[-2] // 2, weight.shape[-1] // 2
    if periodic and pw > 0:
        x = F.pad(x, (pw, pw, 0, 0), mode="circular")
        return F.conv2d(x, weight, bias, stride, (ph, 0))
    return F.conv2d(x, weight, bias, stride, (ph, pw))


class GridConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` with "same" padding that can wrap around in x.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size : int
        Odd square kernel size; padding is ``kernel_size // 2``.
    stride : int
        Stride (2 halves the grid, as the motion encoder does).
    bias : bool
        Whether the convolution has a bias.
    periodic : bool
        Circular padding in x (longitude), zeros in y.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        bias: bool = True,
        periodic: bool = False,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=bias
        )
        self.periodic = periodic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve (B, C_in, H, W) -> (B, C_out, H / stride, W / stride)."""
        return grid_conv2d(x, self.weight, self.bias, self.stride[0], self.periodic)


class GridConvTranspose2d(nn.ConvTranspose2d):
    """An ``nn.ConvTranspose2d`` that can wrap around in x.

    In periodic mode the input is padded circularly in x by enough columns to cover every
    tap that reaches the output, and the transposed convolution crops the extra output
    columns, so a shift of the input by k columns shifts the output by ``stride * k``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size, stride, padding : int
        As for ``nn.ConvTranspose2d``; ``kernel_size - 2 * padding`` must equal ``stride`` so
        the output is exactly ``stride`` times the input.
    periodic : bool
        Wrap in x.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 4,
        stride: int = 2,
        padding: int = 1,
        periodic: bool = False,
    ) -> None:
        if kernel_size - 2 * padding != stride:
            raise ValueError(
                f"GridConvTranspose2d: kernel_size - 2 * padding must equal stride, got "
                f"kernel_size={kernel_size}, padding={padding}, stride={stride}"
            )
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        self.periodic = periodic
        # Input columns needed beyond each edge for the taps that land on the output.
        self._wrap = max(
            math.ceil((kernel_size - 1 - padding) / stride), (stride - 1 + padding) // stride
        )

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        """Upsample (B, C_in, h, w) -> (B, C_out, stride * h, stride * w).

        ``output_size`` is ``nn.ConvTranspose2d``'s; the periodic mode fixes the size itself.
        """
        if not self.periodic:
            return super().forward(x, output_size)
        if output_size is not None:
            raise ValueError("GridConvTranspose2d: output_size is not supported when periodic")
        e = self._wrap
        x = F.pad(x, (e, e, 0, 0), mode="circular")
        # padding is an int here (__init__ takes one), never nn.Conv's "same"/"valid" strings
        s, p = self.stride[0], cast(int, self.padding[0])
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, (p, p + s * e))


def conv_bias(conv: nn.Conv2d) -> torch.Tensor:
    """The bias of a convolution built with one (``nn.Conv2d`` types ``bias`` as optional)."""
    if conv.bias is None:
        raise ValueError(f"{conv!r} was built without a bias")
    return conv.bias


def pad_amounts(size: int, multiple: int) -> tuple[int, int]:
    """Split the padding that brings ``size`` to a multiple of ``multiple`` into (before, after)."""
    total = (-size) % multiple
    return total // 2, total - total // 2


def pad_field(
    x: torch.Tensor, pad_y: tuple[int, int], pad_x: tuple[int, int], mode: str
) -> torch.Tensor:
    """Pad the last two axes of ``x`` (..., H, W).

    Parameters
    ----------
    x : torch.Tensor
        (..., H, W).
    pad_y, pad_x : tuple of int
        (before, after) rows and columns.
    mode : {"replicate", "zeros"}
        Edge values or zeros.

    Returns
    -------
    torch.Tensor
        (..., H + sum(pad_y), W + sum(pad_x)).
    """
    if not any(pad_y) and not any(pad_x):
        return x
    shape = x.shape
    flat = x.reshape(-1, 1, shape[-2], shape[-1])
    pads = (pad_x[0], pad_x[1], pad_y[0], pad_y[1])
    flat = F.pad(flat, pads, mode="replicate") if mode == "replicate" else F.pad(flat, pads)
    return flat.reshape(*shape[:-2], flat.shape[-2], flat.shape[-1])


def crop_field(x: torch.Tensor, pad_y: tuple[int, int], pad_x: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_field`: drop ``pad_y`` rows and ``pad_x`` columns from (..., H, W)."""
    h, w = x.shape[-2], x.shape[-1]
    return x[..., pad_y[0] : h - pad_y[1], pad_x[0] : w - pad_x[1]]
