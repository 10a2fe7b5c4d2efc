"""``gmgclim train``, ``gmgclim demo`` and ``gmgclim recipes``."""

from __future__ import annotations

import sys

import typer

from gmgclim.cli.app import app, status_line


@app.command(
    "train",
    epilog=(
        "Examples:\n\n"
        "  gmgclim train recipes/quickstart.yaml\n\n"
        "  gmgclim train recipes/quickstart.yaml --set training.max_steps=50 "
        "--set output.dir=runs/try\n\n"
        "  torchrun --standalone --nproc_per_node=2 -m gmgclim train recipes/quickstart.yaml\n\n"
        "  torchrun --nnodes=2 --nproc_per_node=4 --node_rank=0 --master_addr=HOST0 "
        "--master_port=29500 -m gmgclim train recipes/weatherbench_t850.yaml\n\n"
        "Training again into the same output.dir resumes from its checkpoint."
    ),
)
def train_command(
    recipe: str = typer.Argument(
        ..., help="Recipe YAML file, or a shipped recipe's name (`gmgclim recipes list`)."
    ),
    set_: list[str] = typer.Option(  # noqa: B008 (typer declares options as defaults)
        None,
        "--set",
        help="Override a recipe key, e.g. --set training.lr=1e-4 (repeatable; values are YAML).",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a model from a recipe; single process, or one process per GPU/CPU under torchrun.

    Writes checkpoints (checkpoints/latest.pt, best.pt), metrics.csv/metrics.jsonl and the
    normalisation statistics to the recipe's output.dir. SIGTERM/SIGINT checkpoint, then exit.
    """
    import os

    status_line(f"train: recipe {recipe}; loading torch, then opening the data ...")
    from gmgclim.config import load_recipe
    from gmgclim.recipe_files import find_recipe
    from gmgclim.training import TrainingInterrupted, train

    loaded = load_recipe(find_recipe(recipe), overrides=list(set_ or []))
    try:
        run_dir = train(loaded, progress=progress)
    except TrainingInterrupted as exc:
        typer.secho(f"interrupted: {exc}", err=True, fg="yellow")
        typer.secho(f"hint: {exc.hint}", err=True)
        sys.exit(128 + exc.signal_number)
    if os.environ.get("RANK", "0") == "0":
        typer.echo(f"run directory: {run_dir}")


@app.command(
    "demo",
    epilog=(
        "Examples:\n\n"
        "  gmgclim demo\n\n"
        "  gmgclim demo --run-dir runs/try --set training.max_steps=50\n\n"
        "Running it again resumes training where it stopped and skips what is already written."
    ),
)
def demo_command(
    run_dir: str = typer.Option("runs/quickstart", "--run-dir", help="Where every output goes."),
    recipe: str = typer.Option(
        "quickstart", "--recipe", help="Recipe file or shipped name (default: the quickstart)."
    ),
    set_: list[str] = typer.Option(  # noqa: B008 (typer declares options as defaults)
        None, "--set", help="Recipe override, e.g. --set training.max_steps=50 (repeatable)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
) -> None:
    """The main job on the bundled real data: train, forecast to zarr, score, map.

    Trains the recipe (by default GMG on the bundled ERA5 UK 2 m temperature sample), forecasts
    its held-back test week to a zarr store, scores it against persistence and climatology, and
    draws truth/forecast/error maps, a skill curve and an animation.
    """
    from pathlib import Path

    out = Path(run_dir)
    forecast_store = out / "forecasts.zarr"
    scores = out / "scores.nc"
    maps = out / "maps.png"
    skill = out / "skill.png"
    animation = out / "forecast.gif"
    bar = [] if progress else ["--no-progress"]
    overrides = [arg for item in (set_ or []) for arg in ("--set", item)]
    baselines = "persistence,climatology"
    stages = [
        ["train", recipe, "--set", f"output.dir={out}", *overrides, *bar],
        ["forecast", str(out), "--split", "test", "-o", str(forecast_store), *bar],
        ["score", str(forecast_store), "--baselines", baselines, "-o", str(scores)],
        ["plot", "maps", str(forecast_store), "-o", str(maps)],
        ["plot", "skill", str(scores), "-o", str(skill)],
        ["plot", "animation", str(forecast_store), "-o", str(animation)],
    ]
    for number, args in enumerate(stages, start=1):
        typer.secho(f"[{number}/{len(stages)}] gmgclim {' '.join(args)}", bold=True)
        app(args=args, standalone_mode=False)
    typer.echo("")
    typer.secho("demo finished; outputs:", bold=True)
    for label, path in [
        ("run directory (checkpoints, metrics.csv)", out),
        ("forecast store", forecast_store),
        ("scores (netCDF)", scores),
        ("scores (CSV)", scores.with_suffix(".csv")),
        ("maps", maps),
        ("skill curve", skill),
        ("animation", animation),
    ]:
        typer.echo(f"  {label:42s} {path}")
    import pandas as pd

    from gmgclim.cli.score_commands import print_verdicts

    print_verdicts(pd.read_csv(scores.with_suffix(".csv")))


recipes_app = typer.Typer(help="The shipped recipes.", no_args_is_help=True)
app.add_typer(recipes_app, name="recipes")


@recipes_app.command("list")
def recipes_list() -> None:
    """List the shipped recipes (name, summary); `gmgclim train NAME` trains one from any folder."""
    from gmgclim.recipe_files import list_recipes

    recipes = list_recipes()
    width = max((len(n) for n in recipes), default=10)
    for name, (_, summary) in recipes.items():
        typer.echo(f"{name:<{width}}  {summary}")
