"""gmgclim: lazy weather data, the GMG forecasting model, WeatherBench-style scoring and maps."""

# pyproj must load PROJ before netCDF4 reads a file: in the PyPI wheels the two bundle clashing
# libraries, and the other order fails ("no database context") or crashes at exit. Importing
# it here makes every entry point (readers, plotting, notebooks) safe.
try:
    import pyproj  # noqa: F401
except ImportError:  # pyproj is a dependency; without it only radar lat/lon and maps are lost
    pass

__version__ = "0.1.0"

__all__ = ["__version__"]
