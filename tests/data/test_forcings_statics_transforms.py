"""Forcings (insolation, clocks), statics (position, land-sea mask) and target transforms."""

from __future__ import annotations

import numpy as np
import pytest

from gmgclim.data.forcings import SOLAR_CONSTANT_W_M2, forcing_fields, toa_insolation
from gmgclim.data.statics import land_fraction, static_fields
from gmgclim.data.transforms import forward, inverse
from gmgclim.errors import DataError


def _point(lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([[lat]]), np.array([[lon]])


def test_insolation_at_the_equator_at_noon_on_the_june_solstice():
    # 2019-06-21 12:00 UTC at 0 N 0 E. By hand from Spencer (1971): fractional year
    # gamma = 2 pi / 365 * 171 = 2.9436 rad; declination 0.4093 rad (23.45 deg); equation of
    # time -1.62 min, so the hour angle is -0.41 deg; Earth-Sun factor E0 = 0.9683.
    # cos(zenith) = cos(23.45 deg) cos(0.41 deg) = 0.9174; TOA = 1361 * 0.9683 * 0.9174 = 1209 W m-2.
    lat, lon = _point(0.0, 0.0)
    value = toa_insolation(np.array(["2019-06-21T12:00"], "datetime64[ns]"), lat, lon, False)
    assert value.shape == (1, 1, 1)
    assert float(value[0, 0, 0]) == pytest.approx(1209.0, rel=2e-3)


def test_insolation_polar_day_night_and_normalisation():
    times = np.array(["2019-06-21T00:00", "2019-12-21T12:00"], "datetime64[ns]")
    lat, lon = _point(90.0, 0.0)
    pole = toa_insolation(times, lat, lon, normalised=False)
    # June: the sun stays 23.44 deg above the pole's horizon all day: 1361 * 0.968 * sin(23.44)
    assert float(pole[0, 0, 0]) == pytest.approx(
        1361 * 0.9683 * np.sin(np.deg2rad(23.44)), rel=5e-3
    )
    assert float(pole[1, 0, 0]) == 0.0  # polar night in December
    lat, lon = _point(52.0, 5.0)
    night = toa_insolation(np.array(["2019-03-20T00:00"], "datetime64[ns]"), lat, lon)
    assert float(night[0, 0, 0]) == 0.0
    noon = toa_insolation(np.array(["2019-03-20T12:00"], "datetime64[ns]"), lat, lon, False)
    normalised = toa_insolation(np.array(["2019-03-20T12:00"], "datetime64[ns]"), lat, lon)
    assert float(normalised[0, 0, 0]) * SOLAR_CONSTANT_W_M2 == pytest.approx(float(noon[0, 0, 0]))


def test_clock_forcings_and_shapes():
    times = np.array(["2019-01-01T06:00", "2019-01-01T18:00"], "datetime64[ns]")
    lat, lon = np.meshgrid([50.0, 51.0], [0.0, 90.0, 180.0], indexing="ij")
    out = forcing_fields(["utc_hour_sin", "local_hour_cos", "day_of_year_sin"], times, lat, lon)
    assert out.shape == (2, 3, 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0, 0], [1.0, -1.0], atol=1e-6)  # 06 and 18 UTC
    # local solar time at 90 E, 06 UTC is noon: cos(pi) = -1; at 180 E it is 18 h: cos = 0
    assert out[0, 1, 0, 1] == pytest.approx(-1.0, abs=1e-6)
    assert out[0, 1, 0, 2] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(DataError, match=r"unknown forcings.*'moon'"):
        forcing_fields(["moon"], times, lat, lon)


@pytest.mark.parametrize(
    ("lat", "lon", "land"),
    [
        (52.5, 358.5, 1.0),  # central England (longitude in the [0, 360) convention)
        (23.0, 10.0, 1.0),  # Sahara
        (60.0, 100.0, 1.0),  # Siberia
        (30.0, -40.0, 0.0),  # mid-Atlantic
        (-20.0, -100.0, 0.0),  # Pacific off Peru
        (55.5, 4.0, 0.0),  # North Sea
    ],
)
def test_land_sea_mask_over_known_points(lat, lon, land):
    # a 2 x 2 patch of 0.25 deg cells at each place (cell sizes come from the grid spacing)
    lat2, lon2 = np.meshgrid([lat, lat + 0.25], [lon, lon + 0.25], indexing="ij")
    np.testing.assert_array_equal(land_fraction(lat2, lon2), land)


def test_land_sea_mask_coast_is_fractional():
    # 2 deg cells along 52 N from the Irish Sea to the Netherlands cut coastlines
    lat, lon = np.meshgrid([52.0, 54.0], np.arange(-10.0, 8.0, 2.0), indexing="ij")
    mask = land_fraction(lat, lon)
    assert ((mask > 0) & (mask < 1)).any()
    assert mask.min() >= 0.0 and mask.max() <= 1.0


def test_static_fields_layout_and_errors():
    lat, lon = np.meshgrid([0.0, 30.0], [0.0, 90.0], indexing="ij")
    out = static_fields(["sin_latitude", "cos_longitude"], lat, lon)
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out[0], [[0.0, 0.0], [0.5, 0.5]], atol=1e-6)
    np.testing.assert_allclose(out[1], [[1.0, 0.0], [1.0, 0.0]], atol=1e-6)
    with pytest.raises(DataError, match=r"data\.statics: unknown statics"):
        static_fields(["orography_typo"], lat, lon)


@pytest.mark.parametrize("name", ["none", "log", "dbr"])
def test_transform_round_trip(name):
    rain = np.array([0.0, 0.1, 0.5, 1.0, 5.0, 30.0, np.nan], dtype=np.float32)
    back = inverse(name, forward(name, rain))
    np.testing.assert_allclose(back, rain, rtol=1e-5, atol=1e-6)


def test_transform_values_by_hand():
    # log: log(1 + 0.1) - log(0.1) = log(11) = 2.3979; dbr: 10 log10(10) = 10 dB, floor -15 dB
    np.testing.assert_allclose(forward("log", np.array([0.0, 1.0])), [0.0, np.log(11.0)], rtol=1e-6)
    np.testing.assert_allclose(forward("dbr", np.array([0.0, 10.0])), [-15.0, 10.0], rtol=1e-6)
    # a network output between the floor and the threshold is no rain
    assert inverse("dbr", np.array([-12.0]))[0] == 0.0
    with pytest.raises(DataError, match="unknown transform 'sqrt'"):
        forward("sqrt", np.ones(2))
