"""GMG: Global Focus and Motion Guided video prediction (Du et al., TCSVT 2026).

See the paper (arXiv 2503.11297) for the computation; this is a plain ``nn.Module`` with sizes
from :class:`GMGConfig`. States start at zero (deterministic), the global growth's tau is the
recurrent step index, and every spatial operation can wrap in longitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import nn

from gmgclim.models.layers.gmg_cell import GMGCell
from gmgclim.models.motionrnn import MotionHighwayForecaster
from gmgclim.models.recurrent import motion_branches
from gmgclim.models.recurrent_config import MotionConfig, require_int, require_odd


@dataclass(frozen=True)
class GMGConfig(MotionConfig):
    """Architecture and grid of a GMG model (defaults: the WeatherBench reference config).

    Parameters
    ----------
    in_channels, height, width, input_steps, output_steps, patch_size, num_hidden, filter_size,
    stride, layer_norm, forget_bias, periodic_longitude, pad_mode, auto_pad
        See :class:`~gmgclim.models.recurrent_config.RecurrentConfig`.
    motion_neighbourhood, motion_reduction, motion_kernel
        See :class:`~gmgclim.models.recurrent_config.MotionConfig` (3, 4, 3).
    att_hidden : int
        A, query/key channels of the self-attention memory (32 for Moving MNIST / CIKM /
        TaxiBJ, 64 for WeatherBench).
    multiscale_kernels : tuple of int
        Odd kernels of the summed multi-scale input convolutions (1, 3, 5); they are merged
        into the input convolution, whose kernel grows if one exceeds filter_size.
    focus_kernel : int
        Kernel of the Global Focus convolutions (3).
    growth_alpha_init, growth_beta_init : float
        Initial alpha0 and beta0 of the global growth (0.5, 0.9).
    """

    att_hidden: int = 64
    multiscale_kernels: tuple[int, ...] = (1, 3, 5)
    focus_kernel: int = 3
    growth_alpha_init: float = 0.5
    growth_beta_init: float = 0.9

    def __post_init__(self) -> None:
        if not isinstance(self.multiscale_kernels, tuple):
            object.__setattr__(self, "multiscale_kernels", tuple(self.multiscale_kernels))
        super().__post_init__()
        require_int(self, "att_hidden", 1)
        require_odd(self, "focus_kernel")
        if not self.multiscale_kernels or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0
            for k in self.multiscale_kernels
        ):
            raise ValueError(
                f"GMGConfig.multiscale_kernels must be a non-empty tuple of odd integers, got "
                f"{self.multiscale_kernels!r}"
            )


class GMG(MotionHighwayForecaster):
    """GMG forecaster. Call as ``model(inputs, targets=None, teacher_forcing_mask=None)``.

    Parameters
    ----------
    config : GMGConfig
        Architecture and grid.

    Notes
    -----
    See :mod:`gmgclim.models.recurrent` for the call contract (shapes, masks, padding). Under
    autocast the rollout runs in the autocast dtype with weights cast once per call; the global
    growth (a handful of scalars acting on float32 motion means) stays float32. With
    ``activation_checkpointing`` each layer of each step (cell and motion branch) is recomputed in
    the backward pass (the layer loop is :class:`~gmgclim.models.motionrnn.MotionHighwayForecaster`).
    """

    config: GMGConfig
    config_class = GMGConfig
    native_low_precision: ClassVar[bool] = True
    fp32_parameters: ClassVar[tuple[str, ...]] = (".growth.",)
    supports_activation_checkpointing: ClassVar[bool] = True

    def __init__(self, config: GMGConfig) -> None:
        super().__init__(config)
        cfg = config
        h, w = cfg.patch_grid
        periodic = cfg.periodic_longitude
        n = cfg.num_hidden[0]
        self.cells = nn.ModuleList(
            GMGCell(
                cfg.layer_in_channels(i),
                cfg.num_hidden[i],
                cfg.att_hidden,
                h,
                w,
                cfg.filter_size,
                cfg.multiscale_kernels,
                cfg.focus_kernel,
                cfg.layer_norm,
                cfg.forget_bias,
                periodic,
            )
            for i in range(cfg.num_layers)
        )
        self.branches = motion_branches(
            cfg,
            global_growth=True,
            alpha_init=cfg.growth_alpha_init,
            beta_init=cfg.growth_beta_init,
        )
        self.highway_seed = nn.Conv2d(cfg.input_patch_channels, n, 1, bias=False)
        self.head = self.readout_head()

    def prepare(self) -> list[tuple[torch.Tensor, ...]]:
        """Merged weights of every cell (:meth:`GMGCell.prepare`), built once per forward pass."""
        return [cast(GMGCell, cell).prepare() for cell in self.cells]

    def compile_cells(self, **options: Any) -> None:
        """``torch.compile`` every cell and motion branch in place (``options`` go to compile).

        Compiling the layers rather than the whole rollout keeps the graph one step of one layer
        deep: it is compiled once per layer shape and reused by every step.
        """
        for module in [*self.cells, *self.branches]:
            module.compile(**options)

    def run_cell(
        self, i: int, tensors: tuple[torch.Tensor, ...], prepared: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, ...]:
        """GMG cell i on (x, h, c, m, z) with its merged weights from :meth:`prepare`."""
        return self.cells[i](*tensors, prepared=prepared)
