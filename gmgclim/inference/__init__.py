"""Forecasts from trained models (and the extrapolation nowcast) as xarray / zarr.

- :func:`forecast`: roll a model over init times, in memory.
- :func:`write_forecast_zarr`: the same, streamed to a resumable zarr store.
- :func:`extrapolation_forecast` / :func:`write_extrapolation_zarr`: pysteps optical-flow
  extrapolation nowcast (the radar baseline) in the same layout.
"""

from gmgclim.inference.extrapolation import extrapolation_forecast, write_extrapolation_zarr
from gmgclim.inference.forecast import (
    Forecaster,
    ForecastWriteReport,
    forecast,
    load_forecaster,
    write_forecast_zarr,
)

__all__ = [
    "ForecastWriteReport",
    "Forecaster",
    "extrapolation_forecast",
    "forecast",
    "load_forecaster",
    "write_extrapolation_zarr",
    "write_forecast_zarr",
]
