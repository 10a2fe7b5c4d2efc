"""Score a trained checkpoint on one of its splits against persistence (a quick skill check).

This is the trainer's own check (used by the quickstart test and the benchmark); full forecasts to
zarr and WeatherBench-style scores live in ``gmgclim.inference`` and ``gmgclim.metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from gmgclim.data.task import open_task_data
from gmgclim.models.checkpoint import Checkpoint, build_model, load_checkpoint
from gmgclim.training.losses import squared_error_sums

__all__ = ["SplitScores", "evaluate_split"]


@dataclass(frozen=True)
class SplitScores:
    """Latitude-weighted RMSE per lead time on one split, in physical units.

    Attributes
    ----------
    lead_time_hours : np.ndarray
        (T_out,) lead times.
    rmse_model, rmse_persistence : np.ndarray
        (T_out, C) RMSE of the model and of persistence (the last input frame), mean over init
        times and grid before the square root (WeatherBench 1 order).
    channels : list of str
    n_windows : int
    """

    lead_time_hours: np.ndarray
    rmse_model: np.ndarray
    rmse_persistence: np.ndarray
    channels: list[str]
    n_windows: int

    def table(self) -> str:
        """A plain-text table: lead time, model RMSE, persistence RMSE per channel."""
        lines = []
        for c, name in enumerate(self.channels):
            lines.append(f"{name}: lead_h  model  persistence  (RMSE, {self.n_windows} windows)")
            for k, lead in enumerate(self.lead_time_hours):
                lines.append(
                    f"  {lead:7.2f}  {self.rmse_model[k, c]:7.3f}  {self.rmse_persistence[k, c]:7.3f}"
                )
        return "\n".join(lines)


def evaluate_split(
    checkpoint: Checkpoint | str | Path, split: str = "test", batch_size: int = 16
) -> SplitScores:
    """RMSE per lead time of a checkpoint's model and of persistence on a split of its task.

    Parameters
    ----------
    checkpoint : Checkpoint, str or Path
        A checkpoint, a ``.pt`` file or a run directory (``best.pt`` is preferred there).
    split : {"train", "valid", "test"}
        Which of the task's splits to score (all frames of a window inside the split).
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    SplitScores
    """
    from gmgclim.data.normalization import NormalizationStats
    from gmgclim.data.torch_dataset import WindowDataset
    from gmgclim.data.windows import build_windows
    from gmgclim.metrics.weights import latitude_weights_wb1

    if not isinstance(checkpoint, Checkpoint):
        path = Path(checkpoint)
        if path.is_dir() and (path / "checkpoints" / "best.pt").is_file():
            path = path / "checkpoints" / "best.pt"
        checkpoint = load_checkpoint(path)
    task = checkpoint.task
    bounds = task["splits"].get(split)
    if bounds is None:
        raise ValueError(f"the checkpoint's task has no {split!r} split: {task['splits']}")
    ds = open_task_data(task, time=slice(bounds["start"], bounds["end"]))
    windows = build_windows(
        ds["time"].values,
        task["input_steps"],
        task["output_steps"],
        task["step"],
        start=bounds["start"],
        end=bounds["end"],
    )
    if len(windows) == 0:
        raise ValueError(f"split {split!r} ({bounds}) holds no complete window")
    stats = NormalizationStats.from_dict(checkpoint.normalization)
    dataset = WindowDataset(
        ds, task["channels"], windows, stats, fill_nan=task.get("fill_nan", 0.0), return_mask=True
    )
    row_weights = None
    if "latitude" in task:
        row_weights = torch.as_tensor(
            np.asarray(latitude_weights_wb1(np.asarray(task["latitude"])).values),
            dtype=torch.float32,
        )
    model = build_model(checkpoint)
    t_out, n_channels = task["output_steps"], len(task["channels"])
    sums = {k: torch.zeros(t_out, n_channels, dtype=torch.float64) for k in ("model", "pers", "w")}
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size):
            forecast = model(batch["inputs"])
            persistence = batch["inputs"][:, -1:].expand_as(batch["targets"])
            err, w = squared_error_sums(forecast, batch["targets"], row_weights, batch["mask"])
            err_p, _ = squared_error_sums(persistence, batch["targets"], row_weights, batch["mask"])
            sums["model"] += err
            sums["pers"] += err_p
            sums["w"] += w
    std = np.asarray(stats.std, dtype=np.float64)[None, :]
    step_h = float(np.timedelta64(windows.step, "ns") / np.timedelta64(1, "h"))
    return SplitScores(
        lead_time_hours=step_h * np.arange(1, t_out + 1),
        rmse_model=np.sqrt((sums["model"] / sums["w"]).numpy()) * std,
        rmse_persistence=np.sqrt((sums["pers"] / sums["w"]).numpy()) * std,
        channels=list(task["channels"]),
        n_windows=len(windows),
    )
