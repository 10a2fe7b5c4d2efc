"""The training loop: one readable function from a recipe to a run directory.

``train(recipe)`` runs the same code in one process or under ``torchrun``:

1. process setup (:mod:`gmgclim.distributed`): ranks, device, threads, process group;
2. data (:mod:`~gmgclim.training.task_data`): the typed ``Task`` -> its data on its grid -> sample
   windows per split -> train-split normalisation statistics (cached in the run directory) ->
   ``WindowDataset`` -> ``DataLoader`` with a resumable ``DistributedSampler``;
3. model from the registry with its data-derived fields filled in, wrapped in DDP when distributed;
4. AdamW with lr as a function of step, gradient clipping, optional bf16 autocast, scheduled sampling;
5. validation every ``validate_every`` steps (or each epoch): latitude-weighted RMSE per lead time and
   channel in physical units, summed over ranks; best checkpoint; early stopping;
6. ``metrics.csv`` / ``metrics.jsonl`` (and TensorBoard when installed,
   :mod:`~gmgclim.training.run_log`) and a rich progress bar (:mod:`gmgclim.progress`), rank 0 only;
7. checkpoints every ``checkpoint_every`` steps, at the end and on SIGTERM/SIGINT
   (:mod:`~gmgclim.training.signals`); a run directory that holds a checkpoint is resumed exactly
   (model, optimiser, step, RNG, position in the epoch: :mod:`~gmgclim.training.state`), and a new
   one that fails before its first checkpoint is removed (:mod:`~gmgclim.training.run_dir`).

Run directory layout::

    recipe.yaml            the validated recipe (with overrides applied)
    normalization.json     train-split statistics (per-channel mean, std; physical units)
    checkpoints/latest.pt  checkpoints/best.pt
    metrics.csv            long format: step, epoch, split, metric, value
    metrics.jsonl          one JSON record per log / validation event
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from gmgclim.config import DATA_DERIVED_MODEL_FIELDS, Recipe, TrainingConfig, load_recipe
from gmgclim.data.task import Task
from gmgclim.distributed import (
    DistInfo,
    all_reduce_max,
    all_reduce_sum,
    barrier,
    cleanup_distributed,
    setup_distributed,
)
from gmgclim.errors import RecipeError
from gmgclim.models.checkpoint import BEST_NAME, CHECKPOINT_DIR, LATEST_NAME, save_checkpoint
from gmgclim.progress import StepProgress
from gmgclim.training.losses import (
    domain_mean_amplitude_error,
    intensity_weights,
    squared_error_sums,
    weighted_mse,
)
from gmgclim.training.optim import build_optimizer, set_lr
from gmgclim.training.precision import resolve_precision
from gmgclim.training.rng import restore_rng_state, seed_everything
from gmgclim.training.run_dir import discard_failed_run, missing_dirs, open_run_dir
from gmgclim.training.run_log import (
    LogWindow,
    MetricsWriter,
    append_run_log,
    log_train,
    log_validation,
)
from gmgclim.training.samplers import ResumableDistributedSampler, ShardSampler
from gmgclim.training.sampling import teacher_forcing_mask
from gmgclim.training.signals import StopSignal, TrainingInterrupted
from gmgclim.training.state import RunPlan, TrainState, make_checkpoint
from gmgclim.training.task_data import TaskData, prepare_task

__all__ = [
    "ResumableDistributedSampler",
    "RunPlan",
    "TaskData",
    "TrainState",
    "TrainingInterrupted",
    "build_model_config",
    "make_checkpoint",
    "prepare_task",
    "train",
    "validate",
]


# ----------------------------------------------------------------------------------------------
# Entry point and the loop
# ----------------------------------------------------------------------------------------------


def train(
    recipe: Recipe | str | Path, overrides: list[str] | None = None, progress: bool = True
) -> Path:
    """Train a model as the recipe says; resume if its run directory holds a checkpoint.

    Parameters
    ----------
    recipe : Recipe, str or Path
        A validated recipe or a recipe file.
    overrides : list of str, optional
        ``key.path=value`` overrides when ``recipe`` is a file.
    progress : bool
        On rank 0, show each data-preparation stage (opening, loading, statistics) and a bar over
        the optimiser steps (:mod:`gmgclim.progress`, rich on stderr).

    Returns
    -------
    Path
        The run directory (``output.dir``).

    Raises
    ------
    TrainingInterrupted
        On SIGTERM/SIGINT, after the checkpoint was written.
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides=overrides)
    info = setup_distributed(recipe.training.device, threads=recipe.training.threads_per_process)
    created = missing_dirs(Path(recipe.output.dir)) if info.is_main else []
    try:
        return _train(recipe, info, progress)
    except BaseException:
        discard_failed_run(created)
        raise
    finally:
        cleanup_distributed()


