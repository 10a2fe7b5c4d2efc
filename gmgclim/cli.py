"""The ``gmgclim`` command line: train, forecast, score, plot, data, demo.

Errors raised as :class:`gmgclim.errors.GmgclimError` or ``ValueError`` are printed as one line
plus a hint; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys

import typer

from gmgclim import __version__
from gmgclim.errors import GmgclimError

app = typer.Typer(
    name="gmgclim",
    help="gmgclim: train GMG on gridded weather data, forecast to zarr, score and map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Browse and fetch catalogued data sources.", no_args_is_help=True)
app.add_typer(data_app, name="data")

_STATE = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gmgclim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    # metavar="": typer's rich help would show these flags as `--version <bool>`
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        metavar="",
        help="Print the version.",
    ),
    debug: bool = typer.Option(
        False, "--debug", metavar="", help="Show full tracebacks on errors."
    ),
) -> None:
    """gmgclim: lazy weather data, the GMG model, WeatherBench-style scores and maps."""
    _STATE["debug"] = debug


# ---- section: train (owner: training) ----------------------------------------------------------


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


# ---- end section: train -----------------------------------------------------------------------

# ---- section: forecast / score / plot (owner: inference+metrics) ------------------------------

plot_app = typer.Typer(help="Maps, skill curves and animations of forecasts.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


def _split_list(values: list[str] | None) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (options may be repeated or comma-separated)."""
    return [v.strip() for item in values or [] if item for v in item.split(",") if v.strip()]


def _parse_init_times(values: list[str] | None):
    import numpy as np
    import pandas as pd

    items = _split_list(values)
    if not items:
        return None
    try:
        return np.asarray([np.datetime64(pd.Timestamp(v), "ns") for v in items])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--init-times: cannot read {items} as ISO times ({exc})") from None


def _note(text: str | None) -> None:
    if text:
        typer.secho(f"note: {text}", err=True)


def _plot_inputs(forecast: str, truth: str | None, variable: str | None, init_time: str | None):
    """What a plot shows: the forecast (a note if partly written), its truth over its valid times,
    the variable (default: the first) and the init time (default: the first)."""
    import numpy as np
    import pandas as pd

    from gmgclim.evaluation import open_forecast_store, open_truth

    store = open_forecast_store(forecast)
    _note(store.partial_note("plotting"))
    truth_ds = open_truth(store, truth)
    fc = store.forecast
    init = (
        fc["time"].values[0] if init_time is None else np.datetime64(pd.Timestamp(init_time), "ns")
    )
    return fc, truth_ds, variable or store.variables[0], init


def _print_scores(table) -> None:
    """Scores as rich tables: one per variable and metric, leads as rows, models as columns.

    The layout is decided by :func:`gmgclim.evaluation.report.score_blocks`; this prints it with
    every column as wide as its widest number (nothing is cut).
    """
    import shutil

    from rich.console import Console
    from rich.table import Table

    from gmgclim.evaluation.report import score_blocks

    blocks = score_blocks(table)
    width = shutil.get_terminal_size((100, 24)).columns
    for block in blocks:
        width = max(width, sum(max(map(len, [c, *block.table[c]])) + 3 for c in block.table) + 4)
    console = Console(width=width)
    for block in blocks:
        out = Table(title=block.title, title_justify="left")
        for i, column in enumerate(block.table.columns):
            widest = max(map(len, [column, *block.table[column]]))
            label = i < block.n_label_columns
            out.add_column(
                column, justify="left" if label else "right", no_wrap=True, min_width=widest
            )
        for row in block.table.itertuples(index=False):
            out.add_row(*row)
        console.print(out)


