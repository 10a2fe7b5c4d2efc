"""Scheduled sampling schedules and masks are pure functions of the step."""

from __future__ import annotations

import math

import pytest
import torch

from gmgclim.config import ScheduledSamplingConfig
from gmgclim.training.sampling import reverse_etas, standard_eta, teacher_forcing_mask

SHAPE = {"input_steps": 4, "output_steps": 6, "height": 5, "width": 7}


def test_standard_eta_falls_linearly_to_zero():
    cfg = ScheduledSamplingConfig(kind="standard", eta_start=1.0, stop_step=50_000)
    # PredRNN: eta = 1 - 2e-5 * step
    assert standard_eta(0, cfg) == 1.0
    assert standard_eta(25_000, cfg) == pytest.approx(0.5)
    assert standard_eta(50_000, cfg) == 0.0
    assert standard_eta(90_000, cfg) == 0.0


def test_reverse_etas():
    cfg = ScheduledSamplingConfig(
        kind="reverse", reverse_start_step=100, stop_step=300, reverse_alpha=50.0
    )
    assert reverse_etas(0, cfg) == (0.5, 0.5)
    input_eta, output_eta = reverse_etas(150, cfg)
    assert input_eta == pytest.approx(1 - 0.5 * math.exp(-1.0))
    assert output_eta == pytest.approx(0.5 - 0.5 * 50 / 200)
    assert reverse_etas(300, cfg) == (1.0, 0.0)


def test_none_gives_no_mask():
    assert teacher_forcing_mask(3, ScheduledSamplingConfig(), global_batch_size=4, **SHAPE) is None


def test_standard_mask_shape_values_and_rate():
    cfg = ScheduledSamplingConfig(kind="standard", eta_start=1.0, stop_step=100)
    mask = teacher_forcing_mask(0, cfg, global_batch_size=3, **SHAPE)
    assert mask.shape == (3, 5, 1, 5, 7)
    assert torch.all(mask == 1.0)  # eta = 1: always the true frame
    assert torch.all(teacher_forcing_mask(100, cfg, global_batch_size=3, **SHAPE) == 0.0)
    half = teacher_forcing_mask(50, cfg, global_batch_size=2000, **SHAPE)
    # one draw per sample and frame, constant over the grid
    assert torch.all(half == half[..., :1, :1])
    assert half.mean().item() == pytest.approx(0.5, abs=0.03)


def test_reverse_mask_covers_input_and_output_frames():
    cfg = ScheduledSamplingConfig(kind="reverse", reverse_start_step=10, stop_step=20)
    mask = teacher_forcing_mask(25, cfg, global_batch_size=2, **SHAPE)
    assert mask.shape == (2, 4 + 6 - 2, 1, 5, 7)
    assert torch.all(mask[:, :3] == 1.0)  # past stop: inputs always true
    assert torch.all(mask[:, 3:] == 0.0)  # ... forecasts always own predictions


def test_mask_is_pure_and_independent_of_world_size():
    cfg = ScheduledSamplingConfig(kind="standard", eta_start=1.0, stop_step=10)
    full = teacher_forcing_mask(5, cfg, global_batch_size=8, seed=3, **SHAPE)
    again = teacher_forcing_mask(5, cfg, global_batch_size=8, seed=3, **SHAPE)
    assert torch.equal(full, again)
    assert not torch.equal(full, teacher_forcing_mask(6, cfg, global_batch_size=8, seed=3, **SHAPE))
    parts = [
        teacher_forcing_mask(5, cfg, global_batch_size=8, seed=3, rank=r, world_size=2, **SHAPE)
        for r in range(2)
    ]
    # DistributedSampler gives rank r the global samples r, r + 2, ...
    assert torch.equal(parts[0], full[0::2])
    assert torch.equal(parts[1], full[1::2])
    with pytest.raises(ValueError, match="not divisible"):
        teacher_forcing_mask(5, cfg, global_batch_size=7, world_size=2, **SHAPE)
