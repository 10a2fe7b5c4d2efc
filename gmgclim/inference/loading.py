"""A :class:`~gmgclim.inference.forecaster.Forecaster` from a checkpoint file or run directory.

Checkpoints are read through the torch-only :mod:`gmgclim.models.checkpoint`, never through the
trainer: the task, normalisation (and diurnal mean) and trained precision come with the weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gmgclim.errors import CheckpointError
from gmgclim.inference.forecaster import PRECISIONS, Forecaster

__all__ = ["load_forecaster"]


def _find_checkpoint_file(path: Path) -> Path:
    """A checkpoint file from a file path or a run directory (its best, else latest, checkpoint)."""
    import gmgclim.models.checkpoint as ckpt_mod

    if path.is_file():
        return path
    if not path.exists():
        raise FileNotFoundError(f"checkpoint or run directory {path} does not exist")
    found = ckpt_mod.find_checkpoint(path, "best") or ckpt_mod.find_checkpoint(path, "latest")
    if found is None:
        raise CheckpointError(
            f"run directory {path} holds no {ckpt_mod.CHECKPOINT_DIR}/{ckpt_mod.BEST_NAME} or "
            f"{ckpt_mod.CHECKPOINT_DIR}/{ckpt_mod.LATEST_NAME}",
            hint="pass the checkpoint file itself, or a run directory written by `gmgclim train`",
        )
    return found


def _forecaster_from_checkpoint(ckpt: Any, model: torch.nn.Module, source: str) -> Forecaster:
    task = dict(ckpt.task or {})
    norm = ckpt.normalization or {}
    missing = [k for k in ("channels", "input_steps", "output_steps", "step") if k not in task]
    if missing:
        raise CheckpointError(f"checkpoint {source}: task lacks {missing} (has {sorted(task)})")
    mean, std = norm.get("mean"), norm.get("std")
    if mean is None or std is None:
        raise CheckpointError(
            f"checkpoint {source}: normalization lacks mean/std (has {sorted(norm)})"
        )
    if task.get("residual") == "diurnal" and norm.get("diurnal") is None:
        raise CheckpointError(
            f"checkpoint {source}: task has data.residual: diurnal but its normalization lacks "
            "the diurnal mean"
        )
    stats_channels = norm.get("channels")
    if stats_channels is not None and list(stats_channels) != list(task["channels"]):
        raise CheckpointError(
            f"checkpoint {source}: normalisation channels {list(stats_channels)} differ from the "
            f"task channels {list(task['channels'])}"
        )
    forecaster = Forecaster(
        model=model,
        mean=mean,
        std=std,
        source=source,
        recipe=getattr(ckpt, "recipe", None) or {},
        task=task,
        model_name=getattr(ckpt, "model_name", None),
        diurnal=norm.get("diurnal"),
    )
    forecaster.precision = _trained_precision(ckpt)
    return forecaster


def _trained_precision(ckpt: Any) -> str:
    """The precision a checkpoint's run computed in: recorded in ``train_state`` (``auto``
    resolved), else the recipe's when it names one, else fp32."""
    recorded = (getattr(ckpt, "train_state", None) or {}).get("precision")
    if recorded in PRECISIONS:
        return recorded
    named = ((getattr(ckpt, "recipe", None) or {}).get("training") or {}).get("precision")
    return named if named in PRECISIONS else "fp32"


def load_forecaster(model_or_checkpoint: Any, device: str = "cpu") -> Forecaster:
    """Turn a checkpoint path, run directory, Checkpoint or Forecaster into a :class:`Forecaster`.

    Parameters
    ----------
    model_or_checkpoint : Forecaster, Checkpoint, str or Path
        A ready :class:`Forecaster`; a loaded checkpoint (``gmgclim.models.checkpoint``); a
        checkpoint file; or a run directory (its best/last checkpoint is used).
    device : str
        Torch device to put the model on.

    Returns
    -------
    Forecaster
        With the model in eval mode on ``device``.
    """
    if isinstance(model_or_checkpoint, Forecaster):
        forecaster = model_or_checkpoint
    elif isinstance(model_or_checkpoint, torch.nn.Module):
        raise TypeError(
            "a bare nn.Module does not say its channels, steps or normalisation: wrap it in "
            "gmgclim.inference.Forecaster(model, channels, input_steps, output_steps, step, mean, std)"
        )
    else:
        import gmgclim.models.checkpoint as ckpt_mod

        source = "<checkpoint object>"
        ckpt = model_or_checkpoint
        if isinstance(model_or_checkpoint, str | os.PathLike):
            path = _find_checkpoint_file(Path(model_or_checkpoint))
            source = str(path.resolve())
            ckpt = ckpt_mod.load_checkpoint(path)
        forecaster = _forecaster_from_checkpoint(ckpt, ckpt_mod.build_model(ckpt), source)
    forecaster.model.to(device)
    forecaster.model.eval()
    return forecaster