def _train(recipe: Recipe, info: DistInfo, progress: bool) -> Path:
    t = recipe.training
    run_dir = Path(recipe.output.dir)
    latest_path = run_dir / CHECKPOINT_DIR / LATEST_NAME
    best_path = run_dir / CHECKPOINT_DIR / BEST_NAME
    resume = open_run_dir(recipe, run_dir, info)

    # data, model, optimiser, sampler: the same on every rank and every run of the recipe
    seed_everything(t.seed)
    data = prepare_task(recipe, run_dir, info.is_main, progress=info.is_main and progress)
    model_config = build_model_config(recipe, data.task)
    from gmgclim.models import get_model

    torch.manual_seed(t.seed)  # same initial weights on every rank and every run
    model = get_model(recipe.model.name, model_config).to(info.device)
    # the precision computed in (``auto`` resolved once) and why, for the run log
    precision, precision_reason = resolve_precision(t.precision, info.device)
    _speed_options(recipe, model, run_dir, info, precision_reason)
    optimizer = build_optimizer(model, t, recipe.source)
    sampler = ResumableDistributedSampler(
        data.train_set, info.world_size, info.rank, shuffle=True, seed=t.seed
    )
    plan = RunPlan.create(
        recipe, info, model_config, sampler.num_samples, len(data.train_set), precision
    )
    state = TrainState()
    if resume is not None:
        model.load_state_dict(resume.model_state)
        optimizer.load_state_dict(resume.optimizer_state)
        state = TrainState.from_checkpoint(resume, info.world_size)
        # Only rank 0 writes checkpoints; the other ranks draw nothing random that is not seeded
        # by (seed, step) or (seed, epoch), so rank 0's states serve them too.
        restore_rng_state(resume.rng_state.get("rank0", {}))
    ddp_model: nn.Module = model
    if info.distributed:
        ddp_model = DistributedDataParallel(
            model, device_ids=[info.local_rank] if info.device.type == "cuda" else None
        )

    writer = MetricsWriter(run_dir, state.step, recipe.output.tensorboard) if info.is_main else None
    bar = StepProgress(plan.total_steps, state.step, "train", enabled=info.is_main and progress)

    ddp_model.train()
    window = LogWindow()
    batches: Iterator[dict[str, torch.Tensor]] | None = None
    stopped_early = False
    with StopSignal() as stop:
        while state.step < plan.total_steps and not stopped_early:
            if batches is None:  # a new epoch, or the rest of an interrupted one
                batches = _epoch_batches(data, sampler, state, t.batch_size, t.num_workers, info)
            tick = time.perf_counter()
            batch = _to_device(next(batches), info.device)
            data_wait = time.perf_counter() - tick

            lr = plan.lr(state.step)
            set_lr(optimizer, lr)
            loss = training_loss(ddp_model, batch, data, plan, state.step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = None
            if t.grad_clip is not None:
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            optimizer.step()

            state.step += 1
            state.batch_in_epoch += 1
            window.add(loss.item(), data_wait, time.perf_counter() - tick, plan.global_batch)
            end_of_epoch = state.batch_in_epoch >= plan.steps_per_epoch
            if end_of_epoch:
                state.epoch += 1
                state.batch_in_epoch = 0
                batches = None

            if state.step % t.log_every == 0 or state.step == plan.total_steps:
                log_train(writer, bar, info.device, state, window, lr, grad_norm)
                window = LogWindow()
            bar.advance()

            if _validation_due(t, state.step, end_of_epoch, plan.total_steps):
                bar.describe("validate")
                valid_loss, rmse = validate(
                    model, data, info, t.batch_size, t.validate_batches, precision
                )
                bar.describe("train")
                improved = state.record_validation(valid_loss)
                log_validation(writer, bar, data.task, state, valid_loss, rmse, improved)
                if improved:
                    _save(best_path, plan, data, model, optimizer, state)
                patience = t.early_stopping_patience
                stopped_early = patience is not None and state.bad_validations >= patience

            flag = all_reduce_max(torch.tensor([stop.signal_number], device=info.device))
            signal_number = int(flag.item())
            done = state.step >= plan.total_steps or stopped_early
            if state.step % t.checkpoint_every == 0 or done or signal_number:
                _save(latest_path, plan, data, model, optimizer, state)
            if signal_number:
                _close(bar, writer)
                raise TrainingInterrupted(signal_number, run_dir, state.step)
    _close(bar, writer)
    if info.is_main and stopped_early:
        print(
            f"early stopping at step {state.step}: no improvement in {state.bad_validations} "
            "validations",
            file=sys.stderr,
        )
    return run_dir


def _epoch_batches(
    data: TaskData,
    sampler: ResumableDistributedSampler,
    state: TrainState,
    batch_size: int,
    num_workers: int,
    info: DistInfo,
) -> Iterator[dict[str, torch.Tensor]]:
    """The batches left in the current epoch (its order is a function of seed and epoch)."""
    sampler.set_position(state.epoch, state.batch_in_epoch * batch_size)
    data.train_set.set_epoch(state.epoch)  # fresh random crops each epoch, drawn from the seed
    loader_kwargs: dict[str, Any] = {
        "num_workers": num_workers,
        "pin_memory": info.device.type == "cuda",
    }
    if num_workers > 0:
        loader_kwargs["prefetch_factor"] = 4
    loader = DataLoader(
        data.train_set, batch_size=batch_size, sampler=sampler, drop_last=True, **loader_kwargs
    )
    return iter(loader)


def _save(
    path: Path,
    plan: RunPlan,
    data: TaskData,
    model: nn.Module,
    optimizer: Any,
    state: TrainState,
) -> None:
    """Rank 0 writes the checkpoint (atomically); every rank waits for it."""
    if plan.info.is_main:
        save_checkpoint(path, make_checkpoint(plan, data, model, optimizer, state))
    barrier()


# ----------------------------------------------------------------------------------------------
# One training step's loss, and validation
# ----------------------------------------------------------------------------------------------


def training_loss(
    model: nn.Module, batch: dict[str, torch.Tensor], data: TaskData, plan: RunPlan, step: int
) -> torch.Tensor:
    """Loss of one batch, with scheduled sampling (teacher forcing) as of optimiser step ``step``.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(inputs, targets, mask, context=...)``; returns
        (B, T_in + T_out - 1, C, H, W).
    batch : dict of str to torch.Tensor
        ``inputs`` (B, T_in, C, H, W), ``targets`` (B, T_out, C, H, W), normalised; ``mask``
        (B, T_out, C, H, W) bool where targets are valid, when the loss is NaN-masked.
    data, plan : TaskData, RunPlan
    step : int
        Optimiser steps done (seeds the teacher-forcing mask with the rank).

    Returns
    -------
    torch.Tensor
        Scalar weighted MSE, normalised units, float32.
    """
    t, task, info = plan.recipe.training, data.task, plan.info
    inputs, targets = batch["inputs"], batch["targets"]
    height, width = inputs.shape[-2:]  # the grid, or the random crop of this batch
    mask = teacher_forcing_mask(
        step,
        t.scheduled_sampling,
        global_batch_size=plan.global_batch,
        input_steps=task.input_steps,
        output_steps=task.output_steps,
        height=int(height),
        width=int(width),
        seed=t.seed,
        rank=info.rank,
        world_size=info.world_size,
    )
    if mask is not None:
        mask = mask.to(info.device)
    with _autocast(info.device, plan.precision):
        predictions = model(inputs, targets, mask, **_model_keywords(batch))
    if t.loss.frames == "forecast":
        predictions, truth = predictions[:, -task.output_steps :], targets
    else:
        truth = torch.cat([inputs[:, 1:], targets], dim=1)
    # NaN/inf targets are masked, never scored as their fill (any loss.nan_masked setting)
    valid = batch.get("mask")
    if valid is not None and t.loss.frames != "forecast":
        valid = torch.cat([batch["input_mask"][:, 1:], valid], dim=1)
    row_weights = data.row_weights if t.loss.latitude_weighted else None
    if row_weights is not None and "rows" in batch:
        row_weights = row_weights.to(batch["rows"].device)[batch["rows"]]  # (B, h) of each crop
    cell_weights = None
    if data.event_levels is not None:
        assert t.loss.event_weights is not None  # the levels are made from them
        cell_weights = intensity_weights(truth, data.event_levels, t.loss.event_weights.weights)
    loss = weighted_mse(predictions.float(), truth, row_weights, valid, cell_weights)
    if t.loss.amplitude_weight > 0:
        amplitude = domain_mean_amplitude_error(predictions.float(), truth, row_weights, valid)
        loss = loss + t.loss.amplitude_weight * amplitude
    return loss


def validate(
    model: nn.Module,
    data: TaskData,
    info: DistInfo,
    batch_size: int,
    max_batches: int | None = None,
    precision: str = "fp32",
) -> tuple[float, np.ndarray]:
    """Validation loss and latitude-weighted RMSE per lead time and channel.

    Every process scores its shard of the validation windows; error and weight sums are added over
    processes before the square root, so the result does not depend on the number of processes.

    Parameters
    ----------
    model : nn.Module
        The bare model; called as ``model(inputs)`` -> (B, T_out, C, H, W), normalised.
    data : TaskData
        ``valid_set``, ``row_weights`` (H,) and ``std`` (C,) are used.
    info : DistInfo
    batch_size : int
        Windows per forward pass on each process.
    max_batches : int, optional
        Score at most ``max_batches * batch_size`` windows per process.
    precision : {"fp32", "bf16", "auto"}
        bf16 runs the forward pass under autocast (``auto``: where the hardware has native bf16).

    Returns
    -------
    loss : float
        Normalised MSE of the forecast frames, mean over lead times and channels.
    rmse : np.ndarray
        (T_out, C) RMSE in physical units, mean over windows and grid before the square root
        (WeatherBench 1 order).
    """
    limit = None if max_batches is None else max_batches * batch_size
    sampler = ShardSampler(len(data.valid_set), info.rank, info.world_size, limit)
    loader = DataLoader(data.valid_set, batch_size=batch_size, sampler=sampler, num_workers=0)
    err = torch.zeros(data.task.output_steps, len(data.task.channels), dtype=torch.float64)
    wsum = torch.zeros_like(err)
    precision = resolve_precision(precision, info.device)[0]  # once; fp32/bf16 pass through
    model.eval()
    with torch.no_grad():
        for batch in loader:
            batch = _to_device(batch, info.device)
            with _autocast(info.device, precision):
                forecast = model(batch["inputs"], **_model_keywords(batch))
            e, w = squared_error_sums(
                forecast.float(), batch["targets"], data.row_weights, batch.get("mask")
            )
            err += e.cpu()
            wsum += w.cpu()
    model.train()
    sums = all_reduce_sum(torch.stack([err, wsum]).to(info.device)).cpu()
    err, wsum = sums[0], sums[1]
    mse = (err / wsum.clamp_min(1e-300)).numpy()
    rmse_physical = np.sqrt(mse) * data.std[None, :]
    return float(mse.mean()), rmse_physical


def _validation_due(t: TrainingConfig, step: int, end_of_epoch: bool, total_steps: int) -> bool:
    """Every ``validate_every`` steps (else at the end of each epoch), and after the last step."""
    if t.validate_every is not None:
        due = step % t.validate_every == 0
    else:
        due = end_of_epoch
    return due or step == total_steps  # always score the final weights


def _autocast(device: torch.device, precision: str) -> Any:
    """bf16 autocast when the resolved ``precision`` is ``bf16``, else a no-op."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def _speed_options(
    recipe: Recipe, model: nn.Module, run_dir: Path, info: DistInfo, precision_reason: str
) -> None:
    """Apply ``activation_checkpointing`` and ``compile``; log the precision used and why.

    ``precision_reason`` is the line of :func:`gmgclim.training.precision.resolve_precision`.

    Raises
    ------
    RecipeError
        ``activation_checkpointing`` for a model that does not support it.
    """
    t = recipe.training
    if t.activation_checkpointing:
        if not getattr(model, "supports_activation_checkpointing", False):
            raise RecipeError(
                f"{recipe.source}: training.activation_checkpointing is not supported by model "
                f"{recipe.model.name!r}",
                hint="set training.activation_checkpointing: false (GMG supports it)",
            )
        setattr(model, "activation_checkpointing", True)  # noqa: B010 (nn.Module attribute)
    if t.compile:
        compile_layers = getattr(model, "compile_cells", None)
        if compile_layers is not None:
            compile_layers()
        else:
            model.compile()
    if info.is_main:
        print(precision_reason, file=sys.stderr)
        append_run_log(run_dir, precision_reason)


def _model_keywords(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Model keywords of a batch: ``context`` (B, T_in + T_out, K, H, W) of the forcings/statics
    and ``baseline`` (B, T_out, C, H, W) of an extrapolation residual, when the task has them."""
    return {k: batch[k] for k in ("context", "baseline") if k in batch}


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items() if torch.is_tensor(v)}


