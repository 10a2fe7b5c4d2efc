"""The run's log: ``metrics.csv`` (long format), ``metrics.jsonl``, TensorBoard, the progress bar.

:class:`MetricsWriter` owns the files; :func:`log_train` and :func:`log_validation` turn one train
window or one validation into values for them and for the bar
(:class:`gmgclim.progress.StepProgress`). Every rank joins the loss reduction; only rank 0 passes
a writer and an enabled bar, so the files are written by rank 0 only. On resume, rows logged after
the checkpoint being resumed are dropped, so a resumed run's files read as if it had never stopped.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gmgclim.distributed import all_reduce_sum

if TYPE_CHECKING:
    from gmgclim.data.task import Task
    from gmgclim.progress import StepProgress
    from gmgclim.training.state import TrainState

__all__ = [
    "CSV_FIELDS",
    "LogWindow",
    "MetricsWriter",
    "append_run_log",
    "lead_label",
    "log_train",
    "log_validation",
]

CSV_FIELDS = ["step", "epoch", "split", "metric", "value"]


def append_run_log(run_dir: Path, line: str) -> None:
    """Append ``line`` to ``RUN_DIR/run.log``, after a local ``YYYY-MM-DDTHH:MM:SS`` timestamp."""
    with open(run_dir / "run.log", "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


class MetricsWriter:
    """Append metrics to ``RUN_DIR/metrics.csv`` and ``RUN_DIR/metrics.jsonl`` (and TensorBoard).

    Parameters
    ----------
    run_dir : Path
        The run directory.
    resume_step : int
        Step of the checkpoint the run starts from (0 for a fresh run); rows of later steps are
        removed from existing files.
    tensorboard : bool
        Also write TensorBoard scalars under ``RUN_DIR/tensorboard`` when it is installed.
    """

    def __init__(self, run_dir: Path, resume_step: int, tensorboard: bool):
        self.csv_path = run_dir / "metrics.csv"
        self.jsonl_path = run_dir / "metrics.jsonl"
        # Rows written after the checkpoint we resume from would be repeated: drop them.
        if self.csv_path.is_file():
            with open(self.csv_path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
            with open(self.csv_path, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            self.csv_path.write_text(",".join(CSV_FIELDS) + "\n")
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
        """One event: a row per value in the CSV, one JSON record, one scalar per value.

        Parameters
        ----------
        step, epoch : int
            Optimiser steps done and the current epoch.
        split : {"train", "valid"}
        values : dict of str to float
            Metric name to value (losses in normalised units, RMSE in physical units).
        """
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
        """Flush and close TensorBoard (the text files are closed after every write)."""
        if self.tb is not None:
            self.tb.close()


@dataclass
class LogWindow:
    """Sums since the last train log: loss and step count (2,) float64, seconds, samples."""

    loss: torch.Tensor = field(default_factory=lambda: torch.zeros(2, dtype=torch.float64))
    data_seconds: float = 0.0
    step_seconds: float = 0.0
    samples: int = 0

    def add(self, loss: float, data_seconds: float, step_seconds: float, samples: int) -> None:
        """One step: its loss (normalised), data wait and step time (s), global batch size."""
        self.loss += torch.tensor([loss, 1.0], dtype=torch.float64)
        self.data_seconds += data_seconds
        self.step_seconds += step_seconds
        self.samples += samples


def log_train(
    writer: MetricsWriter | None,
    bar: StepProgress,
    device: torch.device,
    state: TrainState,
    window: LogWindow,
    lr: float,
    grad_norm: torch.Tensor | None,
) -> None:
    """Mean loss over ranks and steps since the last log, lr, throughput, data-wait share."""
    reduced = all_reduce_sum(window.loss.to(device)).cpu()
    train_loss = float(reduced[0] / reduced[1])
    seconds = max(window.step_seconds, 1e-9)
    values = {
        "loss": train_loss,
        "lr": lr,
        "samples_per_s": window.samples / seconds,
        "data_wait_share": window.data_seconds / seconds,
    }
    if grad_norm is not None:
        values["grad_norm"] = float(grad_norm)
    if writer is not None:
        writer.write(state.step, state.epoch, "train", values)
    bar.show(loss=f"{train_loss:.4f}", lr=f"{lr:.2e}", samples_s=f"{values['samples_per_s']:.1f}")


def log_validation(
    writer: MetricsWriter | None,
    bar: StepProgress,
    task: Task,
    state: TrainState,
    valid_loss: float,
    rmse: np.ndarray,
    improved: bool,
) -> None:
    """``loss`` and ``rmse_<channel>_<lead>`` (physical units) to the files, a line to the bar."""
    step_td, t_out = task.step_timedelta, task.output_steps
    if writer is not None:
        values = {"loss": valid_loss}
        for c, name in enumerate(task.channels):
            for k in range(t_out):
                values[f"rmse_{name}_{lead_label(step_td, k + 1)}"] = float(rmse[k, c])
        writer.write(state.step, state.epoch, "valid", values)
    if bar.enabled:
        bar.log(
            f"step {state.step}: valid loss {valid_loss:.4f}, RMSE {task.channels[0]} "
            f"+{lead_label(step_td, 1)} {rmse[0, 0]:.3f} .. +{lead_label(step_td, t_out)} "
            f"{rmse[-1, 0]:.3f}" + (" (best)" if improved else "")
        )


def lead_label(step: np.timedelta64, k: int) -> str:
    """``"6h"`` or ``"90min"``: the lead time of the ``k``-th forecast frame."""
    minutes = int(step / np.timedelta64(1, "m")) * k
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"
