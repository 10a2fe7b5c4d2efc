"""``gmgclim forecast``: a model's or the extrapolation nowcast's forecasts to a zarr store."""

from __future__ import annotations

import typer

from gmgclim.cli.app import app, note, parse_init_times, status_line


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
        None,
        "--crop",
        help="Grid crop instead of the recipe's (extrapolation: of the entry), e.g. y=0:512,x=0:512.",
    ),
    coarsen: str = typer.Option(
        None, "--coarsen", help="Block means instead of the recipe's, e.g. y=4,x=4."
    ),
    step: str = typer.Option(
        None,
        "--step",
        help="Frame step instead of the recipe's or the entry's (e.g. 10min; on purpose).",
    ),
    probability_matching: str = typer.Option(
        None,
        "--probability-matching",
        help="none or cdf: precipitation takes the last input's values in the forecast's rank "
        "order (default: the recipe's data.probability_matching).",
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

      gmgclim forecast knmi-radar --model extrapolation --coarsen y=2,x=2 --step 10min -o c.zarr
    """
    status_line(f"forecast: {source} ({model}) -> {output}; loading the model and data ...")
    inits = parse_init_times(init_times)
    from gmgclim.data.task import GridSpec

    grid = GridSpec.parse(crop, coarsen) if crop or coarsen else None
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
            grid=grid,
            step=step,
        )
        typer.echo(
            f"{report.store}: {report.n_init_times} init times ({report.n_written} written now)"
        )
        return
    if model != "checkpoint":
        raise ValueError(f"--model must be 'checkpoint' or 'extrapolation', got {model!r}")
    from gmgclim.inference import write_forecast_zarr

    report = write_forecast_zarr(
        source,
        dataset,
        output,
        grid=grid,
        step=step,
        probability_matching=probability_matching,
        init_times=inits,
        split=None if inits is not None else split,
        batch_size=batch_size,
        device=device,
        precision=precision,
        resume=not overwrite,
        progress=progress,
    )
    for line in report.notes:
        note(line)
    typer.echo(
        f"{report.store}: {report.n_init_times} init times ({report.n_written} written now, "
        f"{report.n_skipped} already there) in {report.seconds:.1f} s"
    )
