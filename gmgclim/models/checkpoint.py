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

Every checkpoint stores the SHA-256 of its weights (``weights_sha256``, over the sorted
``model_state`` tensors: name, dtype, shape and bytes). Loading checks the zip CRC of every member
and that hash, so a 0-byte, truncated, corrupt or bit-flipped file is a :class:`CheckpointError`
naming it; checkpoints written before the hash existed still load. A broken ``latest.pt`` falls back
to ``best.pt`` of the same run (and back) with a one-line note on stderr.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gmgclim import __version__
from gmgclim.errors import CheckpointError
from gmgclim.outputs import temporary_name

__all__ = [
    "BEST_NAME",
    "CHECKPOINT_DIR",
    "LATEST_NAME",
    "Checkpoint",
    "build_model",
    "find_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "weights_sha256",
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
#: Payload field holding :func:`weights_sha256` of ``model_state`` (absent in older checkpoints).
HASH_FIELD = "weights_sha256"


def weights_sha256(model_state: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: every tensor's name, dtype, shape and bytes, sorted by name.

    Parameters
    ----------
    model_state : dict of str to torch.Tensor
        ``model.state_dict()``; non-tensor values are hashed by their ``repr``.

    Returns
    -------
    str
        64 hex digits; independent of the device the tensors are on.
    """
    digest = hashlib.sha256()
    for name in sorted(model_state):
        value = model_state[name]
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu").contiguous()
            digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


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
    payload[HASH_FIELD] = weights_sha256(payload["model_state"])
    tmp = temporary_name(path)
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


def _stderr_note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def _torch_reason(exc: Exception) -> str:
    """torch's error as a short reason, without its advice to load with ``weights_only=False``."""
    text = str(exc)
    if "weights only load failed" in text.lower() or "weights_only" in text:
        return "it holds pickled objects other than tensors and plain containers (refused)"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _verify_file(path: Path) -> None:
    """Raise CheckpointError if ``path`` is empty, not a zip archive, or fails a member's CRC."""
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(
            f"checkpoint {path} cannot be read: it is empty (0 bytes); expected a torch zip file"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {path} cannot be read: truncated or corrupt ({size} bytes; {reason}); "
            "expected a torch zip file",
            hint="use the other checkpoint of the run (latest.pt / best.pt) or train again",
        ) from None
    except Exception as exc:  # zlib.error and friends from a damaged compressed member
        raise CheckpointError(
            f"checkpoint {path} cannot be read: corrupt ({type(exc).__name__}: {exc})",
            hint="use the other checkpoint of the run (latest.pt / best.pt) or train again",
        ) from None
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path} cannot be read: CRC check failed for {bad} (corrupt file)",
            hint="use the other checkpoint of the run (latest.pt / best.pt) or train again",
        )


def _load_file(path: Path, map_location: str | torch.device) -> Checkpoint:
    """Read and verify one checkpoint file."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} not found")
    _verify_file(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # wrong format, pickled code
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({_torch_reason(exc)})",
            hint="the file is corrupt or not a gmgclim checkpoint; use another one",
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"checkpoint {path} holds {type(payload).__name__}, not a dict")
    missing = [name for name in REQUIRED_FIELDS if name not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks fields {missing}; not a gmgclim checkpoint")
    stored = payload.get(HASH_FIELD)
    if stored is not None and stored != weights_sha256(payload["model_state"]):
        raise CheckpointError(
            f"checkpoint {path} cannot be read: its weights do not match their stored SHA-256 "
            "(corrupt file)",
            hint="use the other checkpoint of the run (latest.pt / best.pt) or train again",
        )
    names = {f.name for f in dataclasses.fields(Checkpoint)}
    return Checkpoint(**{k: v for k, v in payload.items() if k in names})


def _other_of_run(path: Path) -> Path | None:
    """``best.pt`` for ``checkpoints/latest.pt`` and back, if it exists; else None."""
    if path.parent.name != CHECKPOINT_DIR or path.name not in (LATEST_NAME, BEST_NAME):
        return None
    other = path.with_name(BEST_NAME if path.name == LATEST_NAME else LATEST_NAME)
    return other if other.is_file() else None


def load_checkpoint(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    fallback: bool = True,
    note: Callable[[str], None] | None = _stderr_note,
) -> Checkpoint:
    """Read and verify a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    The zip CRC of every member and the stored SHA-256 of the weights are checked.

    Parameters
    ----------
    path : str or Path
        A ``.pt`` file, or a run directory (its ``checkpoints/latest.pt`` is read).
    map_location : str or torch.device
        Where tensors are loaded.
    fallback : bool
        When ``path`` is a run's ``latest.pt`` (or ``best.pt``) and cannot be read, read the
        other one of the same run instead.
    note : callable, optional
        Receives the one-line note about a fallback (default: printed to stderr as ``note: ...``).

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        The file is missing, empty, truncated or corrupt (and so is the other checkpoint of the
        run), or lacks a required field.
    """
    path = Path(path)
    if path.is_dir():
        found = find_checkpoint(path) or find_checkpoint(path, "best")
        if found is None:
            raise CheckpointError(
                f"no checkpoint in run directory {path} (expected {CHECKPOINT_DIR}/{LATEST_NAME})",
                hint="train first with `gmgclim train RECIPE`",
            )
        path = found
    try:
        return _load_file(path, map_location)
    except CheckpointError as exc:
        other = _other_of_run(path) if fallback else None
        if other is None:
            raise
        try:
            checkpoint = _load_file(other, map_location)
        except CheckpointError as other_exc:
            raise CheckpointError(
                f"{exc}; the other checkpoint of the run cannot be used either: {other_exc}",
                hint="train again (the run's checkpoints are both broken)",
            ) from None
        if note is not None:
            note(f"{exc}; using {other} (step {checkpoint.step}) instead")
        return checkpoint


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
