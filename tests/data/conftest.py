"""Shared fixtures for the data-layer tests: tiny mock stores built by gmgclim.testing."""

import pytest

from gmgclim import testing


@pytest.fixture(scope="session")
def wb1_root(tmp_path_factory):
    """Mock WeatherBench 1 tree: t850, z500, t2m, 2 years 6-hourly, 8 x 16, descending latitude."""
    root = tmp_path_factory.mktemp("wb1")
    return testing.write_mock_weatherbench1(root, years=(2000, 2001), descending_latitude=True)


@pytest.fixture(scope="session")
def wb2_store(tmp_path_factory):
    """Mock WeatherBench 2 zarr store (40 6-hourly times, levels 500/850)."""
    return testing.write_mock_weatherbench2_zarr(tmp_path_factory.mktemp("wb2") / "wb2.zarr")
