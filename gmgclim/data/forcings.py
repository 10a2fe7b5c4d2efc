"""Forcings: inputs known in advance for every frame, computed from time and position alone.

A model reads them for its input and target frames but never predicts them. All are pure
functions of ``time`` (UTC) and the grid's latitude/longitude; no data file is needed.

Names (``data.forcings`` in a recipe):

``toa_insolation``
    Instantaneous top-of-atmosphere solar irradiance divided by the solar constant
    (1361 W m-2), so about 0 .. 1.07: ``E0 * max(cos(zenith), 0)``, with the declination,
    equation of time and Earth-Sun distance factor ``E0`` of Spencer (1971).
``utc_hour_sin``, ``utc_hour_cos``
    The UTC time of day as an angle (24 h = 2 pi).
``local_hour_sin``, ``local_hour_cos``
    Local mean solar time (UTC + longitude / 15 h) as an angle.
``day_of_year_sin``, ``day_of_year_cos``
    The fraction of the year as an angle (365.25 days = 2 pi).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gmgclim.errors import DataError

__all__ = ["FORCINGS", "SOLAR_CONSTANT_W_M2", "forcing_fields", "toa_insolation"]

#: Total solar irradiance at 1 au (W m-2), Kopp & Lean (2011).
SOLAR_CONSTANT_W_M2 = 1361.0


def _hours_and_days(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UTC hour of day, day of year starting at 0) of datetime64 times, both float64, (T,)."""
    t = np.asarray(times, dtype="datetime64[ns]")
    day_start = t.astype("datetime64[D]")
    hours = (t - day_start) / np.timedelta64(1, "h")
    year_start = t.astype("datetime64[Y]").astype("datetime64[D]")
    days = (day_start - year_start) / np.timedelta64(1, "D")
    return hours.astype(np.float64), days.astype(np.float64)


def toa_insolation(
    times: np.ndarray, latitude: np.ndarray, longitude: np.ndarray, normalised: bool = True
) -> np.ndarray:
    """Instantaneous top-of-atmosphere solar irradiance.

    Parameters
    ----------
    times : array of datetime64, shape (T,)
        UTC.
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees north and east of every cell (broadcast 1-D axes with ``np.meshgrid`` first).
    normalised : bool
        Divide by :data:`SOLAR_CONSTANT_W_M2` (True) or return W m-2.

    Returns
    -------
    np.ndarray
        (T, H, W) float32; zero at night.
    """
    hours, days = _hours_and_days(times)
    gamma = 2.0 * np.pi / 365.0 * (days + (hours - 12.0) / 24.0)  # fractional year (rad)
    declination = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    equation_of_time_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    distance_factor = (
        1.000110
        + 0.034221 * np.cos(gamma)
        + 0.001280 * np.sin(gamma)
        + 0.000719 * np.cos(2 * gamma)
        + 0.000077 * np.sin(2 * gamma)
    )
    lat = np.deg2rad(np.asarray(latitude, dtype=np.float64))[None]
    lon = np.asarray(longitude, dtype=np.float64)[None]
    solar_hours = hours[:, None, None] + lon / 15.0 + equation_of_time_min[:, None, None] / 60.0
    hour_angle = np.deg2rad(15.0 * (solar_hours - 12.0))
    dec = declination[:, None, None]
    cos_zenith = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(hour_angle)
    value = distance_factor[:, None, None] * np.clip(cos_zenith, 0.0, None)
    if not normalised:
        value = value * SOLAR_CONSTANT_W_M2
    return value.astype(np.float32)


def _angle(fraction: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return fn(2.0 * np.pi * fraction).astype(np.float32)


def _utc_hour(kind: Callable) -> Callable:
    def field(times: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        hours, _ = _hours_and_days(times)
        return np.broadcast_to(_angle(hours / 24.0, kind)[:, None, None], (len(hours), *lat.shape))

    return field


def _local_hour(kind: Callable) -> Callable:
    def field(times: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        hours, _ = _hours_and_days(times)
        local = hours[:, None, None] + np.asarray(lon, dtype=np.float64)[None] / 15.0
        return _angle(local / 24.0, kind)

    return field


def _day_of_year(kind: Callable) -> Callable:
    def field(times: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        hours, days = _hours_and_days(times)
        fraction = (days + hours / 24.0) / 365.25
        return np.broadcast_to(_angle(fraction, kind)[:, None, None], (len(hours), *lat.shape))

    return field


#: name -> f(times (T,), latitude (H, W), longitude (H, W)) -> (T, H, W) float32.
FORCINGS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "toa_insolation": toa_insolation,
    "utc_hour_sin": _utc_hour(np.sin),
    "utc_hour_cos": _utc_hour(np.cos),
    "local_hour_sin": _local_hour(np.sin),
    "local_hour_cos": _local_hour(np.cos),
    "day_of_year_sin": _day_of_year(np.sin),
    "day_of_year_cos": _day_of_year(np.cos),
}


def check_forcing_names(names: Sequence[str], where: str = "data.forcings") -> None:
    """Raise a DataError naming ``where`` and the known names if a name is unknown."""
    unknown = [n for n in names if n not in FORCINGS]
    if unknown:
        raise DataError(f"{where}: unknown forcings {unknown}; known: {sorted(FORCINGS)}")


def forcing_fields(
    names: Sequence[str], times: np.ndarray, latitude: np.ndarray, longitude: np.ndarray
) -> np.ndarray:
    """The named forcings at ``times`` on a grid.

    Parameters
    ----------
    names : sequence of str
        Keys of :data:`FORCINGS`, in channel order.
    times : array of datetime64, shape (T,)
    latitude, longitude : np.ndarray, shape (H, W)
        Degrees of every cell.

    Returns
    -------
    np.ndarray
        (T, F, H, W) float32, F = len(names).
    """
    check_forcing_names(names)
    times = np.asarray(times, dtype="datetime64[ns]")
    lat, lon = np.asarray(latitude), np.asarray(longitude)
    if not names:
        return np.zeros((len(times), 0, *lat.shape), dtype=np.float32)
    return np.stack([FORCINGS[n](times, lat, lon) for n in names], axis=1).astype(np.float32)
