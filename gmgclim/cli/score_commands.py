"""``gmgclim score``: scores of a forecast store against its truth and baselines, printed."""

from __future__ import annotations

import typer

from gmgclim.cli.app import (
    app,
    note,
    parse_init_times,
    parse_years,
    split_list,
    status_line,
)


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
    status_line(
        f"score: {forecast} against {truth or 'the truth it records'}; opening the stores ..."
    )
    from gmgclim.evaluation import dask_client, score_store, write_scores
    from gmgclim.progress import InitTimeProgress

    with (
        dask_client(scheduler, workers),
        InitTimeProgress("scoring", progress, transient=True) as bar,
    ):
        result = score_store(
            forecast,
            truth=truth,
            baselines=split_list([baselines]),
            convention=convention,
            metrics=split_list([metrics]) or None,
            thresholds=[float(v) for v in split_list([thresholds])] or None,
            scales=[int(v) for v in split_list([scales])] or None,
            climatology_years=parse_years(climatology_years) if climatology_years else None,
            init_times=parse_init_times(init_times),
            lead_times=split_list([leads]) or None,
            progress=bar,
        )
    for line in result.notes:
        note(line)
    nc_path, csv_path = write_scores(result, output, csv)
    _print_scores(result.table)
    print_verdicts(result.table)
    typer.echo(f"wrote {nc_path} and {csv_path}")


def print_verdicts(table) -> None:
    """One honest line per variable: at how many leads the model beats each baseline."""
    from gmgclim.evaluation.verdict import verdict_lines

    for line in verdict_lines(table):
        typer.secho(f"verdict: {line}", bold=True)
