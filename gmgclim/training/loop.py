"""The training loop: one readable function from a recipe to a run directory.

``train(recipe)`` runs the same code in one process or under ``torchrun``:

1. process setup (:mod:`gmgclim.distributed`): ranks, device, threads, process group;
2. data: catalog entry -> channels and grid -> sample windows per split -> normalisation statistics
   of the train split (cached in the run directory) -> ``WindowDataset`` -> ``DataLoader`` with a
   resumable ``DistributedSampler``;
3. model from the registry with its data-derived fields filled in, wrapped in DDP when distributed;
4. AdamW with lr as a function of step, gradient clipping, optional bf16 autocast, scheduled sampling;
5. validation every ``validate_every`` steps (or each epoch): latitude-weighted RMSE per lead time and
   channel in physical units, summed over ranks; best checkpoint; early stopping;
6. ``metrics.csv`` / ``metrics.jsonl`` (and TensorBoard when installed) and a progress bar, rank 0 only;
7. checkpoints every ``checkpoint_every`` steps, at the end and on SIGTERM/SIGINT; a run directory
   that holds a checkpoint is resumed exactly (model, optimiser, step, RNG, position in the epoch).

Run directory layout::

    recipe.yaml            the validated recipe (with overrides applied)
    normalization.json     train-split statistics (per-channel mean, std; physical units)
    checkpoints/latest.pt  checkpoints/best.pt
    metrics.csv            long format: step, epoch, split, metric, value
    metrics.jsonl          one JSON record per log / validation event
"""

from __future__ import annotations

import csv
import json
import math
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from gmgclim import __version__
from gmgclim.config import DATA_DERIVED_MODEL_FIELDS, Recipe, load_recipe
from gmgclim.errors import DataError, GmgclimError, RecipeError
from gmgclim.data.task import open_task_data
from gmgclim.models.checkpoint import (
    BEST_NAME,
    CHECKPOINT_DIR,
    LATEST_NAME,
    Checkpoint,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from gmgclim.training.rng import capture_rng_state, restore_rng_state
from gmgclim.distributed import (
    DistInfo,
    all_reduce_max,
    all_reduce_sum,
    barrier,
    cleanup_distributed,
    setup_distributed,
)
from gmgclim.training.losses import squared_error_sums, weighted_mse
from gmgclim.training.optim import build_optimizer, lr_at_step, set_lr
from gmgclim.training.sampling import teacher_forcing_mask

__all__ = ["ResumableDistributedSampler", "TrainingInterrupted", "prepare_task", "train"]

STATS_NAME = "normalization.json"
#: Data smaller than this is loaded into memory when ``data.in_memory`` is not set.
IN_MEMORY_BYTES = 2**30


class TrainingInterrupted(GmgclimError):
    """SIGTERM/SIGINT stopped training after a checkpoint was written; rerun to resume.

    Attributes
    ----------
    signal_number : int
        The signal received; the CLI exits with ``128 + signal_number``.
    run_dir : Path
    step : int
    """

    def __init__(self, signal_number: int, run_dir: Path, step: int):
        name = signal.Signals(signal_number).name
        super().__init__(
            f"training stopped by {name} at step {step}; checkpoint written to {run_dir}",
            hint="run the same command again to resume from the checkpoint",
        )
        self.signal_number = signal_number
        self.run_dir = run_dir
        self.step = step


class ResumableDistributedSampler(DistributedSampler):
    """``DistributedSampler`` that can start part-way through an epoch (for exact resume).

    The order of an epoch is a function of (seed, epoch) only, so skipping the first ``start``
    samples of this rank's share reproduces what an uninterrupted run would draw next.
    """

    def __init__(self, dataset: Any, num_replicas: int, rank: int, shuffle: bool, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Draw the order of ``epoch`` and skip this rank's first ``start`` samples."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start


class _ShardSampler(Sampler[int]):
    """Every ``world_size``-th sample from ``rank``, in order, without padding (validation)."""

    def __init__(self, n: int, rank: int, world_size: int, limit: int | None = None):
        self.indices = list(range(rank, n, world_size))[:limit]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class TaskData:
    """Everything the loop needs from the data side.

    Attributes
    ----------
    task : dict
        The checkpoint's ``task`` (entry, channels, steps, grid, splits, spatial dims, shape).
    train_set, valid_set : torch.utils.data.Dataset
        ``WindowDataset`` of each split.
    stats : NormalizationStats
    std : np.ndarray
        (C,) per-channel std in physical units (RMSE conversion).
    row_weights : torch.Tensor or None
        (H,) ``cos(latitude)`` weights with mean 1 for gridded data, None for radar grids.
    """

    task: dict[str, Any]
    train_set: Any
    valid_set: Any
    stats: Any
    std: np.ndarray
    row_weights: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _spatial_dims(da: Any) -> tuple[str, str]:
    dims = tuple(da.dims)
    for pair in (("latitude", "longitude"), ("y", "x")):
        if set(pair) <= set(dims):
            return pair
    raise DataError(f"cannot find spatial dims (latitude, longitude) or (y, x) in {dims}")


def _load_or_compute_stats(recipe: Recipe, ds: Any, run_dir: Path | None, is_main: bool) -> Any:
    """Train-split normalisation statistics: from ``data.stats`` or the run's cache, else computed."""
    from gmgclim.data.normalization import NormalizationStats, compute_stats

    candidates = []
    if recipe.data.stats:
        candidates.append(Path(recipe.data.stats))
    if run_dir is not None:
        candidates.append(run_dir / STATS_NAME)
    for path in candidates:
        if path.is_file():
            stats = NormalizationStats.from_dict(json.loads(path.read_text()))
            if list(stats.channels) != list(recipe.data.channels):
                raise RecipeError(
                    f"{recipe.source}: statistics in {path} are for channels {list(stats.channels)}, "
                    f"not data.channels {recipe.data.channels}"
                )
            return stats
    train = recipe.data.splits.train
    stats = compute_stats(ds, recipe.data.channels, slice(train.start, train.end))
    if is_main:
        for path in candidates:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stats.to_dict(), indent=2))
    return stats


