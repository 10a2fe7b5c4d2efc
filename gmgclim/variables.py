"""The canonical variables of gmgclim and their CF attributes: one table, imported by both
:mod:`gmgclim.conventions` (renaming and validating datasets) and :mod:`gmgclim.lexicon` (channel
short names).

A leaf module: it imports nothing from gmgclim, so the two modules that may import nothing else can
share it.
"""

from __future__ import annotations

__all__ = ["CANONICAL_VARIABLES"]

#: Canonical (WeatherBench 2) variable name -> (CF units, long_name, standard_name or None).
CANONICAL_VARIABLES: dict[str, tuple[str, str, str | None]] = {
    "temperature": ("K", "temperature", "air_temperature"),
    "geopotential": ("m2 s-2", "geopotential", "geopotential"),
    "u_component_of_wind": ("m s-1", "eastward wind", "eastward_wind"),
    "v_component_of_wind": ("m s-1", "northward wind", "northward_wind"),
    "specific_humidity": ("kg kg-1", "specific humidity", "specific_humidity"),
    "relative_humidity": ("%", "relative humidity", "relative_humidity"),
    "potential_vorticity": ("K m2 kg-1 s-1", "potential vorticity", "ertel_potential_vorticity"),
    "vorticity": ("s-1", "relative vorticity", "atmosphere_relative_vorticity"),
    "2m_temperature": ("K", "2 metre temperature", "air_temperature"),
    "10m_u_component_of_wind": ("m s-1", "10 metre eastward wind", "eastward_wind"),
    "10m_v_component_of_wind": ("m s-1", "10 metre northward wind", "northward_wind"),
    "mean_sea_level_pressure": ("Pa", "mean sea level pressure", "air_pressure_at_mean_sea_level"),
    "total_precipitation": ("m", "total precipitation", "precipitation_amount"),
    "total_cloud_cover": ("1", "total cloud cover", "cloud_area_fraction"),
    "toa_incident_solar_radiation": (
        "J m-2",
        "TOA incident solar radiation",
        "toa_incoming_shortwave_flux",
    ),
    "precipitation_rate": ("mm h-1", "precipitation rate", "rainfall_rate"),
    "reflectivity": ("dBZ", "equivalent radar reflectivity factor", None),
    "orography": ("m", "orography", "surface_altitude"),
    "land_sea_mask": ("1", "land-sea mask", "land_binary_mask"),
    "soil_type": ("1", "soil type", None),
}
