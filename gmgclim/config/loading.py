"""Reading a recipe: YAML with duplicate keys refused, ``--set`` overrides, validation against
:mod:`gmgclim.config.schema` with one-line errors naming the key path and the file.

Example
-------
>>> recipe = load_recipe("recipes/quickstart.yaml", overrides=["training.lr=1e-4"])  # doctest: +SKIP
>>> recipe.training.lr  # doctest: +SKIP
0.0001
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gmgclim.config.schema import Recipe
from gmgclim.errors import RecipeError

__all__ = ["apply_overrides", "load_recipe", "read_yaml_unique", "recipe_from_dict"]


def _describe_error(err: ErrorDetails, model: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{loc}'{hint}"
    if kind == "missing":
        return f"missing key '{loc}'"
    msg = err["msg"].removeprefix("Value error, ")
    where = f"'{loc}'" if loc else "recipe"
    if kind.endswith("_type") or kind in {"literal_error", "int_from_float"}:
        return f"{where}: {msg} (got {err.get('input')!r})"
    return f"{where}: {msg}"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the sub-model at ``loc`` (best effort; dict/list positions are skipped)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _submodel(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [n for n in current.model_fields if n != "source"]
    return []


def _submodel(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def recipe_from_dict(data: Any, source: str | Path | None = None) -> Recipe:
    """Validate a recipe given as a mapping.

    Parameters
    ----------
    data : mapping
        The parsed YAML document.
    source : str or Path, optional
        The file it came from, named in error messages.

    Returns
    -------
    Recipe
    """
    where = str(source) if source is not None else "<recipe>"
    if not isinstance(data, dict):
        raise RecipeError(
            f"{where}: a recipe is a mapping with sections data, model, training, output; "
            f"got {type(data).__name__}"
        )
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        lines = [_describe_error(e, Recipe) for e in exc.errors()]
        raise RecipeError(
            f"{where}: " + "; ".join(lines),
            hint="see recipes/quickstart.yaml and the docstrings in gmgclim/config/schema.py",
        ) from None
    recipe.source = str(source) if source is not None else None
    return recipe


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str = "<recipe>") -> None:
    """Apply ``key.path=value`` overrides in place; values are read as YAML scalars or lists.

    Parameters
    ----------
    data : dict
        The parsed recipe, modified in place.
    overrides : list of str
        Items such as ``"training.lr=1e-4"``, ``"data.splits.train.end=2019-03-20"``,
        ``"training.max_steps=20"``, ``"model.config.num_hidden=[32, 32]"``, ``"training.grad_clip=null"``.
    source : str
        File name for messages.
    """
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise RecipeError(
                f"{source}: override {item!r} must look like section.key=value",
                hint="e.g. --set training.lr=1e-4",
            )
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise RecipeError(
                f"{source}: override {item!r}: value is not valid YAML: {exc}"
            ) from None
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict):
                raise RecipeError(
                    f"{source}: override {item!r}: '{'.'.join(parts[:depth])}' is not a section"
                )
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        if not isinstance(node, dict):
            raise RecipeError(
                f"{source}: override {item!r}: '{'.'.join(parts[:-1])}' is not a section"
            )
        node[parts[-1]] = value


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML says last wins)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise RecipeError(
                    f"{key_node.start_mark.name}: key {key!r} is given twice (lines {seen[key]} "
                    f"and {line}); expected each key once",
                    hint="delete one of them (YAML would silently keep the last)",
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_unique(path: str | Path) -> Any:
    """Parse a YAML file like ``yaml.safe_load``, refusing duplicate keys.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    Any
        The parsed document.

    Raises
    ------
    RecipeError
        A key is given twice in one mapping (naming the key, the file and both lines).
    yaml.YAMLError
        The file is not YAML.
    """
    path = Path(path)
    loader = _UniqueKeyLoader(path.read_text())
    loader.name = str(path)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _blame_overrides(exc: RecipeError, path: Path, overrides: list[str]) -> RecipeError:
    """The validation error, naming the ``--set`` item it comes from instead of the file."""
    message = str(exc)
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key and key in message:
            text = message.removeprefix(f"{path}: ")
            return RecipeError(f"--set {item} (on recipe {path}): {text}", hint=exc.hint)
    return exc


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe file.

    Parameters
    ----------
    path : str or Path
        A YAML recipe.
    overrides : list of str, optional
        ``key.path=value`` items applied before validation (the CLI's ``--set``).

    Returns
    -------
    Recipe

    Raises
    ------
    RecipeError
        The file is missing or not YAML, or a key is unknown, mistyped or impossible; the message
        names the file and the key path.
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(
            f"recipe file {path} not found", hint="recipes/ holds the shipped recipes"
        )
    try:
        data = read_yaml_unique(path)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not overrides:
        return recipe_from_dict(data, source=path)
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of sections")
    apply_overrides(data, list(overrides), source=f"--set (on recipe {path})")
    try:
        return recipe_from_dict(data, source=path)
    except RecipeError as exc:
        raise _blame_overrides(exc, path, list(overrides)) from None