def prepare_task(recipe: Recipe, run_dir: Path | None = None, is_main: bool = True) -> TaskData:
    """Open the recipe's data and build the train and valid window datasets.

    Parameters
    ----------
    recipe : Recipe
    run_dir : Path, optional
        Where normalisation statistics are cached (``normalization.json``).
    is_main : bool
        Only the main process writes the cache.

    Returns
    -------
    TaskData
    """
    from gmgclim.data.torch_dataset import WindowDataset, select_channels
    from gmgclim.data.windows import build_windows

    d = recipe.data
    splits = d.splits
    used = [s for s in (splits.train, splits.valid, splits.test) if s is not None]
    first = min(used, key=lambda s: s.start_time).start
    last = max(used, key=lambda s: s.end_time).end
    task: dict[str, Any] = {
        "entry": d.entry,
        "channels": list(d.channels),
        "input_steps": d.input_steps,
        "output_steps": d.output_steps,
        "step": d.step,
        "grid": d.grid.model_dump(mode="json"),
        "splits": splits.model_dump(mode="json"),
        "fill_nan": d.fill_nan,
    }
    ds = open_task_data(task, time=slice(first, last))
    in_memory = d.in_memory if d.in_memory is not None else ds.nbytes < IN_MEMORY_BYTES
    if in_memory:
        ds = ds.load()  # small data: numpy slices instead of a decompressing file read per sample
    field_da = select_channels(ds, d.channels)
    spatial = _spatial_dims(field_da)
    height, width = (int(field_da.sizes[dim]) for dim in spatial)
    task.update(spatial_dims=list(spatial), height=height, width=width)
    if spatial == ("latitude", "longitude"):
        task["latitude"] = [float(v) for v in ds["latitude"].values]
        task["longitude"] = [float(v) for v in ds["longitude"].values]

    times = ds["time"].values
    windows = {}
    for name in ("train", "valid"):
        split = getattr(splits, name)
        windows[name] = build_windows(
            times, d.input_steps, d.output_steps, d.step_timedelta, start=split.start, end=split.end
        )
        if len(windows[name]) == 0:
            raise RecipeError(
                f"{recipe.source}: data.splits.{name} ({split.start}..{split.end}) holds no complete "
                f"window of {d.input_steps} + {d.output_steps} frames {d.step} apart in {d.entry!r}",
                hint="widen the split or shorten data.input_steps / data.output_steps",
            )
    stats = _load_or_compute_stats(recipe, ds, run_dir, is_main)
    return_mask = recipe.training.loss.nan_masked
    datasets = {
        name: WindowDataset(
            ds, d.channels, windows[name], stats, fill_nan=d.fill_nan, return_mask=return_mask
        )
        for name in ("train", "valid")
    }
    row_weights = None
    if "latitude" in task:
        from gmgclim.metrics.weights import latitude_weights_wb1

        row_weights = torch.as_tensor(
            np.asarray(latitude_weights_wb1(np.asarray(task["latitude"])).values),
            dtype=torch.float32,
        )
    std = np.asarray(stats.std, dtype=np.float64)
    return TaskData(
        task=task,
        train_set=datasets["train"],
        valid_set=datasets["valid"],
        stats=stats,
        std=std,
        row_weights=row_weights,
        info={"train_windows": len(windows["train"]), "valid_windows": len(windows["valid"])},
    )