@app.command("forecast")
def forecast_cmd(
    source: str = typer.Argument(
        ...,
        help="Run directory or checkpoint (.pt); with --model extrapolation, a catalog entry.",
    ),
    output: str = typer.Option("forecasts.zarr", "--output", "-o", help="Zarr store."),
    split: str = typer.Option("test", help="Split of the recipe whose init times to forecast."),
    init_times: list[str] = typer.Option(  # noqa: B008 (typer's way to declare a list option)
        None,
        "--init-times",
        help="Init times (ISO, comma-separated or repeated); overrides --split.",
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Init times per model call."),
    device: str = typer.Option("cpu", help="Torch device (cpu, cuda, cuda:1)."),
    precision: str = typer.Option(
        None, help="fp32, bf16 or fp16 autocast (default: the precision the model was trained in)."
    ),
    dataset: str = typer.Option(
        None,
        "--dataset",
        help="Catalog entry instead of the recipe's (read on its native grid unless --crop/--coarsen).",
    ),
    crop: str = typer.Option(
        None, "--crop", help="Grid crop instead of the recipe's, e.g. y=0:512,x=0:512 (indices)."
    ),
    coarsen: str = typer.Option(
        None, "--coarsen", help="Block means instead of the recipe's, e.g. y=4,x=4."
    ),
    step: str = typer.Option(
        None, "--step", help="Frame step instead of the recipe's (e.g. 10min; on purpose)."
    ),
    model: str = typer.Option(
        "checkpoint", "--model", help="'checkpoint' or 'extrapolation' (pysteps optical flow)."
    ),
    lead_steps: int = typer.Option(6, "--lead-steps", help="Extrapolation: lead times (frames)."),
    input_steps: int = typer.Option(3, "--input-steps", help="Extrapolation: frames for motion."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start the store again, no resume."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Forecast every init time of a split and stream the result to a zarr store.

    Resumable: an interrupted run continues where it stopped; a finished one writes nothing.
    Under torchrun each rank writes its own init times.

    Examples:

      gmgclim forecast runs/quickstart --split test --output forecasts.zarr

      gmgclim forecast runs/quickstart/checkpoints/best.pt --init-times 2019-03-26T00,2019-03-27T00

      gmgclim forecast knmi-radar --model extrapolation --lead-steps 12 -o nowcast.zarr

      gmgclim forecast runs/radar_knmi --dataset fmi-radar-rain --coarsen y=2,x=2 -o fmi.zarr
    """
    inits = _parse_init_times(init_times)
    if model == "extrapolation":
        from gmgclim.evaluation import write_extrapolation_nowcast

        report = write_extrapolation_nowcast(
            source,
            output,
            inits,
            lead_steps=lead_steps,
            input_steps=input_steps,
            batch_size=batch_size,
            resume=not overwrite,
            progress=progress,
        )
        typer.echo(
            f"{report.store}: {report.n_init_times} init times ({report.n_written} written now)"
        )
        return
    if model != "checkpoint":
        raise ValueError(f"--model must be 'checkpoint' or 'extrapolation', got {model!r}")
    from gmgclim.data.task import GridSpec
    from gmgclim.inference import write_forecast_zarr

    grid = GridSpec.parse(crop, coarsen) if crop or coarsen else None
    report = write_forecast_zarr(
        source,
        dataset,
        output,
        grid=grid,
        step=step,
        init_times=inits,
        split=None if inits is not None else split,
        batch_size=batch_size,
        device=device,
        precision=precision,
        resume=not overwrite,
        progress=progress,
    )
    typer.echo(
        f"{report.store}: {report.n_init_times} init times ({report.n_written} written now, "
        f"{report.n_skipped} already there) in {report.seconds:.1f} s"
    )


@app.command("score")
def score_cmd(
    forecast: str = typer.Argument(..., help="Forecast zarr store (gmgclim forecast output)."),
    truth: str = typer.Option(None, "--truth", help="Catalog entry (default: the recipe's)."),
    baselines: str = typer.Option(
        "", "--baselines", help="Comma-separated: persistence, climatology, extrapolation."
    ),
    convention: str = typer.Option(
        "wb2", help="wb2 (cell area, sqrt after time mean of MSE) or wb1."
    ),
    metrics: str = typer.Option(
        None, "--metrics", help="Comma-separated (default rmse,mae,bias,acc; radar adds csi,...)."
    ),
    thresholds: str = typer.Option(None, "--thresholds", help="Event thresholds (data units)."),
    scales: str = typer.Option(None, "--scales", help="FSS window widths in pixels (1,3,9)."),
    climatology_years: str = typer.Option(
        None, "--climatology-years", help="e.g. 1979-2015 (default: the training split)."
    ),
    output: str = typer.Option("scores.nc", "--output", "-o", help="Scores netCDF."),
    csv: str = typer.Option(None, "--csv", help="CSV path (default: OUTPUT with .csv)."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask.distributed scheduler address."),
    workers: int = typer.Option(None, "--workers", help="Start a LocalCluster with N workers."),
    init_times: list[str] = typer.Option(  # noqa: B008 (typer's way to declare a list option)
        None, "--init-times", help="Score only these init times (ISO, comma-separated)."
    ),
    leads: str = typer.Option(
        None, "--leads", help="Score only these lead times, e.g. 5min,30min,1h or 6h,24h."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Score a forecast store against a catalogued truth, with baselines scored the same way.

    Writes an xr.Dataset as netCDF, a CSV (one row per score) and a table on the console.

    Examples:

      gmgclim score forecasts.zarr --baselines persistence,climatology

      gmgclim score forecasts.zarr --truth era5-uk-t2m --convention wb1 --output wb1.nc

      gmgclim score nowcast.zarr --truth knmi-radar --baselines persistence,extrapolation --thresholds 0.5,1,5
    """
    from gmgclim.evaluation import dask_client, score_store, write_scores
    from gmgclim.inference.progress import InitTimeProgress

    with (
        dask_client(scheduler, workers),
        InitTimeProgress("scoring", progress, transient=True) as bar,
    ):
        result = score_store(
            forecast,
            truth=truth,
            baselines=_split_list([baselines]),
            convention=convention,
            metrics=_split_list([metrics]) or None,
            thresholds=[float(v) for v in _split_list([thresholds])] or None,
            scales=[int(v) for v in _split_list([scales])] or None,
            climatology_years=_parse_years(climatology_years) if climatology_years else None,
            init_times=_parse_init_times(init_times),
            lead_times=_split_list([leads]) or None,
            progress=bar,
        )
    for note in result.notes:
        _note(note)
    nc_path, csv_path = write_scores(result, output, csv)
    _print_scores(result.table)
    _print_verdicts(result.table)
    typer.echo(f"wrote {nc_path} and {csv_path}")


def _print_verdicts(table) -> None:
    """One honest line per variable: at how many leads the model beats each baseline."""
    from gmgclim.evaluation.verdict import verdict_lines

    for line in verdict_lines(table):
        typer.secho(f"verdict: {line}", bold=True)


def _parse_leads(values: str | None):
    import pandas as pd

    if not values:
        return None
    return [pd.Timedelta(v).to_timedelta64() for v in _split_list([values])]


@plot_app.command("maps")
def plot_maps_cmd(
    forecast: str = typer.Argument(..., help="Forecast zarr store."),
    variable: str = typer.Option(None, "--variable", "-v", help="Variable (default: the first)."),
    truth: str = typer.Option(None, "--truth", help="Catalog entry (default: the recipe's)."),
    init_time: str = typer.Option(None, "--init-time", help="Init time (default: the first)."),
    lead_times: str = typer.Option(None, "--lead-times", help="e.g. 6h,24h,48h (default: all)."),
    level: int = typer.Option(None, "--level", help="Pressure level (hPa)."),
    projection: str = typer.Option("auto", help="auto, robinson or platecarree."),
    output: str = typer.Option("maps.png", "--output", "-o", help="Image path."),
) -> None:
    """Truth, forecast and error maps with coastlines, one row per lead time.

    Examples:

      gmgclim plot maps forecasts.zarr --lead-times 6h,24h,48h -o maps.png

      gmgclim plot maps forecasts.zarr --variable temperature --level 850 --init-time 2018-01-01
    """
    from gmgclim.plotting.maps import plot_forecast_maps

    fc, truth_ds, var, init = _plot_inputs(forecast, truth, variable, init_time)
    path = plot_forecast_maps(
        fc,
        truth_ds,
        var,
        init,
        _parse_leads(lead_times),
        output,
        level=level,
        projection=projection,
    )
    typer.echo(f"wrote {path}")


@plot_app.command("skill")
def plot_skill_cmd(
    scores: str = typer.Argument(..., help="Scores netCDF (gmgclim score output)."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated subset."),
    variables: str = typer.Option(None, "--variables", help="Comma-separated subset."),
    level: int = typer.Option(None, "--level", help="Pressure level (hPa)."),
    output: str = typer.Option("skill.png", "--output", "-o", help="Image path."),
) -> None:
    """Each score against lead time, the model solid and the baselines dashed.

    Examples:

      gmgclim plot skill scores.nc -o skill.png

      gmgclim plot skill scores.nc --metrics rmse,acc --level 500
    """
    from pathlib import Path

    import xarray as xr

    from gmgclim.plotting.skill import plot_skill_curves

    if not Path(scores).exists():
        raise FileNotFoundError(f"scores file {scores} does not exist")
    with xr.open_dataset(scores) as ds:
        ds = ds.load()
    path = plot_skill_curves(
        ds,
        output,
        variables=_split_list([variables]) or None,
        metrics=_split_list([metrics]) or None,
        level=level,
    )
    typer.echo(f"wrote {path}")


@plot_app.command("animation")
def plot_animation_cmd(
    forecast: str = typer.Argument(..., help="Forecast zarr store."),
    variable: str = typer.Option(None, "--variable", "-v", help="Variable (default: the first)."),
    truth: str = typer.Option(None, "--truth", help="Catalog entry (default: the recipe's)."),
    init_time: str = typer.Option(None, "--init-time", help="Init time (default: the first)."),
    level: int = typer.Option(None, "--level", help="Pressure level (hPa)."),
    fps: float = typer.Option(2.0, help="Lead times per second."),
    output: str = typer.Option("forecast.gif", "--output", "-o", help=".gif or .mp4"),
) -> None:
    """Animate truth next to forecast over the lead times of one init time.

    Examples:

      gmgclim plot animation forecasts.zarr -o forecast.gif

      gmgclim plot animation nowcast.zarr --truth knmi-radar --fps 4 -o nowcast.gif
    """
    from gmgclim.plotting.animate import animate_forecast

    fc, truth_ds, var, init = _plot_inputs(forecast, truth, variable, init_time)
    path = animate_forecast(fc, truth_ds, var, init, output, level=level, fps=fps)
    typer.echo(f"wrote {path}")


# ---- end section: forecast / score / plot -----------------------------------------------------

# ---- section: data (owner: data) --------------------------------------------------------------


def _parse_years(text: str) -> list[int]:
    """``"1979-2018"`` -> [1979, ..., 2018]; ``"2016,2017"`` -> [2016, 2017]."""
    years: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            if not (lo.isdigit() and hi.isdigit()) or int(hi) < int(lo):
                raise ValueError(f"--years {text!r}: expected e.g. 1979-2018 or 2016,2017")
            years.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            years.append(int(part))
        else:
            raise ValueError(f"--years {text!r}: expected e.g. 1979-2018 or 2016,2017")
    return years


@data_app.command("list")
def data_list() -> None:
    """List catalog entries (name, driver, channels, description)."""
    from gmgclim.data.catalog import load_catalogs

    entries = load_catalogs()
    width = max(len(n) for n in entries) if entries else 10
    for name, entry in entries.items():
        channels = ",".join(entry.channels) or "-"
        typer.echo(f"{name:<{width}}  {entry.driver:<20}  {channels:<22}  {entry.description}")


@data_app.command("describe")
def data_describe(
    name: str = typer.Argument(..., help="Catalog entry name (see `gmgclim data list`)."),
    no_open: bool = typer.Option(False, "--no-open", help="Do not open the data (metadata only)."),
) -> None:
    """Describe a catalog entry: metadata, and dims/sizes/coverage when the data can be opened."""
    from gmgclim.data.catalog import describe_entry, get_entry

    typer.echo(describe_entry(get_entry(name), open_data=not no_open))


@data_app.command("check")
def data_check(
    name: str = typer.Argument(..., help="Catalog entry name (see `gmgclim data list`)."),
    sample_frames: int = typer.Option(8, "--sample-frames", help="Frames read for NaN shares."),
) -> None:
    """Check an entry: channels, units, grid, time step, gaps, NaN share, and each problem's fix."""
    from gmgclim.data.entry_check import check_entry

    report = check_entry(name, sample_frames=sample_frames)
    typer.echo(report.format())
    if not report.ok:
        raise typer.Exit(1)


@data_app.command("download")
def data_download(
    source: str = typer.Argument(..., help="What to download: 'weatherbench' (WeatherBench 1)."),
    variable: list[str] = typer.Option(  # noqa: B008 (typer's declaration style)
        ..., "--variable", help="WB1 directory, e.g. temperature_850 (repeatable)."
    ),
    years: str = typer.Option("1979-2018", "--years", help="Years, e.g. 1979-2018 or 2016,2017."),
    to: str = typer.Option(..., "--to", help="Destination root directory."),
    resolution: str = typer.Option("5.625", "--resolution", help="5.625, 2.8125 or 1.40625 deg."),
    timeout: float = typer.Option(10.0, "--timeout", help="Network timeout in seconds."),
) -> None:
    """Download WeatherBench 1 files from the public TUM server (needs a network)."""
    from gmgclim.data.weatherbench import download_weatherbench1

    if source != "weatherbench":
        raise ValueError(f"unknown download source {source!r}; supported: weatherbench")
    year_list = _parse_years(years)
    for var in variable:
        files = download_weatherbench1(var, year_list, to, resolution=resolution, timeout=timeout)
        typer.echo(f"{var}: {len(files)} files in {files[0].parent}")


@data_app.command("prepare")
def data_prepare(
    name: str = typer.Argument(..., help="Catalog entry name."),
    to: str = typer.Option(..., "--to", "--output", "-o", help="Destination zarr store."),
    channels: str = typer.Option(
        None, "--channels", help="Comma-separated channels, e.g. t850,z500."
    ),
    like: str = typer.Option(
        None, "--like", help="Forecast store: write the truth on its grid and valid times."
    ),
    time_chunk: int = typer.Option(48, "--time-chunk", help="Time steps per zarr chunk."),
) -> None:
    """Rechunk a catalog entry into a local zarr store (zarr v2, consolidated).

    Examples:

      gmgclim data prepare era5-t2m-uk --to t2m.zarr

      gmgclim data prepare era5-t2m-uk --like forecasts.zarr -o truth.zarr
    """
    from gmgclim.data.catalog import open_entry
    from gmgclim.data.gridded import prepare_zarr

    if like is not None:
        from gmgclim.evaluation import write_truth_like

        if channels:
            raise ValueError("--like takes the forecast's variables; leave out --channels")
        path, truth, n_missing = write_truth_like(like, to, name, time_chunk, progress=True)
        sizes = ", ".join(f"{k}={v}" for k, v in truth.sizes.items())
        typer.echo(f"wrote {path} ({sizes}): the truth of {like} on its grid and valid times")
        if n_missing:
            _note(f"{n_missing} valid times of {like} are not in {name} and were left out")
        return
    chans = [c.strip() for c in channels.split(",")] if channels else None
    ds = open_entry(name, channels=chans)
    path = prepare_zarr(ds, to, time_chunk=time_chunk, progress=True)
    typer.echo(f"wrote {path} ({', '.join(f'{k}={v}' for k, v in ds.sizes.items())})")


# ---- end section: data ------------------------------------------------------------------------

# ---- section: demo (owner: lead) --------------------------------------------------------------


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

    _print_verdicts(pd.read_csv(scores.with_suffix(".csv")))


# ---- end section: demo ------------------------------------------------------------------------

# ---- section: recipes (owner: data) -----------------------------------------------------------

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


# ---- end section: recipes ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one clear line and exit code 2."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (GmgclimError, ValueError, FileNotFoundError, KeyError) as exc:
        if debug:
            raise
        typer.secho(f"error: {exc}", err=True, fg="red")
        hint = getattr(exc, "hint", None)
        typer.secho(f"hint: {hint or 'run again with --debug for the full traceback'}", err=True)
        sys.exit(2)
    except Exception as exc:
        # click's usage errors (typer may vendor click, so match by behaviour, not by class)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            typer.echo("aborted", err=True)
            sys.exit(130)
        raise
