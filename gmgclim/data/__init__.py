"""Lazy data layer: catalogs, readers (WeatherBench 1/2, radar, netCDF/zarr), windows, statistics.

Import order matters on this platform: the ``netCDF4`` and ``pyproj`` wheels bundle clashing shared
libraries, and ``pyproj`` fails ("proj_create: no database context specified", sometimes a crash)
when it is first loaded *after* netCDF4 has read a file. Loading pyproj first avoids that, so this
package does it before any reader can open a netCDF file.
"""

try:  # pragma: no cover - import side effect only
    import pyproj as _pyproj  # noqa: F401
except ImportError:  # pragma: no cover - pyproj comes with cartopy/pysteps
    pass
