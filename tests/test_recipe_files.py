"""Shipped recipes: found by name from any folder, a path wins, the package ships the repo's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmgclim.errors import RecipeError
from gmgclim.recipe_files import find_recipe, list_recipes, packaged_recipe_dir

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_recipes_are_the_repository_recipes():
    assert packaged_recipe_dir().resolve() == (ROOT / "recipes").resolve()
    assert {"quickstart", "radar_knmi"} <= set(list_recipes())


def test_find_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_recipe("quickstart").name == "quickstart.yaml"
    assert find_recipe("recipes/quickstart.yaml").is_file()  # the documented path, outside the repo
    own = tmp_path / "quickstart.yaml"
    own.write_text("data: {}\n")
    assert find_recipe("quickstart.yaml") == Path("quickstart.yaml")  # a path wins


def test_unknown_recipe_lists_shipped_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecipeError) as exc:
        find_recipe("quickstrat")
    assert "quickstrat" in str(exc.value) and "quickstart" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_cli_recipes_list(capsys):
    from gmgclim.cli import main

    main(["recipes", "list"])
    assert "quickstart" in capsys.readouterr().out
