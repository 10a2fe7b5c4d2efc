"""The shipped recipes: find one by path or by name, list them.

The repository's ``recipes/`` folder is the one source: ``gmgclim/recipes`` is a link to it, so
the wheel ships the same files as package data (``pyproject.toml``) and an installed gmgclim finds
them from any folder. A path that exists always wins over a shipped name.

This module imports nothing from gmgclim but :mod:`gmgclim.errors`.
"""

from __future__ import annotations

from pathlib import Path

from gmgclim.errors import RecipeError

__all__ = ["find_recipe", "list_recipes", "packaged_recipe_dir"]


def packaged_recipe_dir() -> Path:
    """Directory of the shipped recipes (``gmgclim/recipes``, a link to the repository's ``recipes/``)."""
    return Path(__file__).resolve().parent / "recipes"


def list_recipes() -> dict[str, tuple[Path, str]]:
    """The shipped recipes.

    Returns
    -------
    dict
        Recipe name (file stem, e.g. ``"quickstart"``) -> (path, first comment line).
    """
    out: dict[str, tuple[Path, str]] = {}
    for path in sorted(packaged_recipe_dir().glob("*.yaml")):
        summary = ""
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                summary = line.lstrip("# ").strip()
                break
        out[path.stem] = (path, summary)
    return out


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe file from a path (which wins) or a shipped recipe's name.

    Parameters
    ----------
    name_or_path : str or Path
        ``recipes/quickstart.yaml``, ``./my.yaml``, ``quickstart`` or ``quickstart.yaml``.

    Returns
    -------
    Path

    Raises
    ------
    RecipeError
        Neither a file nor a shipped recipe; the message lists the shipped names.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = list_recipes()
    stem = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    if stem in shipped and (path.parent == Path(".") or path.parent.name == "recipes"):
        return shipped[stem][0]
    raise RecipeError(
        f"recipe file {path} not found, and {stem!r} is not a shipped recipe "
        f"(shipped: {', '.join(shipped) or 'none'})",
        hint="`gmgclim recipes list` shows the shipped recipes; give a path to your own",
    )
