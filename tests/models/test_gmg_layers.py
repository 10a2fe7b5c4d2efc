"""Building blocks against straightforward reference computations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gmgclim.models.layers import (
    DeformableWarp,
    GMGCell,
    GridConv2d,
    GridConvTranspose2d,
    SelfAttentionMemory,
    patchify,
    unpatchify,
)


def naive_warp(warp: DeformableWarp, e: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Loop-based modulated deformable sampling: bilinear, zero outside (x wraps if periodic)."""
    b, c, h, w = e.shape
    k = warp.neighbourhood
    n = k * k
    gate = torch.sigmoid(warp.gate(e))
    out = torch.zeros(b, c, n, h, w, dtype=torch.float64)

    def value(bi: int, yy: int, xx: int) -> torch.Tensor:
        if warp.periodic:
            xx %= w
        if 0 <= yy < h and 0 <= xx < w:
            return e[bi, :, yy, xx].double()
        return torch.zeros(c, dtype=torch.float64)

    for bi in range(b):
        for j in range(n):
            for i in range(h):
                for x in range(w):
                    py = i + j // k - k // 2 + float(offset[bi, j, i, x])
                    px = x + j % k - k // 2 + float(offset[bi, n + j, i, x])
                    y0, x0 = math.floor(py), math.floor(px)
                    fy, fx = py - y0, px - x0
                    v = (
                        (1 - fy) * (1 - fx) * value(bi, y0, x0)
                        + (1 - fy) * fx * value(bi, y0, x0 + 1)
                        + fy * (1 - fx) * value(bi, y0 + 1, x0)
                        + fy * fx * value(bi, y0 + 1, x0 + 1)
                    )
                    out[bi, :, j, i, x] = v * float(gate[bi, j, i, x])
    weight = warp.conv.weight.double().reshape(c, c, n)
    return torch.einsum("ocn,bcnhw->bohw", weight, out).float()


@pytest.mark.parametrize("periodic", [False, True])
def test_deformable_warp_matches_naive_bilinear_sampling(periodic):
    torch.manual_seed(3)
    warp = DeformableWarp(3, periodic=periodic)
    torch.nn.init.normal_(warp.gate.weight, std=0.3)
    e = torch.randn(2, 3, 4, 5)
    offset = 2.5 * torch.randn(2, 18, 4, 5)  # reaches well outside the grid
    with torch.no_grad():
        got = warp(e, offset)
        want = naive_warp(warp, e, offset)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_deformable_warp_with_zero_offset_is_a_gated_convolution():
    warp = DeformableWarp(4)
    e = torch.randn(1, 4, 6, 7)
    with torch.no_grad():
        got = warp(e, torch.zeros(1, 18, 6, 7))
        # The gate weights start at zero, so tap j is scaled by sigmoid(bias_j) everywhere.
        scale = torch.sigmoid(warp.gate.bias).reshape(1, 1, 3, 3)
        want = F.conv2d(e, warp.conv.weight * scale, padding=1)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_periodic_warp_is_shift_equivariant_for_any_shift():
    warp = DeformableWarp(2, periodic=True)
    e = torch.randn(1, 2, 5, 8)
    offset = 3 * torch.randn(1, 18, 5, 8)
    with torch.no_grad():
        out = warp(e, offset)
        shifted = warp(torch.roll(e, 3, -1), torch.roll(offset, 3, -1))
    torch.testing.assert_close(shifted, torch.roll(out, 3, -1), rtol=1e-4, atol=1e-5)


def test_grid_conv_periodic_equals_circular_padding():
    conv = GridConv2d(3, 4, 5, periodic=True)
    x = torch.randn(2, 3, 6, 9)
    padded = F.pad(F.pad(x, (2, 2, 0, 0), mode="circular"), (0, 0, 2, 2))
    with torch.no_grad():
        torch.testing.assert_close(conv(x), F.conv2d(padded, conv.weight, conv.bias))


def test_periodic_transposed_conv_equals_upsampling_a_tiled_field():
    up = GridConvTranspose2d(3, 2, 4, 2, 1, periodic=True)
    x = torch.randn(1, 3, 4, 5)
    with torch.no_grad():
        got = up(x)
        # Tile the field three times in x; the middle copy sees its true periodic neighbours.
        tiled = F.conv_transpose2d(torch.cat([x, x, x], -1), up.weight, up.bias, 2, 1)
    assert got.shape == (1, 2, 8, 10)
    torch.testing.assert_close(got, tiled[..., 10:20])


def test_patchify_roundtrip_and_order():
    x = torch.arange(2 * 3 * 2 * 4 * 6, dtype=torch.float32).reshape(2, 3, 2, 4, 6)
    p = patchify(x, 2)
    assert p.shape == (2, 3, 8, 2, 3)
    torch.testing.assert_close(unpatchify(p, 2), x)
    # channel index = (row in block, column in block, variable): OpenSTL's reshape_patch order
    assert p[0, 0, 1, 0, 0] == x[0, 0, 1, 0, 0]
    assert p[0, 0, 2, 0, 0] == x[0, 0, 0, 0, 1]


def test_merged_input_convolution_equals_separate_convolutions():
    cell = GMGCell(3, 8, 4, 6, 6, filter_size=5, multiscale_kernels=(1, 3, 5))
    x = torch.randn(2, 3, 6, 6)
    weight, bias = cell.input_weight()
    with torch.no_grad():
        merged = F.conv2d(x, weight, bias, padding=2)
        gates = F.conv2d(x, cell.conv_x.weight, padding=2)
        s = sum(
            F.conv2d(x, c.weight, c.bias, padding=c.kernel_size[0] // 2) for c in cell.multiscale
        )
    torch.testing.assert_close(merged[:, :56], gates, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(merged[:, 56:], s, rtol=1e-5, atol=1e-5)


def test_self_attention_memory_matches_explicit_softmax():
    sam = SelfAttentionMemory(6, 3)
    h = torch.randn(2, 6, 3, 4)
    m = torch.randn(2, 6, 3, 4)

    def flat(conv: torch.nn.Conv2d, t: torch.Tensor) -> torch.Tensor:
        return conv(t).flatten(2)  # (B, C, HW)

    with torch.no_grad():
        got_h, got_m = sam(h, m)
        q = flat(sam.query, h).transpose(1, 2)
        z_h = torch.softmax(q @ flat(sam.key_h, h), -1) @ flat(sam.value_h, h).transpose(1, 2)
        z_m = torch.softmax(q @ flat(sam.key_m, m), -1) @ flat(sam.value_m, m).transpose(1, 2)
        z = torch.cat([z_h, z_m], -1).transpose(1, 2).reshape(2, 12, 3, 4)
        mo, mg, mi = torch.chunk(sam.update(torch.cat([sam.mix(z), h], 1)), 3, 1)
        want_m = (1 - torch.sigmoid(mi)) * m + torch.sigmoid(mi) * torch.tanh(mg)
        want_h = torch.sigmoid(mo) * want_m
    torch.testing.assert_close(got_m, want_m, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_h, want_h, rtol=1e-5, atol=1e-5)
