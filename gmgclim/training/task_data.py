"""From a recipe to what the loop trains on: the typed task, window datasets, statistics, weights.

:func:`prepare_task` opens the task's data through :func:`gmgclim.data.task.open_task_data` (all grid
operations live in data/), fills the task's grid from it, indexes the sample windows of the train and
valid splits, and reads or computes the train-split normalisation statistics
(:func:`gmgclim.data.normalization.compute_or_load_stats`, cached as ``RUN_DIR/normalization.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gmgclim.config import Recipe
from gmgclim.data.normalization import (
    NormalizationStats,
    check_physical_ranges,
    compute_or_load_stats,
    filled_input_lines,
)
from gmgclim.data.task import Task, open_task_data
from gmgclim.errors import RecipeError
from gmgclim.progress import Stage
from gmgclim.training.losses import event_levels, latitude_weights

__all__ = ["IN_MEMORY_BYTES", "STATS_NAME", "TaskData", "prepare_task"]

STATS_NAME = "normalization.json"
#: Data smaller than this is loaded into memory when ``data.in_memory`` is not set.
IN_MEMORY_BYTES = 2**30


@dataclass
class TaskData:
    """Everything the loop needs from the data side.

    Attributes
    ----------
    task : Task
        The typed task with its grid filled in (spatial dims, height, width, latitude, longitude);
        checkpoints store ``task.to_dict()``.
    train_set, valid_set : gmgclim.data.torch_dataset.WindowDataset
        Windows of each split: ``inputs`` (T_in, C, H, W) and ``targets`` (T_out, C, H, W),
        normalised, NaN/inf filled with ``data.fill_nan``, plus the validity masks ``mask``
        (T_out, C, H, W) and ``input_mask`` (T_in, C, H, W) that keep filled targets out of the
        loss.
    stats : NormalizationStats
        Train-split per-channel mean and std, physical units.
    std : np.ndarray
        (C,) per-channel std in physical units (RMSE conversion), float64.
    row_weights : torch.Tensor or None
        (H,) ``cos(latitude)`` weights with mean 1 for gridded data, None for radar grids.
    event_levels : torch.Tensor or None
        (C, K) the ``training.loss.event_weights`` thresholds in normalised units
        (:func:`gmgclim.training.losses.event_levels`), None without them.
    info : dict
        ``train_windows``, ``valid_windows``: window counts.
    """

    task: Task
    train_set: Any
    valid_set: Any
    stats: NormalizationStats
    std: np.ndarray
    row_weights: torch.Tensor | None = None
    event_levels: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _data_source(entry: str) -> str:
    """``catalog entry NAME (LOCATION)`` for messages, or just the entry when it is not catalogued."""
    try:
        from gmgclim.data.catalog import get_entry

        return f"catalog entry {entry!r} ({get_entry(entry).location})"
    except Exception:  # an in-memory dataset or an entry the catalog does not hold
        return f"data {entry!r}"


def _log_filled_inputs(lines: list[str], run_dir: Path | None) -> None:
    """Print each line of :func:`filled_input_lines` to stderr and append it to ``run.log``."""
    import sys

    from gmgclim.training.run_log import append_run_log

    for line in lines:
        print(f"data: {line}", file=sys.stderr)
        if run_dir is not None and run_dir.is_dir():
            append_run_log(run_dir, f"data: {line}")


def prepare_task(
    recipe: Recipe, run_dir: Path | None = None, is_main: bool = True, progress: bool = False
) -> TaskData:
    """Open the recipe's data and build the train and valid window datasets.

    Parameters
    ----------
    recipe : Recipe
    run_dir : Path, optional
        Where normalisation statistics are cached (``normalization.json``).
    is_main : bool
        Only the main process writes the cache.
    progress : bool
        Show each stage (opening, loading, statistics) with a spinner and its dask tasks.

    Returns
    -------
    TaskData

    Raises
    ------
    RecipeError
        A split holds no complete window, or cached statistics are for other channels.
    """
    from gmgclim.data.channels import select_channels
    from gmgclim.data.context import ContextFields
    from gmgclim.data.torch_dataset import WindowDataset
    from gmgclim.data.transforms import forward as transform_forward
    from gmgclim.data.windows import build_windows, check_step

    task = Task.from_recipe(recipe)
    first, last = task.time_range()
    with Stage(f"opening {task.entry!r}", progress):
        ds = open_task_data(task, time=slice(first, last))
    in_memory = recipe.data.in_memory
    if in_memory is None:
        in_memory = ds.nbytes < IN_MEMORY_BYTES
    if in_memory:
        # small data: numpy slices instead of a decompressing file read per sample
        with Stage(f"loading {ds.nbytes / 2**20:.0f} MiB into memory", progress):
            ds = ds.load()
    select_channels(ds, task.channels)  # a missing channel fails here, naming it
    task = task.with_grid(ds)

    times = ds["time"].values
    check_step(times, task.step, f"{recipe.source}: data.step", _data_source(task.entry))
    windows = {}
    for name in ("train", "valid"):
        start, end = task.split_bounds(name)
        windows[name] = build_windows(
            times, task.input_steps, task.output_steps, task.step_timedelta, start=start, end=end
        )
        if len(windows[name]) == 0:
            raise RecipeError(
                f"{recipe.source}: data.splits.{name} ({start}..{end}) holds no complete "
                f"window of {task.input_steps} + {task.output_steps} frames {task.step} apart "
                f"in {task.entry!r}",
                hint="widen the split or shorten data.input_steps / data.output_steps",
            )
    if recipe.data.stats and not Path(recipe.data.stats).is_file():
        # a mistyped path must not silently become a new statistics file
        raise RecipeError(
            f"{recipe.source}: data.stats {recipe.data.stats} does not exist; expected a "
            "normalization.json written by gmgclim",
            hint="fix the path, or remove data.stats to compute statistics on the train split",
        )
    reuse = [Path(recipe.data.stats)] if recipe.data.stats else []
    if run_dir is not None:
        reuse.append(run_dir / STATS_NAME)
    # statistics of the fields the network sees: after the target transform (lazy on dask data)
    with Stage("normalisation statistics of the train split", progress):
        stats = compute_or_load_stats(
            transform_forward(task.transform, ds),
            list(task.channels),
            slice(*task.split_bounds("train")),
            None,
            diurnal=task.residual == "diurnal",  # the reference's mean day, of the train split
            reuse=reuse,
            write=is_main,
            source=f"{recipe.source}",
        )
    transformed = [] if task.transform in (None, "none") else list(task.channels)
    check_physical_ranges(stats, _data_source(task.entry), skip=transformed)
    if is_main:
        _log_filled_inputs(filled_input_lines(stats, task.fill_nan), run_dir)
    context = ContextFields.for_task(task, ds)
    diurnal_scale = task.diurnal_scale()  # the same for both splits: computed once
    datasets = {
        name: WindowDataset(
            ds,
            list(task.channels),
            windows[name],
            stats,
            fill_nan=task.fill_nan,
            return_mask=True,  # NaN/inf targets are masked, never scored as their fill
            context=context,
            transform=task.transform,
            # random crops for training only: validation scores the whole grid
            crop=task.crop if name == "train" else None,
            seed=recipe.training.seed,
            baseline=task.residual if task.residual in ("extrapolation", "diurnal") else "none",
            diurnal_scale=diurnal_scale,
            diurnal_amplitude=task.diurnal_scaling == "inputs",
            # turns and flips for training only: validation scores the grid as it is
            augment=recipe.data.augment if name == "train" else "none",
        )
        for name in ("train", "valid")
    }
    return TaskData(
        task=task,
        train_set=datasets["train"],
        valid_set=datasets["valid"],
        stats=stats,
        std=np.asarray(stats.std, dtype=np.float64),
        row_weights=None if task.latitude is None else latitude_weights(task.latitude),
        event_levels=_event_levels(recipe, task, stats),
        info={"train_windows": len(windows["train"]), "valid_windows": len(windows["valid"])},
    )


def _event_levels(recipe: Recipe, task: Task, stats: NormalizationStats) -> torch.Tensor | None:
    """The balanced-MSE thresholds in normalised units, or None (no ``loss.event_weights``)."""
    weights = recipe.training.loss.event_weights
    if weights is None:
        return None
    from gmgclim.data.channels import is_precipitation_channel

    rain = [is_precipitation_channel(c) for c in task.channels]
    if not any(rain):
        raise RecipeError(
            f"{recipe.source}: training.loss.event_weights weighs precipitation targets, but "
            f"none of data.channels {list(task.channels)} is precipitation"
        )
    return event_levels(weights.thresholds, rain, stats.mean, stats.std, task.transform)
