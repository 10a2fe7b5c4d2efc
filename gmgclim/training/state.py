"""What a training run carries: the fixed plan, the changing state, and their checkpoint form.

:class:`RunPlan` holds what stays fixed for a run (recipe, process, model config, step counts, lr
schedule); :class:`TrainState` the counters that change every step and are restored on resume;
:func:`make_checkpoint` puts both, with the model, optimiser, task and statistics, into a
:class:`~gmgclim.models.checkpoint.Checkpoint`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from gmgclim import __version__
from gmgclim.config import Recipe
from gmgclim.distributed import DistInfo
from gmgclim.errors import RecipeError
from gmgclim.models.checkpoint import Checkpoint
from gmgclim.training.optim import lr_at_step
from gmgclim.training.rng import capture_rng_state
from gmgclim.training.task_data import TaskData

__all__ = ["RunPlan", "TrainState", "check_resume_compatible", "make_checkpoint"]


@dataclass(frozen=True)
class RunPlan:
    """What stays fixed during a run.

    Attributes
    ----------
    recipe : Recipe
    info : DistInfo
        This process's rank, world size and device.
    model_config : dict
        The model's full config (``build_model_config``).
    total_steps : int
        Optimiser steps of the whole run (``max_steps`` or ``epochs * steps_per_epoch``).
    steps_per_epoch : int
        Optimiser steps per pass over the train windows (each rank's share, whole batches).
    precision : {"fp32", "bf16"}
        The precision computed in: ``training.precision`` with ``auto`` resolved for the device
        (:func:`gmgclim.training.precision.resolve_precision`).
    """

    recipe: Recipe
    info: DistInfo
    model_config: dict[str, Any]
    total_steps: int
    steps_per_epoch: int
    precision: str = "fp32"

    @classmethod
    def create(
        cls,
        recipe: Recipe,
        info: DistInfo,
        model_config: dict[str, Any],
        samples_per_rank: int,
        n_train: int,
        precision: str = "fp32",
    ) -> RunPlan:
        """The plan of a recipe whose train split gives each rank ``samples_per_rank`` windows.

        ``precision`` is ``training.precision`` resolved for the device (``fp32`` or ``bf16``).

        Raises
        ------
        RecipeError
            The train split holds less than one global batch.
        """
        t = recipe.training
        steps_per_epoch = samples_per_rank // t.batch_size
        if steps_per_epoch == 0:
            raise RecipeError(
                f"{recipe.source}: the train split has {n_train} windows, fewer than one "
                f"global batch ({t.batch_size} x {info.world_size} processes)",
                hint="lower training.batch_size or widen data.splits.train",
            )
        epoch_steps = None if t.epochs is None else t.epochs * steps_per_epoch
        total_steps = min(s for s in (t.max_steps, epoch_steps) if s)
        return cls(recipe, info, model_config, total_steps, steps_per_epoch, precision)

    @property
    def global_batch(self) -> int:
        """Samples per optimiser step over all processes."""
        return self.recipe.training.batch_size * self.info.world_size

    def lr(self, step: int) -> float:
        """Learning rate of optimiser step ``step`` (0-based)."""
        t = self.recipe.training
        return lr_at_step(
            step,
            base_lr=t.lr,
            schedule=t.schedule,
            warmup_steps=t.warmup_steps,
            total_steps=self.total_steps,
            min_lr_ratio=t.min_lr_ratio,
        )

    def scheduler_state(self, step: int) -> dict[str, Any]:
        """The lr schedule as stored in checkpoints, with the lr of the last step taken."""
        t = self.recipe.training
        return {
            "schedule": t.schedule,
            "base_lr": t.lr,
            "warmup_steps": t.warmup_steps,
            "total_steps": self.total_steps,
            "min_lr_ratio": t.min_lr_ratio,
            "lr": self.lr(max(step - 1, 0)),
        }


@dataclass
class TrainState:
    """Loop counters and early-stopping bookkeeping; checkpointed and restored on resume.

    Attributes
    ----------
    step : int
        Optimiser steps done.
    epoch : int
        Current epoch, 0-based.
    batch_in_epoch : int
        Batches of the current epoch done (where a resumed run continues).
    best_valid : float
        Lowest validation loss so far (normalised MSE), ``inf`` before the first validation.
    bad_validations : int
        Validations since the last improvement.
    """

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_valid: float = math.inf
    bad_validations: int = 0

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, world_size: int) -> TrainState:
        """The state a checkpoint was written in; an interrupted epoch restarts on a new world size."""
        saved = ckpt.train_state
        state = cls(
            step=int(ckpt.step),
            epoch=int(ckpt.epoch),
            batch_in_epoch=int(saved.get("batch_in_epoch", 0)),
            best_valid=float(saved.get("best_valid_loss", math.inf)),
            bad_validations=int(saved.get("validations_without_improvement", 0)),
        )
        if int(saved.get("world_size", world_size)) != world_size and state.batch_in_epoch:
            warnings.warn(
                f"resuming with {world_size} processes a run checkpointed with "
                f"{saved.get('world_size')}: the interrupted epoch is restarted",
                stacklevel=3,
            )
            state.batch_in_epoch = 0
        return state

    def record_validation(self, valid_loss: float) -> bool:
        """Count a validation; True when it improved on the best so far."""
        improved = valid_loss < self.best_valid
        if improved:
            self.best_valid, self.bad_validations = valid_loss, 0
        else:
            self.bad_validations += 1
        return improved


def make_checkpoint(
    plan: RunPlan, data: TaskData, model: nn.Module, optimizer: Any, state: TrainState
) -> Checkpoint:
    """Everything to rebuild the model (config, task, statistics) and to resume exactly.

    Parameters
    ----------
    plan : RunPlan
    data : TaskData
        Its task (``task.to_dict()``) and statistics travel in the checkpoint.
    model : nn.Module
        The bare model (not the DDP wrapper); weights are copied to CPU.
    optimizer : torch.optim.Optimizer
    state : TrainState

    Returns
    -------
    Checkpoint
    """
    recipe, info = plan.recipe, plan.info
    return Checkpoint(
        model_name=recipe.model.name,
        model_config=plan.model_config,
        task=data.task.to_dict(),
        normalization=data.stats.to_dict(),
        model_state={k: v.detach().cpu() for k, v in model.state_dict().items()},
        optimizer_state=optimizer.state_dict(),
        scheduler_state=plan.scheduler_state(state.step),
        step=state.step,
        epoch=state.epoch,
        rng_state={"rank0": capture_rng_state()},
        gmgclim_version=__version__,
        recipe=recipe.to_dict(),
        train_state={
            "batch_in_epoch": state.batch_in_epoch,
            "world_size": info.world_size,
            "best_valid_loss": state.best_valid,
            "validations_without_improvement": state.bad_validations,
            "samples_seen": state.step * plan.global_batch,
            "steps_per_epoch": plan.steps_per_epoch,
            # the precision computed in (``auto`` resolved); forecasts follow it by default
            "precision": plan.precision,
        },
    )


def check_resume_compatible(recipe: Recipe, ckpt: Checkpoint, path: Path) -> None:
    """A run directory may be resumed only with the same data and model sections.

    A key the checkpoint's recipe lacks counts as its default, so runs of a gmgclim that did not
    have the option yet (``data.forcings`` ...) resume as before.

    Raises
    ------
    RecipeError
        The checkpoint's recipe differs from ``recipe`` in its data or model section.
    """
    new = recipe.to_dict()
    for section in ("data", "model"):
        old = dict(ckpt.recipe.get(section) or {})
        fields = type(getattr(recipe, section)).model_fields
        for key, info in fields.items():
            if key not in old and key in new[section] and not info.is_required():
                old[key] = _json_default(info.get_default(call_default_factory=True))
        keys = sorted(k for k in set(old) | set(new[section]) if old.get(k) != new[section].get(k))
        if keys:
            raise RecipeError(
                f"{recipe.source}: output.dir {recipe.output.dir} holds a run ({path}) whose "
                f"{section} section differs in {keys}; it cannot be resumed with this recipe",
                hint="choose a new output.dir (e.g. --set output.dir=runs/new) or restore the recipe",
            )


def _json_default(value: Any) -> Any:
    """A field default in the form ``Recipe.to_dict`` writes it (pydantic models dumped)."""
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value
