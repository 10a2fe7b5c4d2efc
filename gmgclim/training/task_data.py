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
)
from gmgclim.data.task import Task, open_task_data
from gmgclim.errors import RecipeError
from gmgclim.training.losses import latitude_weights

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
        normalised, plus a validity ``mask`` when the loss is NaN-masked.
    stats : NormalizationStats
        Train-split per-channel mean and std, physical units.
    std : np.ndarray
        (C,) per-channel std in physical units (RMSE conversion), float64.
    row_weights : torch.Tensor or None
        (H,) ``cos(latitude)`` weights with mean 1 for gridded data, None for radar grids.
    info : dict
        ``train_windows``, ``valid_windows``: window counts.
    """

    task: Task
    train_set: Any
    valid_set: Any
    stats: NormalizationStats
    std: np.ndarray
    row_weights: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _data_source(entry: str) -> str:
    """``catalog entry NAME (LOCATION)`` for messages, or just the entry when it is not catalogued."""
    try:
        from gmgclim.data.catalog import get_entry

        return f"catalog entry {entry!r} ({get_entry(entry).location})"
    except Exception:  # an in-memory dataset or an entry the catalog does not hold
        return f"data {entry!r}"


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

    Raises
    ------
    RecipeError
        A split holds no complete window, or cached statistics are for other channels.
    """
    from gmgclim.data.channels import select_channels
    from gmgclim.data.context import ContextFields
    from gmgclim.data.torch_dataset import WindowDataset
    from gmgclim.data.transforms import forward as transform_forward
    from gmgclim.data.windows import build_windows

    task = Task.from_recipe(recipe)
    first, last = task.time_range()
    ds = open_task_data(task, time=slice(first, last))
    in_memory = recipe.data.in_memory
    if in_memory is None:
        in_memory = ds.nbytes < IN_MEMORY_BYTES
    if in_memory:
        ds = ds.load()  # small data: numpy slices instead of a decompressing file read per sample
    select_channels(ds, task.channels)  # a missing channel fails here, naming it
    task = task.with_grid(ds)

    times = ds["time"].values
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
    stats = compute_or_load_stats(
        transform_forward(task.transform, ds),
        list(task.channels),
        slice(*task.split_bounds("train")),
        None,
        reuse=reuse,
        write=is_main,
        source=f"{recipe.source}",
    )
    transformed = [] if task.transform in (None, "none") else list(task.channels)
    check_physical_ranges(stats, _data_source(task.entry), skip=transformed)
    context = ContextFields.for_dataset(task.forcings, task.statics, ds)
    datasets = {
        name: WindowDataset(
            ds,
            list(task.channels),
            windows[name],
            stats,
            fill_nan=task.fill_nan,
            return_mask=recipe.training.loss.nan_masked,
            context=context,
            transform=task.transform,
            # random crops for training only: validation scores the whole grid
            crop=task.crop if name == "train" else None,
            seed=recipe.training.seed,
            baseline="extrapolation" if task.residual == "extrapolation" else "none",
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
        info={"train_windows": len(windows["train"]), "valid_windows": len(windows["valid"])},
    )
