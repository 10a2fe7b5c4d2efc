"""gmgclim.training: recipes to trained checkpoints, in one process or under torchrun.

>>> from gmgclim.config import load_recipe
>>> from gmgclim.training import train
>>> run_dir = train(load_recipe("recipes/quickstart.yaml"))  # doctest: +SKIP
"""

from gmgclim.data.task import open_task_data
from gmgclim.models.checkpoint import (
    Checkpoint,
    build_model,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from gmgclim.training.loop import TrainingInterrupted, prepare_task, train

__all__ = [
    "Checkpoint",
    "TrainingInterrupted",
    "build_model",
    "find_checkpoint",
    "load_checkpoint",
    "open_task_data",
    "prepare_task",
    "save_checkpoint",
    "train",
]
