"""Learning-rate schedules and AdamW parameter groups."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from gmgclim.config import TrainingConfig
from gmgclim.errors import RecipeError
from gmgclim.training.optim import build_optimizer, lr_at_step, set_lr


def _lr(step, schedule, warmup=10, total=110, floor=0.0):
    return lr_at_step(
        step,
        base_lr=1.0,
        schedule=schedule,
        warmup_steps=warmup,
        total_steps=total,
        min_lr_ratio=floor,
    )


def test_warmup_is_linear_and_reaches_base():
    for schedule in ("constant", "cosine"):
        assert _lr(0, schedule) == pytest.approx(0.1)
        assert _lr(4, schedule) == pytest.approx(0.5)
        assert _lr(10, schedule) == pytest.approx(1.0)
    assert _lr(100, "constant") == 1.0


def test_cosine_decays_to_floor():
    # halfway through the decay, cos(pi/2) = 0 -> midway between base and floor
    assert _lr(60, "cosine") == pytest.approx(0.5)
    assert _lr(60, "cosine", floor=0.2) == pytest.approx(0.6)
    assert _lr(110, "cosine", floor=0.2) == pytest.approx(0.2)
    assert _lr(500, "cosine") == pytest.approx(0.0)
    values = [_lr(s, "cosine") for s in range(10, 111)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_onecycle_rises_then_falls():
    assert _lr(0, "onecycle") == pytest.approx(1 / 25)
    assert _lr(5, "onecycle") == pytest.approx(1 / 25 + (1 - 1 / 25) / 2)
    assert _lr(10, "onecycle") == pytest.approx(1.0)
    assert _lr(110, "onecycle") == pytest.approx(0.0, abs=1e-12)
    # no warm-up given: 30 % of the run rises
    assert _lr(30, "onecycle", warmup=0, total=100) == pytest.approx(1.0)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="schedule must be"):
        _lr(0, "linear", warmup=0)


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Conv2d(1, 2, 3)
        self.head = nn.Linear(2, 1)


def _config(**kw) -> TrainingConfig:
    return TrainingConfig(max_steps=10, batch_size=1, lr=0.01, **kw)


def test_param_groups_multipliers_and_decay():
    model = _Tiny()
    optimizer = build_optimizer(model, _config(lr_multipliers={"head.*": 0.1}))
    groups = {(g["lr_multiplier"], g["weight_decay"]): g for g in optimizer.param_groups}
    assert set(groups) == {(0.1, 0.01), (0.1, 0.0), (1.0, 0.01), (1.0, 0.0)}
    assert groups[(0.1, 0.01)]["params"][0] is model.head.weight
    assert groups[(1.0, 0.0)]["params"][0] is model.encoder.bias
    set_lr(optimizer, 2.0)
    assert sorted(g["lr"] for g in optimizer.param_groups) == [0.2, 0.2, 2.0, 2.0]
    n_params = sum(len(g["params"]) for g in optimizer.param_groups)
    assert n_params == len(list(model.parameters()))


def test_first_matching_pattern_wins():
    optimizer = build_optimizer(
        _Tiny(), _config(lr_multipliers={"head.weight": 3.0, "head.*": 0.5})
    )
    mults = sorted(g["lr_multiplier"] for g in optimizer.param_groups)
    assert mults == [0.5, 1.0, 1.0, 3.0]


def test_unused_pattern_is_an_error():
    with pytest.raises(RecipeError, match=r"decoder\.\*"):
        build_optimizer(_Tiny(), _config(lr_multipliers={"decoder.*": 0.1}), source="r.yaml")


def test_optimizer_trains():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = build_optimizer(model, _config())
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    before = nn.functional.mse_loss(model(x), y).item()
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    assert nn.functional.mse_loss(model(x), y).item() < before
    assert math.isfinite(before)
