import numpy as np
import pytest

from gmgclim.errors import DataError
from gmgclim.metrics import cell_area_weights, latitude_weights_wb1


def test_wb1_weights_hand_values():
    # cos(0) = 1, cos(60 deg) = 0.5; mean 0.75 -> 1/0.75 = 4/3 and 0.5/0.75 = 2/3.
    w = latitude_weights_wb1(np.array([0.0, 60.0]))
    np.testing.assert_allclose(w.values, [4 / 3, 2 / 3])
    assert w.dims == ("latitude",)


def test_cell_area_weights_hand_values_with_poles():
    # Rows at -90, 0, 90: bounds -90, -45, 45, 90. Areas sin(-45)-sin(-90) = 1 - sqrt(2)/2,
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
