"""Space-to-depth patching of frame sequences (the "patch_size" of PredRNN-family models)."""

from __future__ import annotations

import torch
from einops import rearrange


def patchify(frames: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Fold every p x p block of pixels into channels.

    Parameters
    ----------
    frames : torch.Tensor
        (B, T, C, H, W) with H and W divisible by ``patch_size``.
    patch_size : int
        p.

    Returns
    -------
    torch.Tensor
        (B, T, p * p * C, H / p, W / p); channel index = (row in block, column in block, C),
        the order of OpenSTL's ``reshape_patch``.
    """
    return rearrange(
        frames, "b t c (h p) (w q) -> b t (p q c) h w", p=patch_size, q=patch_size
    ).contiguous()


def unpatchify(patches: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: (B, T, p * p * C, h, w) -> (B, T, C, h * p, w * p)."""
    return rearrange(patches, "b t (p q c) h w -> b t c (h p) (w q)", p=patch_size, q=patch_size)
