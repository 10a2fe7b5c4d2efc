"""climetlab: offline settings and the gmgclim sample datasets registered by entry point."""

import numpy as np
import pytest

from gmgclim.data.catalog import open_entry
from gmgclim.data.climetlab_plugin import CLIMETLAB_DATASETS, configure_climetlab_offline
from gmgclim.errors import DataError


def test_offline_setting_is_idempotent_and_not_saved(tmp_path):
    configure_climetlab_offline()
    configure_climetlab_offline()
    from climetlab.core.settings import SETTINGS

    assert SETTINGS.get("datasets-catalogs-urls") == []


def test_load_sample_through_climetlab():
    configure_climetlab_offline()
    import climetlab

    ds = climetlab.load_dataset("gmgclim-era5-uk-t2m").to_xarray()
    ref = open_entry("era5-uk-t2m")
    assert ds["2m_temperature"].shape == (744, 33, 49)
    np.testing.assert_array_equal(ds["2m_temperature"][:3].values, ref["2m_temperature"][:3].values)


def test_every_sample_registered():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="climetlab.datasets")}
    assert {name for name, _ in CLIMETLAB_DATASETS.values()} <= names


def test_unknown_dataset_fails_without_network():
    from gmgclim.data.climetlab_plugin import load_climetlab_dataset

    with pytest.raises(
        DataError, match=r"climetlab dataset 'no-such-gmgclim-set' is not installed"
    ):
        load_climetlab_dataset("no-such-gmgclim-set")


def test_climetlab_catalog_driver(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "entries:\n  via-cml:\n    driver: climetlab\n    location: gmgclim-knmi-radar\n"
    )
    ds = open_entry("via-cml", catalogs=[path])
    assert ds["precipitation_rate"].attrs["units"] == "mm h-1"
