"""``gmgclim data``: list, describe, check, download and prepare catalogued data."""

from __future__ import annotations

import typer

from gmgclim.cli.app import data_app, note, parse_years, status_line


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
    status_line(f"data download: {source} {', '.join(variable)} ({years}) -> {to} ...")
    from gmgclim.data.weatherbench import download_weatherbench1

    if source != "weatherbench":
        raise ValueError(f"unknown download source {source!r}; supported: weatherbench")
    year_list = parse_years(years)
    for var in variable:
        files = download_weatherbench1(
            var, year_list, to, resolution=resolution, timeout=timeout, progress=True
        )
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
    status_line(f"data prepare: {name} -> {to}; opening the entry ...")
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
            note(f"{n_missing} valid times of {like} are not in {name} and were left out")
        return
    chans = [c.strip() for c in channels.split(",")] if channels else None
    ds = open_entry(name, channels=chans)
    path = prepare_zarr(ds, to, time_chunk=time_chunk, progress=True)
    typer.echo(f"wrote {path} ({', '.join(f'{k}={v}' for k, v in ds.sizes.items())})")
