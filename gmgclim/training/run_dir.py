"""The run directory: create it, find the checkpoint to resume, remove it when a new run fails.

A run directory is written by rank 0 only; every rank reads the checkpoint it resumes from. A
training that fails before its first checkpoint removes exactly the files it wrote and the
directories it created, so no half-made run folder is left behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from gmgclim.config import Recipe
from gmgclim.distributed import DistInfo, barrier
from gmgclim.models.checkpoint import (
    BEST_NAME,
    CHECKPOINT_DIR,
    LATEST_NAME,
    Checkpoint,
    find_checkpoint,
    load_checkpoint,
)
from gmgclim.outputs import MARKER_FILE, check_output_path, remove_stale_temporaries, write_marker
from gmgclim.training.state import check_resume_compatible
from gmgclim.training.task_data import STATS_NAME

__all__ = ["discard_failed_run", "missing_dirs", "open_run_dir"]

#: What a run writes before its first checkpoint (a failed new run removes exactly these).
RUN_FILES = (MARKER_FILE, "recipe.yaml", STATS_NAME, "run.log", "metrics.csv", "metrics.jsonl")
RUN_DIRS = ("tensorboard", CHECKPOINT_DIR)


def missing_dirs(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    path = path.absolute()
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def discard_failed_run(created: list[Path]) -> None:
    """Remove the run directory (and empty parents) this run created, when it holds no checkpoint.

    A training that fails before its first checkpoint (missing data, an empty split, a bad model
    section) leaves no half-made run folder behind. Only the files a run writes are removed; a
    directory that holds anything else is kept, and so is one that existed before this run.

    Parameters
    ----------
    created : list of Path
        What :func:`missing_dirs` returned before the run started, deepest first.
    """
    if not created or not created[0].is_dir():
        return
    run_dir = created[0]
    if find_checkpoint(run_dir) or find_checkpoint(run_dir, "best"):
        return  # a checkpoint: the run resumes from it
    try:
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        for name in RUN_DIRS:
            if (run_dir / name).is_dir():
                shutil.rmtree(run_dir / name)
        for path in created:  # deepest first; stops at the first one that is not empty
            path.rmdir()
    except OSError:  # something else is in there (or not ours to remove): keep it
        pass


def open_run_dir(recipe: Recipe, run_dir: Path, info: DistInfo) -> Checkpoint | None:
    """Create the run directory, write ``recipe.yaml``; the checkpoint to resume from, if any.

    Parameters
    ----------
    recipe : Recipe
    run_dir : Path
        ``output.dir`` of the recipe.
    info : DistInfo
        Only the main process writes.

    Returns
    -------
    Checkpoint or None
        ``latest.pt`` (or ``best.pt`` when the latest is corrupt); None for a new run.

    Raises
    ------
    RecipeError
        The directory holds a run of another data or model section.
    """
    # a file, the current directory or a foreign directory is never written into
    check_output_path(run_dir, "run", "output.dir")
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_marker(run_dir, "run")
        for name in (LATEST_NAME, BEST_NAME):
            remove_stale_temporaries(run_dir / CHECKPOINT_DIR / name)
    barrier()
    has_checkpoint = find_checkpoint(run_dir) or find_checkpoint(run_dir, "best")
    # a corrupt latest.pt falls back to best.pt (and back), with a note on stderr
    resume = load_checkpoint(run_dir) if has_checkpoint else None
    if resume is not None:
        check_resume_compatible(recipe, resume, run_dir / CHECKPOINT_DIR / LATEST_NAME)
    if info.is_main:
        (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    return resume
