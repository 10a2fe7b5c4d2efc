"""AdamW with per-parameter-group lr multipliers, and the learning rate as a plain function of step.

The schedule is a pure function (``lr_at_step``) instead of a ``torch.optim.lr_scheduler`` object, so
resuming needs only the step, and the curve can be plotted or tested without an optimiser.
"""

from __future__ import annotations

import fnmatch
import math

import torch
from torch import nn

from gmgclim.config import TrainingConfig
from gmgclim.errors import RecipeError

__all__ = ["build_optimizer", "lr_at_step", "set_lr"]

# One-cycle starts at lr / ONECYCLE_DIV (torch's OneCycleLR default div_factor).
ONECYCLE_DIV = 25.0


def lr_at_step(
    step: int,
    *,
    base_lr: float,
    schedule: str,
    warmup_steps: int,
    total_steps: int,
    min_lr_ratio: float = 0.0,
) -> float:
    """Learning rate for optimiser step ``step`` (0-based).

    Parameters
    ----------
    step : int
        Optimiser step about to be taken.
    base_lr : float
        Peak learning rate.
    schedule : {"constant", "cosine", "onecycle"}
        ``constant``: linear warm-up from ``base_lr / warmup_steps`` to ``base_lr``, then flat.
        ``cosine``: the same warm-up, then half a cosine from ``base_lr`` down to
        ``min_lr_ratio * base_lr`` at ``total_steps``.
        ``onecycle``: half a cosine up from ``base_lr / 25`` to ``base_lr`` over ``warmup_steps``
        (30 % of the run when 0), then half a cosine down to ``min_lr_ratio * base_lr``.
    warmup_steps : int
        Length of the rising phase in steps.
    total_steps : int
        Planned run length in steps (the cosine reaches its floor there and stays).
    min_lr_ratio : float
        Floor of the decay as a fraction of ``base_lr``.

    Returns
    -------
    float
    """
    total_steps = max(int(total_steps), 1)
    floor = min_lr_ratio * base_lr
    if schedule == "onecycle":
        rise = warmup_steps if warmup_steps > 0 else max(1, int(0.3 * total_steps))
        start = base_lr / ONECYCLE_DIV
        if step < rise:
            return start + (base_lr - start) * (1 - math.cos(math.pi * step / rise)) / 2
        fall = max(total_steps - rise, 1)
        progress = min((step - rise) / fall, 1.0)
        return floor + (base_lr - floor) * (1 + math.cos(math.pi * progress)) / 2
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return base_lr
    if schedule == "cosine":
        decay = max(total_steps - warmup_steps, 1)
        progress = min((step - warmup_steps) / decay, 1.0)
        return floor + (base_lr - floor) * (1 + math.cos(math.pi * progress)) / 2
    raise ValueError(f"schedule must be constant, cosine or onecycle, got {schedule!r}")


def build_optimizer(
    model: nn.Module, config: TrainingConfig, source: str | None = None
) -> torch.optim.AdamW:
    """AdamW over the model's parameters in groups by lr multiplier and weight decay.

    Parameters of one or fewer dimensions (biases, norms, scalars) get no weight decay. A parameter's
    lr multiplier is that of the first ``config.lr_multipliers`` pattern (``fnmatch`` on its name, as in
    ``model.named_parameters()``) that matches, else 1. Each group stores its ``lr_multiplier``;
    :func:`set_lr` sets ``group["lr"] = lr * lr_multiplier``.

    Parameters
    ----------
    model : nn.Module
        The bare model (not the DDP wrapper, so names carry no ``module.`` prefix).
    config : TrainingConfig
    source : str, optional
        Recipe file, for messages.

    Returns
    -------
    torch.optim.AdamW

    Raises
    ------
    RecipeError
        A pattern in ``training.lr_multipliers`` matches no parameter (most likely a typo).
    """
    patterns = list(config.lr_multipliers.items())
    used: set[str] = set()
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        multiplier = 1.0
        for pattern, value in patterns:
            if fnmatch.fnmatchcase(name, pattern):
                multiplier = float(value)
                used.add(pattern)
                break
        decay = param.ndim >= 2
        groups.setdefault((multiplier, decay), []).append(param)
    unused = [p for p, _ in patterns if p not in used]
    if unused:
        names = [n for n, _ in model.named_parameters()][:8]
        raise RecipeError(
            f"{source or '<recipe>'}: training.lr_multipliers patterns {unused} match no parameter",
            hint=f"parameter names look like {names}",
        )
    param_groups = [
        {
            "params": params,
            "lr_multiplier": multiplier,
            "weight_decay": config.optimizer.weight_decay if decay else 0.0,
            "lr": config.lr * multiplier,
        }
        for (multiplier, decay), params in sorted(groups.items())
    ]
    return torch.optim.AdamW(
        param_groups,
        lr=config.lr,
        betas=(config.optimizer.betas[0], config.optimizer.betas[1]),
        eps=config.optimizer.eps,
    )


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's lr to ``lr`` times its ``lr_multiplier`` (1 when absent)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_multiplier", 1.0)
