"""Building blocks shared by GMG and the recurrent baselines."""

from gmgclim.models.layers.attention_memory import SelfAttentionMemory
from gmgclim.models.layers.global_focus import GlobalFocus
from gmgclim.models.layers.gmg_cell import GMGCell
from gmgclim.models.layers.motion import (
    DeformableWarp,
    GlobalGrowth,
    MotionBranch,
    MotionGuided,
    MotionSpec,
)
from gmgclim.models.layers.padding import GridConv2d, GridConvTranspose2d, grid_conv2d
from gmgclim.models.layers.patching import patchify, unpatchify
from gmgclim.models.layers.st_lstm import CellSpec, STLSTMCell, st_lstm_update

__all__ = [
    "CellSpec",
    "DeformableWarp",
    "GMGCell",
    "GlobalFocus",
    "GlobalGrowth",
    "GridConv2d",
    "GridConvTranspose2d",
    "MotionBranch",
    "MotionGuided",
    "MotionSpec",
    "STLSTMCell",
    "SelfAttentionMemory",
    "grid_conv2d",
    "patchify",
    "st_lstm_update",
    "unpatchify",
]