def _close(bar: StepProgress, writer: MetricsWriter | None) -> None:
    bar.close()
    if writer is not None:
        writer.close()


# ----------------------------------------------------------------------------------------------
# Model config and resume checks
# ----------------------------------------------------------------------------------------------


def build_model_config(recipe: Recipe, task: Task) -> dict[str, Any]:
    """The model's config dict: ``model.config`` plus the fields that come from the data.

    Parameters
    ----------
    recipe : Recipe
    task : Task
        With its grid filled in (height, width).

    Returns
    -------
    dict
        ``config_from_dict(name, ...).to_dict()`` of the registry model.

    Raises
    ------
    RecipeError
        ``model.config`` does not fit the model on the task's grid.
    """
    from gmgclim.models import config_from_dict

    values = dict(recipe.model.config)
    # a crop-trained model is built for its crops (it forecasts any grid afterwards)
    height, width = task.crop if task.crop is not None else (task.height, task.width)
    values.update(
        in_channels=len(task.channels),
        height=height,
        width=width,
        input_steps=task.input_steps,
        output_steps=task.output_steps,
    )
    if task.context_channels:
        values["context_channels"] = task.context_channels
    if task.residual != "none":
        values["residual"] = True
        if task.residual_lag != 1:
            values["residual_lag"] = task.residual_lag
    try:
        config = config_from_dict(recipe.model.name, values)
    except (ValueError, TypeError) as exc:
        derived = ", ".join(DATA_DERIVED_MODEL_FIELDS)
        raise RecipeError(
            f"{recipe.source}: model.config does not fit model {recipe.model.name!r} on a "
            f"{task.height} x {task.width} grid: {exc}",
            hint=f"{derived} come from the data section; the rest are the model's own options",
        ) from None
    return config.to_dict()
