import numpy as np
import pytest
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.metrics import cell_area_weights, latitude_cell_bounds, latitude_weights_wb1
from gmgclim.metrics.weights import latitude_bounds_of, spatial_weights


def test_wb1_weights_hand_values():
    # cos(0) = 1, cos(60 deg) = 0.5; mean 0.75 -> 1/0.75 = 4/3 and 0.5/0.75 = 2/3.
    w = latitude_weights_wb1(np.array([0.0, 60.0]))
    np.testing.assert_allclose(w.values, [4 / 3, 2 / 3])
    assert w.dims == ("latitude",)


def test_cell_area_weights_hand_values_with_poles():
    # Rows at -90, 0, 90: bounds -90, -45, 45, 90 (half a step beyond the edge rows is past the
    # poles, clipped at +-90). Areas sin(-45)-sin(-90) = 1 - sqrt(2)/2,
    # sin(45)-sin(-45) = sqrt(2), and 1 - sqrt(2)/2; their mean is 2/3.
    w = cell_area_weights(np.array([-90.0, 0.0, 90.0]))
    edge = (1 - np.sqrt(2) / 2) * 1.5
    np.testing.assert_allclose(w.values, [edge, np.sqrt(2) * 1.5, edge])
    np.testing.assert_allclose(w.mean(), 1.0)


def test_cell_area_equals_cos_on_pole_free_regular_grid():
    # With midpoint bounds that fall on the regular cell edges, the area of a row is
    # 2 sin(dlat/2) cos(lat): proportional to cos(lat), so both conventions agree (WB1 5.625 deg grid).
    lat = np.linspace(-87.1875, 87.1875, 32)
    np.testing.assert_allclose(cell_area_weights(lat).values, latitude_weights_wb1(lat).values)


def test_cell_area_differs_from_cos_when_grid_includes_poles():
    # The WB2 0.25 deg grid has rows at +-90: cos gives them zero weight, the cell area does not.
    lat = np.linspace(-90, 90, 7)
    area = cell_area_weights(lat).values
    cos = latitude_weights_wb1(lat).values
    assert area[0] > 0 and cos[0] == pytest.approx(0, abs=1e-12)


def test_descending_latitudes_keep_their_order():
    lat = np.array([60.0, 0.0, -60.0])
    w = cell_area_weights(lat)
    np.testing.assert_allclose(w.values, cell_area_weights(lat[::-1]).values[::-1])
    np.testing.assert_array_equal(w.latitude.values, lat)


def test_bad_latitudes_raise():
    with pytest.raises(DataError, match=r"\[-90, 90\]"):
        cell_area_weights(np.array([0.0, 100.0]))
    with pytest.raises(DataError, match="repeated"):
        latitude_weights_wb1(np.array([10.0, 10.0]))


def _wb2_get_lat_weights(lat_deg: np.ndarray) -> np.ndarray:
    """WeatherBench 2's own formula (weatherbench2.utils.get_lat_weights), written out: bounds at
    the midpoints between rows and at the poles for the first and last rows."""
    lat = np.deg2rad(lat_deg)
    bounds = np.concatenate([[-np.pi / 2], (lat[:-1] + lat[1:]) / 2, [np.pi / 2]])
    area = np.sin(bounds[1:]) - np.sin(bounds[:-1])
    return area / area.mean()


def test_regional_grid_bounds_half_a_step_beyond_the_edges():
    # Rows at 50, 51, 52 N: cell bounds 49.5, 50.5, 51.5, 52.5 (half a step beyond the edge rows).
    # A centred cell of height 1 deg has area sin(lat + 0.5) - sin(lat - 0.5) = 2 cos(lat) sin(0.5),
    # so the weights are cos(lat) / mean(cos): cos 50 = 0.6427876, cos 51 = 0.6293204,
    # cos 52 = 0.6156615, mean 0.6292565 -> 1.0215033, 1.0001015, 0.9783951.
    lat = np.array([50.0, 51.0, 52.0])
    np.testing.assert_allclose(
        latitude_cell_bounds(lat), [[49.5, 50.5], [50.5, 51.5], [51.5, 52.5]], atol=1e-12
    )
    w = cell_area_weights(lat)
    np.testing.assert_allclose(w.values, [1.0215033, 1.0001015, 0.9783951], rtol=1e-6)
    # The old rule (edge rows bounded at the poles) gave the edge rows almost all the weight.
    np.testing.assert_allclose(
        _wb2_get_lat_weights(lat), [2.6574369, 0.0164754, 0.3260878], rtol=1e-5
    )


@pytest.mark.parametrize(
    "lat",
    [
        np.linspace(-87.1875, 87.1875, 32),  # WeatherBench 5.625 deg, no poles: edges at +-90
        np.linspace(-90.0, 90.0, 121),  # WeatherBench 2 1.5 deg, with poles: edges clipped at +-90
        np.linspace(-88.59375, 88.59375, 64),  # 2.8125 deg
    ],
)
def test_global_grids_equal_weatherbench2(lat):
    np.testing.assert_allclose(cell_area_weights(lat).values, _wb2_get_lat_weights(lat), rtol=1e-12)


def test_edge_bounds_are_clipped_at_the_pole():
    # Rows 88, 89, 90: the last cell would reach 90.5, clipped to 90.
    np.testing.assert_allclose(latitude_cell_bounds(np.array([88.0, 89.0, 90.0]))[-1], [89.5, 90.0])


def test_cf_bounds_are_used_when_present():
    # Bounds 49-51, 51-51.5, 51.5-52.5 for rows 50, 51.2, 52: areas sin(b_hi) - sin(b_lo).
    lat = xr.DataArray(
        [50.0, 51.2, 52.0], dims="latitude", attrs={"bounds": "lat_bnds", "units": "degrees_north"}
    )
    bounds = np.array([[49.0, 51.0], [51.0, 51.5], [51.5, 52.5]])
    ds = xr.Dataset(
        {
            "x": (("latitude", "longitude"), np.zeros((3, 2))),
            "lat_bnds": (("latitude", "nv"), bounds[:, ::-1]),  # either column order
        },
        coords={"latitude": lat, "longitude": [0.0, 1.0]},
    )
    np.testing.assert_array_equal(latitude_bounds_of(ds), bounds[:, ::-1])
    area = np.diff(np.sin(np.deg2rad(bounds)), axis=1).ravel()
    weights, dims = spatial_weights(ds, "wb2")
    assert dims == ("latitude", "longitude")
    np.testing.assert_allclose(weights.values, area / area.mean())
    # Without the bounds variable: midpoints and half steps.
    np.testing.assert_allclose(
        spatial_weights(ds.drop_vars("lat_bnds"), "wb2")[0].values,
        cell_area_weights(ds.latitude.values).values,
    )
    with pytest.raises(DataError, match="do not contain"):
        cell_area_weights(lat, bounds=bounds + 5.0)