def build_model_config(recipe: Recipe, task: dict[str, Any]) -> dict[str, Any]:
    """The model's config dict: ``model.config`` plus the fields that come from the data."""
    from gmgclim.models import config_from_dict

    values = dict(recipe.model.config)
    values.update(
        in_channels=len(task["channels"]),
        height=task["height"],
        width=task["width"],
        input_steps=task["input_steps"],
        output_steps=task["output_steps"],
    )
    try:
        config = config_from_dict(recipe.model.name, values)
    except (ValueError, TypeError) as exc:
        derived = ", ".join(DATA_DERIVED_MODEL_FIELDS)
        raise RecipeError(
            f"{recipe.source}: model.config does not fit model {recipe.model.name!r} on a "
            f"{task['height']} x {task['width']} grid: {exc}",
            hint=f"{derived} come from the data section; the rest are the model's own options",
        ) from None
    return config.to_dict()


class _MetricsWriter:
    """metrics.csv (long format) and metrics.jsonl, plus TensorBoard when installed; rank 0 only."""

    def __init__(self, run_dir: Path, resume_step: int, tensorboard: bool):
        self.csv_path = run_dir / "metrics.csv"
        self.jsonl_path = run_dir / "metrics.jsonl"
        # Rows written after the checkpoint we resume from would be repeated: drop them.
        if self.csv_path.is_file():
            with open(self.csv_path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
            with open(self.csv_path, "w", newline="") as fh:
                writer = csv.DictWriter(
                    fh, fieldnames=["step", "epoch", "split", "metric", "value"]
                )
                writer.writeheader()
                writer.writerows(rows)
        else:
            self.csv_path.write_text("step,epoch,split,metric,value\n")
        if self.jsonl_path.is_file():
            lines = [
                line
                for line in self.jsonl_path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= resume_step
            ]
            self.jsonl_path.write_text("".join(line + "\n" for line in lines))
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(
                    log_dir=str(run_dir / "tensorboard"), purge_step=resume_step + 1
                )
            except ImportError:  # tensorboard not installed: CSV/JSONL only
                self.tb = None

    def write(self, step: int, epoch: int, split: str, values: dict[str, float]) -> None:
        with open(self.csv_path, "a", newline="") as fh:
            writer = csv.writer(fh)
            for name, value in values.items():
                writer.writerow([step, epoch, split, name, f"{value:.8g}"])
        record = {"step": step, "epoch": epoch, "split": split, **values}
        with open(self.jsonl_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for name, value in values.items():
                self.tb.add_scalar(f"{split}/{name}", value, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class _StopSignal:
    """Remember SIGTERM/SIGINT instead of dying, so the loop can checkpoint first."""

    def __init__(self) -> None:
        self.signal_number = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignal:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_number = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds the legacy global state for third parties)
    torch.manual_seed(seed)


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items() if torch.is_tensor(v)}


def _lead_label(step: np.timedelta64, k: int) -> str:
    minutes = int(step / np.timedelta64(1, "m")) * k
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


def _validate(
    model: nn.Module,
    data: TaskData,
    recipe: Recipe,
    info: DistInfo,
    autocast: Any,
) -> tuple[float, np.ndarray]:
    """Validation loss (normalised MSE of the forecast frames) and RMSE (T_out, C) in physical units.

    Every process scores its shard of the validation windows; error and weight sums are added over
    processes before the square root, so the result does not depend on the number of processes.
    """
    t = recipe.training
    n_channels = len(recipe.data.channels)
    sampler = _ShardSampler(
        len(data.valid_set),
        info.rank,
        info.world_size,
        None if t.validate_batches is None else t.validate_batches * t.batch_size,
    )
    loader = DataLoader(data.valid_set, batch_size=t.batch_size, sampler=sampler, num_workers=0)
    err = torch.zeros(recipe.data.output_steps, n_channels, dtype=torch.float64)
    wsum = torch.zeros_like(err)
    model.eval()
    with torch.no_grad():
        for batch in loader:
            batch = _to_device(batch, info.device)
            with autocast():
                forecast = model(batch["inputs"])
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
        Show a progress bar on rank 0.

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
    try:
        return _train(recipe, info, progress)
    finally:
        cleanup_distributed()


def _train(recipe: Recipe, info: DistInfo, progress: bool) -> Path:
    t = recipe.training
    run_dir = Path(recipe.output.dir)
    latest_path = run_dir / CHECKPOINT_DIR / LATEST_NAME
    best_path = run_dir / CHECKPOINT_DIR / BEST_NAME
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    barrier()

    resume = load_checkpoint(latest_path) if find_checkpoint(run_dir) is not None else None
    if resume is not None:
        _check_resume_compatible(recipe, resume, latest_path)
    if info.is_main:
        (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))

    _seed_everything(t.seed)
    data = prepare_task(recipe, run_dir, info.is_main)
    model_config = build_model_config(recipe, data.task)

    from gmgclim.models import get_model

    torch.manual_seed(t.seed)  # same initial weights on every rank and every run
    model = get_model(recipe.model.name, model_config).to(info.device)
    optimizer = build_optimizer(model, t, recipe.source)

    global_batch = t.batch_size * info.world_size
    sampler = ResumableDistributedSampler(
        data.train_set, info.world_size, info.rank, shuffle=True, seed=t.seed
    )
    steps_per_epoch = sampler.num_samples // t.batch_size
    if steps_per_epoch == 0:
        raise RecipeError(
            f"{recipe.source}: the train split has {len(data.train_set)} windows, fewer than one "
            f"global batch ({t.batch_size} x {info.world_size} processes)",
            hint="lower training.batch_size or widen data.splits.train",
        )
    total_steps = min(
        s for s in (t.max_steps, None if t.epochs is None else t.epochs * steps_per_epoch) if s
    )

    step = epoch = batch_in_epoch = 0
    best_valid = math.inf
    bad_validations = 0
    if resume is not None:
        model.load_state_dict(resume.model_state)
        optimizer.load_state_dict(resume.optimizer_state)
        step, epoch = int(resume.step), int(resume.epoch)
        state = resume.train_state
        batch_in_epoch = int(state.get("batch_in_epoch", 0))
        best_valid = float(state.get("best_valid_loss", math.inf))
        bad_validations = int(state.get("validations_without_improvement", 0))
        if int(state.get("world_size", info.world_size)) != info.world_size and batch_in_epoch:
            warnings.warn(
                f"resuming with {info.world_size} processes a run checkpointed with "
                f"{state.get('world_size')}: the interrupted epoch is restarted",
                stacklevel=2,
            )
            batch_in_epoch = 0
        # Only rank 0 writes checkpoints; the other ranks draw nothing random that is not seeded
        # by (seed, step) or (seed, epoch), so rank 0's states serve them too.
        restore_rng_state(resume.rng_state.get("rank0", {}))

    ddp_model: nn.Module = model
    if info.distributed:
        ddp_model = DistributedDataParallel(
            model, device_ids=[info.local_rank] if info.device.type == "cuda" else None
        )

    use_bf16 = t.precision == "bf16"

    def autocast() -> Any:
        return torch.autocast(info.device.type, dtype=torch.bfloat16, enabled=use_bf16)

    def lr_for(s: int) -> float:
        return lr_at_step(
            s,
            base_lr=t.lr,
            schedule=t.schedule,
            warmup_steps=t.warmup_steps,
            total_steps=total_steps,
            min_lr_ratio=t.min_lr_ratio,
        )

    t_in, t_out = recipe.data.input_steps, recipe.data.output_steps
    height, width = data.task["height"], data.task["width"]
    step_td = recipe.data.step_timedelta

    def make_checkpoint() -> Checkpoint:
        return Checkpoint(
            model_name=recipe.model.name,
            model_config=model_config,
            task=data.task,
            normalization=data.stats.to_dict(),
            model_state={k: v.detach().cpu() for k, v in model.state_dict().items()},
            optimizer_state=optimizer.state_dict(),
            scheduler_state={
                "schedule": t.schedule,
                "base_lr": t.lr,
                "warmup_steps": t.warmup_steps,
                "total_steps": total_steps,
                "min_lr_ratio": t.min_lr_ratio,
                "lr": lr_for(max(step - 1, 0)),
            },
            step=step,
            epoch=epoch,
            rng_state={"rank0": capture_rng_state()},
            gmgclim_version=__version__,
            recipe=recipe.to_dict(),
            train_state={
                "batch_in_epoch": batch_in_epoch,
                "world_size": info.world_size,
                "best_valid_loss": best_valid,
                "validations_without_improvement": bad_validations,
                "samples_seen": step * global_batch,
                "steps_per_epoch": steps_per_epoch,
            },
        )

    def save(path: Path) -> None:
        if info.is_main:
            save_checkpoint(path, make_checkpoint())
        barrier()

    writer = _MetricsWriter(run_dir, step, recipe.output.tensorboard) if info.is_main else None
    bar = None
    if info.is_main and progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", mininterval=1.0)

    loader_kwargs: dict[str, Any] = {
        "num_workers": t.num_workers,
        "pin_memory": info.device.type == "cuda",
    }
    if t.num_workers > 0:
        loader_kwargs["prefetch_factor"] = 4

    def validate_now() -> bool:
        nonlocal best_valid, bad_validations
        valid_loss, rmse = _validate(model, data, recipe, info, autocast)
        improved = valid_loss < best_valid
        if improved:
            best_valid, bad_validations = valid_loss, 0
        else:
            bad_validations += 1
        if writer is not None:
            values = {"loss": valid_loss}
            for c, name in enumerate(recipe.data.channels):
                for k in range(t_out):
                    values[f"rmse_{name}_{_lead_label(step_td, k + 1)}"] = float(rmse[k, c])
            writer.write(step, epoch, "valid", values)
        if bar is not None:
            bar.write(
                f"step {step}: valid loss {valid_loss:.4f}, RMSE {recipe.data.channels[0]} "
                f"+{_lead_label(step_td, 1)} {rmse[0, 0]:.3f} .. +{_lead_label(step_td, t_out)} "
                f"{rmse[-1, 0]:.3f}" + (" (best)" if improved else "")
            )
        if improved:
            save(best_path)
        return (
            t.early_stopping_patience is not None and bad_validations >= t.early_stopping_patience
        )

    ddp_model.train()
    window_loss = torch.zeros(2, dtype=torch.float64)  # loss sum, count since last log
    window_time = {"data": 0.0, "step": 0.0, "samples": 0}
    batches: Iterator[dict[str, torch.Tensor]] | None = None
    done = step >= total_steps
    stopped_early = False
    with _StopSignal() as stop:
        while not done:
            if batches is None:
                sampler.set_position(epoch, batch_in_epoch * t.batch_size)
                loader = DataLoader(
                    data.train_set,
                    batch_size=t.batch_size,
                    sampler=sampler,
                    drop_last=True,
                    **loader_kwargs,
                )
                batches = iter(loader)
            tick = time.perf_counter()
            batch = _to_device(next(batches), info.device)
            data_wait = time.perf_counter() - tick

            lr = lr_for(step)
            set_lr(optimizer, lr)
            mask = teacher_forcing_mask(
                step,
                t.scheduled_sampling,
                global_batch_size=global_batch,
                input_steps=t_in,
                output_steps=t_out,
                height=height,
                width=width,
                seed=t.seed,
                rank=info.rank,
                world_size=info.world_size,
            )
            if mask is not None:
                mask = mask.to(info.device)
            inputs, targets = batch["inputs"], batch["targets"]
            with autocast():
                predictions = ddp_model(inputs, targets, mask)
            if t.loss.frames == "forecast":
                predictions, truth = predictions[:, -t_out:], targets
            else:
                truth = torch.cat([inputs[:, 1:], targets], dim=1)
            valid = batch.get("mask") if t.loss.nan_masked else None
            row_weights = data.row_weights if t.loss.latitude_weighted else None
            loss = weighted_mse(predictions.float(), truth, row_weights, valid)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = None
            if t.grad_clip is not None:
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            optimizer.step()

            step += 1
            batch_in_epoch += 1
            window_loss += torch.tensor([loss.item(), 1.0], dtype=torch.float64)
            window_time["data"] += data_wait
            window_time["step"] += time.perf_counter() - tick
            window_time["samples"] += global_batch
            end_of_epoch = batch_in_epoch >= steps_per_epoch
            if end_of_epoch:
                epoch += 1
                batch_in_epoch = 0
                batches = None

            if step % t.log_every == 0 or step == total_steps:
                reduced = all_reduce_sum(window_loss.to(info.device)).cpu()
                train_loss = float(reduced[0] / reduced[1])
                seconds = max(window_time["step"], 1e-9)
                values = {
                    "loss": train_loss,
                    "lr": lr,
                    "samples_per_s": window_time["samples"] / seconds,
                    "data_wait_share": window_time["data"] / seconds,
                }
                if grad_norm is not None:
                    values["grad_norm"] = float(grad_norm)
                if writer is not None:
                    writer.write(step, epoch, "train", values)
                if bar is not None:
                    bar.set_postfix(
                        loss=f"{train_loss:.4f}",
                        lr=f"{lr:.2e}",
                        samples_s=f"{values['samples_per_s']:.1f}",
                    )
                window_loss.zero_()
                window_time = {"data": 0.0, "step": 0.0, "samples": 0}
            if bar is not None:
                bar.update(1)

            validate = (t.validate_every is not None and step % t.validate_every == 0) or (
                t.validate_every is None and end_of_epoch
            )
            if not validate and step == total_steps:
                validate = True  # always score the final weights
            if validate:
                stopped_early = validate_now()

            done = step >= total_steps or stopped_early
            flag = all_reduce_max(torch.tensor([stop.signal_number], device=info.device))
            signal_number = int(flag.item())
            if step % t.checkpoint_every == 0 or done or signal_number:
                save(latest_path)
            if signal_number:
                if bar is not None:
                    bar.close()
                if writer is not None:
                    writer.close()
                raise TrainingInterrupted(signal_number, run_dir, step)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    if info.is_main and stopped_early:
        print(
            f"early stopping at step {step}: no improvement in {bad_validations} validations",
            file=sys.stderr,
        )
    return run_dir


def _check_resume_compatible(recipe: Recipe, ckpt: Checkpoint, path: Path) -> None:
    """A run directory may be resumed only with the same data and model sections."""
    old = ckpt.recipe
    new = recipe.to_dict()
    for section in ("data", "model"):
        if old.get(section) != new[section]:
            keys = sorted(
                k
                for k in set(old.get(section, {})) | set(new[section])
                if old.get(section, {}).get(k) != new[section].get(k)
            )
            raise RecipeError(
                f"{recipe.source}: output.dir {recipe.output.dir} holds a run ({path}) whose "
                f"{section} section differs in {keys}; it cannot be resumed with this recipe",
                hint="choose a new output.dir (e.g. --set output.dir=runs/new) or restore the recipe",
            )
