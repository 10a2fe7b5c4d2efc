"""Forecasts from trained models (and the extrapolation nowcast) as xarray / zarr.

- :func:`forecast`: roll a model over init times, in memory.
- :func:`write_forecast_zarr`: the same, streamed to a resumable zarr store.
- :func:`extrapolation_forecast` / :func:`write_extrapolation_zarr`: pysteps optical-flow
  extrapolation nowcast (the radar baseline) in the same layout.

Modules, one job each: ``forecaster`` (model + task + statistics, checkpoint loading, running the
model), ``plan`` (inputs, init times, output variables), ``layout`` (dims and coordinates every
forecast shares), ``zarr_writer`` (the resumable store writer), ``forecast`` (the two public
entry points), ``extrapolation`` (the nowcast baseline).
"""

from gmgclim.inference.extrapolation import extrapolation_forecast, write_extrapolation_zarr
from gmgclim.inference.forecast import forecast, write_forecast_zarr
from gmgclim.inference.forecaster import Forecaster
from gmgclim.inference.loading import load_forecaster
from gmgclim.inference.zarr_writer import ForecastWriteReport

__all__ = [
    "ForecastWriteReport",
    "Forecaster",
    "extrapolation_forecast",
    "forecast",
    "load_forecaster",
    "write_extrapolation_zarr",
    "write_forecast_zarr",
]
