"""Output paths gmgclim may write: markers on what it created, and refusals for everything else.

gmgclim never deletes or overwrites a path it did not create. What it creates carries a marker:

- run directories (``gmgclim train``): a ``.gmgclim`` JSON file ``{"kind": "run", "version": ...}``;
- zarr stores (forecasts, prepared data): the global attribute ``gmgclim_store``
  (``{"kind": "forecast" | "prepared", "version": ...}``) in the store's ``.zattrs``.

Forecast stores written before the marker existed are recognised by their resume coordinate
(``init_written``) and run directories by their ``checkpoints/`` folder. Anything else that exists
at an output path (a regular file, a foreign directory, the current directory or one of its
parents) is refused with :class:`~gmgclim.errors.OutputPathError`; an empty directory is used.

Stale temporary files of interrupted writes (``.NAME.tmp-PID`` checkpoints, ``.NAME.tmp-PID-HEX``
zarr directories) are removed by :func:`remove_stale_temporaries` when the next run starts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from gmgclim import __version__
from gmgclim.errors import OutputPathError

__all__ = [
    "MARKER_FILE",
    "STORE_ATTR",
    "check_output_path",
    "gmgclim_kind",
    "remove_stale_temporaries",
    "store_marker",
    "temporary_name",
    "write_marker",
]

#: JSON marker file in a directory gmgclim created (run directories).
MARKER_FILE = ".gmgclim"
#: Global zarr attribute marking a store gmgclim created.
STORE_ATTR = "gmgclim_store"
#: Coordinate of forecast stores (the resume marker); recognises stores written before STORE_ATTR.
_LEGACY_FORECAST_COORD = "init_written"

_KIND_WORDS = {
    "run": "gmgclim run directory",
    "forecast": "gmgclim forecast store",
    "prepared": "gmgclim prepared zarr store",
}


def store_marker(kind: str) -> dict[str, Any]:
    """The value of the :data:`STORE_ATTR` attribute for a new store of ``kind``."""
    return {"kind": kind, "version": __version__}


def write_marker(directory: str | os.PathLike, kind: str) -> Path:
    """Write the ``.gmgclim`` marker file into ``directory`` (kept if it is already there).

    Parameters
    ----------
    directory : str or path-like
        A directory gmgclim created (e.g. a run directory).
    kind : str
        What it is (``"run"``).

    Returns
    -------
    Path
        The marker file.
    """
    path = Path(directory) / MARKER_FILE
    if not path.is_file():
        path.write_text(json.dumps(store_marker(kind)) + "\n")
    return path


def _zarr_attrs(path: Path) -> dict[str, Any] | None:
    """Global attributes of a local zarr store (v2 ``.zattrs`` or v3 ``zarr.json``), else None."""
    v2, v3 = path / ".zattrs", path / "zarr.json"
    try:
        if v2.is_file():
            return dict(json.loads(v2.read_text()))
        if v3.is_file():
            return dict(json.loads(v3.read_text()).get("attributes", {}))
    except (OSError, ValueError, TypeError):
        return None
    if (path / ".zgroup").is_file():
        return {}
    return None


def gmgclim_kind(path: str | os.PathLike) -> str | None:
    """What gmgclim wrote at ``path``: ``"run"``, ``"forecast"``, ``"prepared"``, or None.

    Parameters
    ----------
    path : str or path-like
        A local path.

    Returns
    -------
    str or None
        The kind from the marker (or from the layout of stores and run directories written before
        markers existed); None for anything gmgclim did not write, or a path that does not exist.
    """
    path = Path(path)
    if not path.is_dir():
        return None
    marker = path / MARKER_FILE
    if marker.is_file():
        try:
            return str(json.loads(marker.read_text())["kind"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    attrs = _zarr_attrs(path)
    if attrs is not None:
        value = attrs.get(STORE_ATTR)
        if isinstance(value, dict) and "kind" in value:
            return str(value["kind"])
        if (path / _LEGACY_FORECAST_COORD).is_dir():
            return "forecast"
        return None
    if (path / "checkpoints").is_dir() and (path / "recipe.yaml").is_file():
        return "run"
    return None


def _describe(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a broken symbolic link"
    if not path.is_dir():
        return "a regular file" if path.is_file() else "not a directory"
    kind = gmgclim_kind(path)
    if kind is not None:
        return f"a {_KIND_WORDS.get(kind, f'gmgclim {kind}')}"
    if (path / ".zgroup").is_file() or (path / "zarr.json").is_file():
        return "a zarr store gmgclim did not write"
    return "a directory gmgclim did not write"


def _is_cwd_or_parent(path: Path) -> bool:
    try:
        here, there = Path.cwd().resolve(), path.resolve()
    except OSError:
        return False
    return there == here or there in here.parents


def check_output_path(
    path: str | os.PathLike, kind: str, option: str = "output", overwrite: bool = False
) -> bool:
    """Refuse an output path that holds something gmgclim did not write (or of another kind).

    Parameters
    ----------
    path : str or path-like
        The output; fsspec URLs (``scheme://``) are not checked.
    kind : str
        What will be written there: ``"run"``, ``"forecast"`` or ``"prepared"``.
    option : str
        How the user named the path (``"-o"``, ``"output.dir"``), for the message.
    overwrite : bool
        Only for the message: whether the caller will replace an existing store.

    Returns
    -------
    bool
        True when ``path`` holds a gmgclim output of ``kind`` (to resume or replace), False when
        it does not exist or is an empty directory.

    Raises
    ------
    OutputPathError
        ``path`` is a file, the current directory (or a parent of it), a foreign directory or
        store, or a gmgclim output of another kind.
    """
    text = os.fspath(path)
    if "://" in text:
        return False
    target = Path(text)
    if not target.exists() and not target.is_symlink():
        return False
    want = _KIND_WORDS.get(kind, f"gmgclim {kind}")
    expected = f"expected a new path or an existing {want}"
    hint = f"choose a new {option} path; gmgclim never replaces what it did not write"
    if target.is_dir() and _is_cwd_or_parent(target):
        raise OutputPathError(
            f"{option} {text} is the current directory or one of its parents; {expected}",
            hint=hint,
        )
    found = gmgclim_kind(target)
    if found == kind:
        return True
    if found is None and target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        return False
    verb = "replace" if overwrite else "write to"
    raise OutputPathError(
        f"{option} {text} is {_describe(target)}; {expected} (refusing to {verb} it)", hint=hint
    )


def temporary_name(target: str | os.PathLike, suffix: str = "") -> Path:
    """``DIR/.NAME.tmp-PID[-SUFFIX]``: a temporary sibling of ``target``, stale once PID is gone."""
    target = Path(target)
    tail = f"-{suffix}" if suffix else ""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}{tail}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else
    return True


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of interrupted writes of ``target`` whose process is gone.

    Parameters
    ----------
    target : str or path-like
        A checkpoint file or zarr store; its siblings ``.NAME.tmp-PID...`` are considered.
        Names without a readable PID (older gmgclim versions) are stale.

    Returns
    -------
    list of Path
        What was removed.
    """
    text = os.fspath(target)
    if "://" in text:
        return []
    target = Path(text)
    prefix = f".{target.name}.tmp-"
    removed: list[Path] = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        if not sibling.name.startswith(prefix):
            continue
        pid_text = sibling.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)
        removed.append(sibling)
    return removed
