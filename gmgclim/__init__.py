"""gmgclim: lazy weather data, the GMG forecasting model, WeatherBench-style scoring and maps."""

__version__ = "0.1.0"

__all__ = ["__version__"]
