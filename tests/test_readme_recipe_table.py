"""Every recipe key is documented in the README's recipe reference (so the table cannot drift)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from gmgclim.config import Recipe

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        keys.append(f"{prefix}{name}")
    return keys


def test_every_recipe_key_is_in_the_readme_table():
    sections = {"data", "model", "training", "output"}
    documented = []
    missing = []
    for section in sections:
        annotation = Recipe.model_fields[section].annotation
        for key in _keys(annotation, f"{section}."):
            documented.append(key)
            if f"`{key}" not in README:
                missing.append(key)
    assert len(documented) > 40
    assert not missing, f"recipe keys missing from README.md's recipe reference: {missing}"
