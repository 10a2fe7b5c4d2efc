"""``gmgclim plot``: maps, skill curves and animations of forecasts."""

from __future__ import annotations

import typer

from gmgclim.cli.app import app, note, split_list

plot_app = typer.Typer(help="Maps, skill curves and animations of forecasts.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


def _plot_inputs(forecast: str, truth: str | None, variable: str | None, init_time: str | None):
    """What a plot shows: the forecast (a note if partly written), its truth over its valid times,
    the variable (default: the first) and the init time (default: the first)."""
    import numpy as np
    import pandas as pd

    from gmgclim.evaluation import open_forecast_store, open_truth

    store = open_forecast_store(forecast)
    note(store.partial_note("plotting"))
    truth_ds = open_truth(store, truth)
    fc = store.forecast
    init = (
        fc["time"].values[0] if init_time is None else np.datetime64(pd.Timestamp(init_time), "ns")
    )
    return fc, truth_ds, variable or store.variables[0], init


def _parse_leads(values: str | None):
    import pandas as pd

    if not values:
        return None
    return [pd.Timedelta(v).to_timedelta64() for v in split_list([values])]


# the options the plot commands share (Typer reads them as the parameters' defaults)
_FORECAST = typer.Argument(..., help="Forecast zarr store.")
_VARIABLE = typer.Option(None, "--variable", "-v", help="Variable (default: the first).")
_TRUTH = typer.Option(None, "--truth", help="Catalog entry (default: the recipe's).")
_INIT_TIME = typer.Option(None, "--init-time", help="Init time (default: the first).")
_LEVEL = typer.Option(None, "--level", help="Pressure level (hPa).")


@plot_app.command("maps")
def plot_maps_cmd(
    forecast: str = _FORECAST,
    variable: str = _VARIABLE,
    truth: str = _TRUTH,
    init_time: str = _INIT_TIME,
    lead_times: str = typer.Option(None, "--lead-times", help="e.g. 6h,24h,48h (default: all)."),
    level: int = _LEVEL,
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
    level: int = _LEVEL,
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
        variables=split_list([variables]) or None,
        metrics=split_list([metrics]) or None,
        level=level,
    )
    typer.echo(f"wrote {path}")


@plot_app.command("animation")
def plot_animation_cmd(
    forecast: str = _FORECAST,
    variable: str = _VARIABLE,
    truth: str = _TRUTH,
    init_time: str = _INIT_TIME,
    level: int = _LEVEL,
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
