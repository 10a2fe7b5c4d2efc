"""Maps (cartopy, offline), skill curves and animations of forecasts and scores.

Matplotlib runs with the Agg backend; every function writes a file and returns its path.
"""

from gmgclim.plotting._cartopy import configure_cartopy_offline, natural_earth_dir
from gmgclim.plotting.animate import animate_forecast
from gmgclim.plotting.maps import plot_forecast_maps
from gmgclim.plotting.skill import plot_skill_curves

__all__ = [
    "animate_forecast",
    "configure_cartopy_offline",
    "natural_earth_dir",
    "plot_forecast_maps",
    "plot_skill_curves",
]
