"""Self-describing training checkpoints: written atomically, read with ``weights_only=True``.

A checkpoint holds everything needed to rebuild the model without the recipe that made it (model name
and architecture config, the task: channels, steps, grid and catalog entry, and the normalisation
statistics) and everything needed to resume training exactly (optimiser and lr-schedule state, step,
epoch and position in it, RNG states). Only tensors and plain python containers are stored, so
``torch.load(..., weights_only=True)`` can read it and no pickled code ever runs on load.

This module is torch-only (no data, no training): inference loads models through it without
importing the trainer. The ``task`` field is the serialised :class:`gmgclim.data.task.Task`
(``Task.from_dict(ckpt.task)``); RNG capture lives with the trainer (``gmgclim.training.rng``).

Files in a run directory: ``checkpoints/latest.pt`` (overwritten every ``checkpoint_every`` steps, at
the end and on SIGTERM/SIGINT) and ``checkpoints/best.pt`` (best validation loss so far).
Writes go to a temporary file in the same directory, are flushed and fsync'ed, then ``os.replace``'d
over the old file, so a crash at any moment leaves either the old or the new checkpoint, whole.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gmgclim import __version__
from gmgclim.errors import CheckpointError

__all__ = [
    "BEST_NAME",
    "CHECKPOINT_DIR",
    "LATEST_NAME",
    "Checkpoint",
    "build_model",
    "find_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_DIR = "checkpoints"
LATEST_NAME = "latest.pt"
BEST_NAME = "best.pt"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """The contents of a checkpoint file.

    Attributes
    ----------
    model_name : str
        Registry name (``gmgclim.models.get_model``).
    model_config : dict
        Architecture config including the data-derived fields (in_channels, height, width, ...).
    task : dict
        ``entry`` (catalog entry), ``channels`` (lexicon names in tensor order), ``input_steps``,
        ``output_steps``, ``step`` (e.g. ``"6h"``), ``grid`` (crop/coarsen options), ``splits``,
        ``spatial_dims`` (e.g. ``["latitude", "longitude"]``), ``fill_nan``.
    normalization : dict
        ``NormalizationStats.to_dict()``: per-channel mean and std in physical units.
    model_state : dict of str to torch.Tensor
        ``state_dict()`` of the bare model.
    optimizer_state, scheduler_state : dict
        ``optimizer.state_dict()``; the lr schedule (``schedule``, ``base_lr``, ``total_steps`` ...).
    step, epoch : int
        Optimiser steps done; current epoch (0-based).
    rng_state : dict
        torch / cuda / numpy / python RNG states (tensors and lists).
    gmgclim_version : str
    recipe : dict
        The validated recipe that produced the run.
    train_state : dict
        Loop bookkeeping: ``batch_in_epoch``, ``world_size``, ``best_valid_loss``,
        ``validations_without_improvement``, ``samples_seen``.
    """

    model_name: str
    model_config: dict[str, Any]
    task: dict[str, Any]
    normalization: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] = field(default_factory=dict)
    scheduler_state: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    epoch: int = 0
    rng_state: dict[str, Any] = field(default_factory=dict)
    gmgclim_version: str = __version__
    recipe: dict[str, Any] = field(default_factory=dict)
    train_state: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields plus a ``format_version`` (what is written to disk)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["format_version"] = FORMAT_VERSION
        return out

    def __getitem__(self, key: str) -> Any:
        """``ckpt["model_name"]`` reads the field, as in the dict that is on disk."""
        if key not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


REQUIRED_FIELDS = ("model_name", "model_config", "task", "normalization", "model_state")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some platforms
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(path: str | Path, checkpoint: Checkpoint | dict[str, Any]) -> Path:
    """Write a checkpoint atomically: temp file, flush, fsync, ``os.replace``, fsync the directory.

    Parameters
    ----------
    path : str or Path
        Destination file (parents are created).
    checkpoint : Checkpoint or dict
        Contents; a dict must hold at least the fields of :class:`Checkpoint` without defaults.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = checkpoint.to_dict() if isinstance(checkpoint, Checkpoint) else dict(checkpoint)
    payload.setdefault("format_version", FORMAT_VERSION)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Parameters
    ----------
    path : str or Path
        A ``.pt`` file, or a run directory (its ``checkpoints/latest.pt`` is read).
    map_location : str or torch.device
        Where tensors are loaded.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        The file is missing, truncated or corrupt, or lacks a required field.
    """
    path = Path(path)
    if path.is_dir():
        found = find_checkpoint(path)
        if found is None:
            raise CheckpointError(
                f"no checkpoint in run directory {path} (expected {CHECKPOINT_DIR}/{LATEST_NAME})",
                hint="train first with `gmgclim train RECIPE`",
            )
        path = found
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, wrong format, pickled code
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            hint="the file is corrupt or not a gmgclim checkpoint; use another one",
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"checkpoint {path} holds {type(payload).__name__}, not a dict")
    missing = [name for name in REQUIRED_FIELDS if name not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks fields {missing}; not a gmgclim checkpoint")
    names = {f.name for f in dataclasses.fields(Checkpoint)}
    return Checkpoint(**{k: v for k, v in payload.items() if k in names})


def find_checkpoint(run_dir: str | Path, which: str = "latest") -> Path | None:
    """Path of the ``latest`` or ``best`` checkpoint in a run directory, or None if absent."""
    name = {"latest": LATEST_NAME, "best": BEST_NAME}[which]
    path = Path(run_dir) / CHECKPOINT_DIR / name
    return path if path.is_file() else None


def build_model(checkpoint: Checkpoint | str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild the model of a checkpoint with its weights, in eval mode.

    Parameters
    ----------
    checkpoint : Checkpoint, str or Path
        A loaded checkpoint, a ``.pt`` file or a run directory.
    map_location : str
        Device of the returned model's parameters.

    Returns
    -------
    nn.Module
        The model in eval mode. Normalisation statistics and the task are in ``checkpoint``.
    """
    from gmgclim.models import config_from_dict, get_model

    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint, map_location=map_location)
    try:
        config = config_from_dict(checkpoint.model_name, dict(checkpoint.model_config))
        model = get_model(checkpoint.model_name, config)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"checkpoint model {checkpoint.model_name!r} with config {checkpoint.model_config} "
            f"cannot be built: {exc}"
        ) from None
    try:
        model.load_state_dict(checkpoint.model_state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint weights do not fit model {checkpoint.model_name!r}: {exc}"
        ) from None
    return model.to(map_location).eval()
