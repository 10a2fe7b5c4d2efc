"""The import rules of ARCHITECTURE.md, checked on the source with an AST walk.

Every ``import`` and ``from ... import`` in every module under ``gmgclim/`` is resolved to an absolute
module name (relative imports included, at any nesting level, function-local imports included), then
checked against the rules below.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "gmgclim"

# Which gmgclim top-level parts each part may import (besides itself, gmgclim.errors and the
# version in gmgclim/__init__).
ALLOWED_INTERNAL: dict[str, set[str]] = {
    # `variables` is the leaf table of canonical variables and CF attributes that both
    # conventions and lexicon read (one copy); it imports nothing from gmgclim.
    "variables": set(),
    "conventions": {"variables"},
    "lexicon": {"variables"},
    "config": set(),
    # `recipe_files` finds the shipped recipes (package data); it imports only errors.
    "recipe_files": set(),
    "errors": set(),
    # `outputs` (markers and refusals for output paths) imports only errors and the version.
    "outputs": set(),
    # `progress` (rich bars, status lines; one system for every command) imports nothing.
    "progress": set(),
    "testing": {"conventions", "lexicon", "data"},
    "models": set(),
    "distributed": set(),
    "metrics": {"conventions"},
    "data": {"conventions", "lexicon", "config"},
    "training": {"models", "data", "metrics", "config", "conventions", "lexicon", "distributed"},
    "inference": {"models", "data", "conventions", "lexicon", "config", "distributed"},
    "plotting": {"conventions", "metrics", "lexicon"},
    "evaluation": {"data", "metrics", "inference", "conventions", "lexicon", "config"},
}
# Parts whose imports are unrestricted.
UNRESTRICTED = {"cli", "__main__", "__init__"}
ALWAYS_ALLOWED = {"errors", "outputs", "progress", "__init__"}

# `training` may use only the latitude weights of `metrics`; inference never imports training
# (checkpoints are read through the torch-only gmgclim.models.checkpoint).
ALLOWED_SUBMODULES = {
    ("training", "metrics"): {"gmgclim.metrics.weights", "gmgclim.metrics"},
}

STDLIB = set(sys.stdlib_module_names)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> list[str]:
    """All absolute module names imported by the file at ``path`` (module name ``module``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
                if node.module is None:
                    names.extend(f"{target}.{alias.name}" for alias in node.names)
                else:
                    names.append(target)
            elif node.module:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))


def test_sources_found():
    assert len(SOURCES) > 5


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_internal_import_rules(path: Path):
    module = _module_name(path)
    part = _part(module)
    if part in UNRESTRICTED:
        return
    assert part in ALLOWED_INTERNAL, f"{module}: part {part!r} has no import rule; add one"
    allowed = ALLOWED_INTERNAL[part] | ALWAYS_ALLOWED | {part}
    for name in _imports(path):
        if not name.startswith("gmgclim"):
            continue
        if name == "gmgclim" or name == "gmgclim.__version__":
            continue
        target = _part(name)
        if target not in allowed and target not in ALLOWED_INTERNAL:
            # `from gmgclim import something` that is not a part: only the version is allowed
            raise AssertionError(f"{module} imports {name}, which is not a gmgclim part")
        assert target in allowed, f"{module} may not import {name} (ARCHITECTURE.md)"
        restricted = ALLOWED_SUBMODULES.get((part, target))
        if restricted is not None:
            assert any(name == r or name.startswith(r + ".") for r in restricted), (
                f"{module} may import only {sorted(restricted)} from gmgclim.{target}, not {name}"
            )


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if _part(_module_name(p)) == "models"],
    ids=lambda p: str(p.relative_to(PACKAGE_DIR)),
)
def test_models_import_only_torch_and_einops(path: Path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in STDLIB or top in {"torch", "einops", "gmgclim"}, (
            f"{_module_name(path)} imports {name}: models take tensors in and out (torch, einops)"
        )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_torch_stays_where_it_belongs(path: Path):
    module = _module_name(path)
    part = _part(module)
    uses_torch = any(n.split(".")[0] == "torch" for n in _imports(path))
    if part == "metrics" or part == "plotting":
        assert not uses_torch, f"{module} imports torch; metrics and plotting never do"
    if part == "distributed":
        assert not any(
            n.startswith("gmgclim.") and _part(n) not in ALWAYS_ALLOWED for n in _imports(path)
        )
    if part == "data" and module != "gmgclim.data.torch_dataset":
        assert not uses_torch, f"{module} imports torch; only gmgclim.data.torch_dataset may"
    if part in {"conventions", "lexicon", "config", "variables"}:
        assert not any(
            n.startswith("gmgclim.")
            and _part(n) not in ALWAYS_ALLOWED | ALLOWED_INTERNAL[part] | {part}
            for n in _imports(path)
        )


def test_rule_checker_sees_relative_imports(tmp_path: Path):
    """The checker must resolve relative imports, or the rules above could never fail."""
    fake = tmp_path / "fake.py"
    fake.write_text("from ..models import GMG\nfrom . import weights\n")
    names = _imports(fake, module="gmgclim.metrics.fake")
    assert "gmgclim.models" in names
    assert "gmgclim.metrics.weights" in names
    assert _part("gmgclim.models") == "models"


def test_scoring_does_not_import_torch():
    """`gmgclim score` reads stores and scores them with numpy/xarray: torch (2-3 s to import)
    is loaded only when a forecast or a nowcast is made."""
    import subprocess

    code = (
        "import sys, gmgclim.evaluation, gmgclim.cli.score_commands; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
