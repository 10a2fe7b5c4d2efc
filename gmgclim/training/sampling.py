"""Scheduled sampling and reverse scheduled sampling as pure functions of the optimiser step.

The GMG rollout (see ``gmgclim.models``) mixes, frame by frame, the true frame and the model's previous
prediction: ``mask * true + (1 - mask) * prediction``. A mask of ones is teacher forcing, zeros is the
free-running rollout used at inference. Two schedules decide how often the true frame is used:

- ``standard`` (PredRNN, Wang et al. 2017): on the T_out - 1 forecast frames that are fed back, the
  chance ``eta`` of the true frame falls linearly from ``eta_start`` at step 0 to 0 at ``stop_step``.
  Mask shape (B, T_out - 1, 1, H, W).
- ``reverse`` (PredRNN-V2, Wang et al. 2022): over all T_in + T_out - 2 fed-back frames; on the input
  frames 1 .. T_in - 1 the chance of the true frame rises from 0.5 to 1 (exponential approach with time
  constant ``reverse_alpha`` after ``reverse_start_step``), on the forecast frames it falls linearly
  from 0.5 to 0 between ``reverse_start_step`` and ``stop_step``. Mask shape
  (B, T_in + T_out - 2, 1, H, W). The model learns to forecast from its own predictions early, and to
  use the true inputs when they are given late in training.

A frame is either true or predicted as a whole (one draw per sample and frame, broadcast over C, H, W).
The draws come from a generator seeded by ``(seed, step)`` for the *global* batch, and each process
takes its rows: the masks do not depend on the number of processes, so one process with batch 2b and
two with batch b see the same masks, and a resumed run draws what the uninterrupted run drew.
"""

from __future__ import annotations

import math

import torch

from gmgclim.config import ScheduledSamplingConfig

__all__ = ["reverse_etas", "standard_eta", "teacher_forcing_mask"]


def standard_eta(step: int, config: ScheduledSamplingConfig) -> float:
    """Chance of feeding the true frame at ``step`` for standard scheduled sampling.

    Parameters
    ----------
    step : int
        Optimiser step (0-based).
    config : ScheduledSamplingConfig
        Its ``eta_start`` and ``stop_step``.

    Returns
    -------
    float
        ``eta_start * (1 - step / stop_step)``, clipped at 0.
    """
    return max(0.0, config.eta_start * (1.0 - step / config.stop_step))


def reverse_etas(step: int, config: ScheduledSamplingConfig) -> tuple[float, float]:
    """Chances of the true frame on input and on forecast frames for reverse scheduled sampling.

    Parameters
    ----------
    step : int
        Optimiser step (0-based).
    config : ScheduledSamplingConfig
        Its ``reverse_start_step``, ``reverse_alpha`` and ``stop_step``.

    Returns
    -------
    input_eta : float
        0.5 before ``reverse_start_step``, then ``1 - 0.5 exp(-(step - start) / reverse_alpha)``, 1 from
        ``stop_step`` on.
    output_eta : float
        0.5 before ``reverse_start_step``, falling linearly to 0 at ``stop_step``.
    """
    start, stop = config.reverse_start_step, config.stop_step
    if step < start:
        return 0.5, 0.5
    if step < stop:
        input_eta = 1.0 - 0.5 * math.exp(-(step - start) / config.reverse_alpha)
        output_eta = 0.5 - 0.5 * (step - start) / (stop - start)
        return input_eta, output_eta
    return 1.0, 0.0


def _generator(seed: int, step: int) -> torch.Generator:
    # A fixed odd multiplier keeps (seed, step) pairs apart; the result fits in 63 bits.
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + 12345) % (2**63 - 1))


def teacher_forcing_mask(
    step: int,
    config: ScheduledSamplingConfig,
    *,
    global_batch_size: int,
    input_steps: int,
    output_steps: int,
    height: int,
    width: int,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> torch.Tensor | None:
    """The teacher-forcing mask for this process's share of the global batch at ``step``.

    Parameters
    ----------
    step : int
        Optimiser step (0-based).
    config : ScheduledSamplingConfig
        ``kind`` none, standard or reverse.
    global_batch_size : int
        Samples in the step over all processes (batch per process x processes).
    input_steps, output_steps : int
        T_in and T_out.
    height, width : int
        Grid size H, W of the frames the model sees.
    seed : int
        Recipe seed.
    rank, world_size : int
        This process takes global rows ``rank::world_size`` (the order of DistributedSampler).

    Returns
    -------
    torch.Tensor or None
        float32 of shape (B, T_out - 1, 1, H, W) (standard) or (B, T_in + T_out - 2, 1, H, W)
        (reverse), values 0 or 1, with B = global_batch_size / world_size; None for ``kind: none``
        (the model then feeds on its own predictions, as at inference).
    """
    if config.kind == "none":
        return None
    if global_batch_size % world_size:
        raise ValueError(
            f"global batch {global_batch_size} is not divisible by world size {world_size}"
        )
    generator = _generator(seed, step)
    if config.kind == "standard":
        draws = torch.rand(global_batch_size, output_steps - 1, generator=generator)
        frames = (draws < standard_eta(step, config)).float()
    elif config.kind == "reverse":
        input_eta, output_eta = reverse_etas(step, config)
        draws = torch.rand(global_batch_size, input_steps + output_steps - 2, generator=generator)
        thresholds = torch.cat(
            [torch.full((input_steps - 1,), input_eta), torch.full((output_steps - 1,), output_eta)]
        )
        frames = (draws < thresholds).float()
    else:
        raise ValueError(
            f"scheduled_sampling.kind must be none, standard or reverse: {config.kind}"
        )
    local = frames[rank::world_size]
    return local[:, :, None, None, None].expand(-1, -1, 1, height, width).contiguous()
