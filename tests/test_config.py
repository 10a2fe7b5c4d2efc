"""Recipe schema: shipped recipes validate, bad recipes fail with errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from gmgclim.config import load_recipe, parse_step, recipe_from_dict
from gmgclim.errors import RecipeError

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))

GOOD = {
    "data": {
        "entry": "era5-uk-t2m",
        "channels": ["t2m"],
        "step": "3h",
        "input_steps": 4,
        "output_steps": 8,
        "splits": {
            "train": {"start": "2019-03-01", "end": "2019-03-20"},
            "valid": {"start": "2019-03-21", "end": "2019-03-24"},
            "test": {"start": "2019-03-25", "end": "2019-03-31"},
        },
    },
    "model": {"name": "gmg", "config": {"num_hidden": [32, 32]}},
    "training": {"max_steps": 100, "batch_size": 4, "lr": 1.0e-3},
    "output": {"dir": "runs/test"},
}


def _write(tmp_path: Path, data: dict, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _variant(**changes) -> dict:
    """GOOD with dotted-key changes applied (value None deletes the key)."""
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


def test_recipes_are_shipped():
    names = {p.name for p in RECIPES}
    assert {
        "quickstart.yaml",
        "radar_knmi.yaml",
        "weatherbench_t850.yaml",
        "weatherbench_z500.yaml",
        "weatherbench_t2m_openstl.yaml",
    } <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipe_validates(path: Path):
    recipe = load_recipe(path)
    assert recipe.source == str(path)
    assert recipe.training.max_steps or recipe.training.epochs
    assert recipe.output.dir


def test_weatherbench_recipes_score_72h_and_120h():
    for name in (
        "weatherbench_t850.yaml",
        "weatherbench_t850_reference.yaml",
        "weatherbench_z500.yaml",
    ):
        recipe = load_recipe(RECIPES[0].parent / name)
        step_h = parse_step(recipe.data.step) / np.timedelta64(1, "h")
        leads = step_h * np.arange(1, recipe.data.output_steps + 1)
        assert 72 in leads and 120 in leads
        assert step_h * recipe.data.input_steps == 24
        assert recipe.model.config["periodic_longitude"] is True
        assert recipe.training.loss.latitude_weighted
        assert recipe.training.precision == "bf16"


def test_weatherbench_t850_adds_skill_options_to_the_faithful_reference():
    skilful = load_recipe(RECIPES[0].parent / "weatherbench_t850.yaml")
    reference = load_recipe(RECIPES[0].parent / "weatherbench_t850_reference.yaml")
    assert "toa_insolation" in skilful.data.forcings and "land_sea_mask" in skilful.data.statics
    assert skilful.data.residual == "persistence" and skilful.data.channels[0] == "t850"
    assert (reference.data.forcings, reference.data.statics) == ([], [])
    assert reference.data.residual == "none" and reference.data.channels == ["t850"]
    assert skilful.model == reference.model  # the same GMG, at its WeatherBench config


def test_openstl_recipe_matches_the_paper_setting():
    recipe = load_recipe(RECIPES[0].parent / "weatherbench_t2m_openstl.yaml")
    d = recipe.data
    assert (d.channels, d.step, d.input_steps, d.output_steps) == (["t2m"], "1h", 12, 12)
    assert (d.splits.train.start, d.splits.train.end) == ("2010-01-01", "2015-12-31")
    assert d.splits.test.end_time == np.datetime64("2018-12-31T23:59:59.999999999")


def test_good_recipe_round_trip(tmp_path):
    recipe = load_recipe(_write(tmp_path, GOOD))
    assert recipe.training.lr == pytest.approx(1e-3)
    again = recipe_from_dict(recipe.to_dict())
    assert again.to_dict() == recipe.to_dict()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"data__chanels": ["t2m"]}, "unknown key 'data.chanels'"),
        ({"training__optimizer": {"bets": [0.9, 0.9]}}, "unknown key 'training.optimizer.bets'"),
        ({"extra_section": {}}, "unknown key 'extra_section'"),
        ({"training__lr": "fast"}, "'training.lr'"),
        ({"training__batch_size": 2.5}, "'training.batch_size'"),
        ({"training__batch_size": "4"}, "'training.batch_size'"),
        ({"data__output_steps": 0}, "'data.output_steps'"),
        ({"data__input_steps": -1}, "'data.input_steps'"),
        ({"data__step": "6 hours"}, "'data.step'"),
        ({"data__channels": []}, "'data.channels'"),
        ({"data__channels": ["t2m", "t2m"]}, "unique"),
        ({"training__max_steps": 10, "training__warmup_steps": 20}, "warmup_steps (20) exceeds"),
        ({"training__max_steps": None}, "max_steps or training.epochs"),
        ({"training__schedule": "linear"}, "'training.schedule'"),
        ({"training__precision": "fp16"}, "'training.precision'"),
        ({"data__splits__valid": {"start": "2019-03-20", "end": "2019-03-24"}}, "overlap"),
        ({"data__splits__test": {"start": "2019-03-10", "end": "2019-03-12"}}, "overlap"),
        ({"data__splits__valid": {"start": "2019-03-24", "end": "2019-03-21"}}, "is after end"),
        ({"data__splits__train__end": "March"}, "'data.splits.train.end'"),
        ({"data__splits__valid": None}, "missing key 'data.splits.valid'"),
        ({"model__config": {"height": 32}}, "set from the data"),
        ({"model__name": ""}, "'model.name'"),
        ({"output": {}}, "missing key 'output.dir'"),
        ({"training__scheduled_sampling": {"kind": "sometimes"}}, "scheduled_sampling.kind"),
        (
            {
                "training__scheduled_sampling": {
                    "kind": "reverse",
                    "reverse_start_step": 9,
                    "stop_step": 5,
                }
            },
            "reverse_start_step (9) must be below stop_step (5)",
        ),
        ({"data__grid": {"crop": {"latitude": [5, 2]}}}, "crop.latitude"),
        ({"data__grid": {"coarsen": {"x": 0}}}, "'data.grid.coarsen.x'"),
    ],
)
def test_bad_recipe_names_key_and_file(tmp_path, changes, expected):
    path = _write(tmp_path, _variant(**changes), name="bad_recipe.yaml")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "bad_recipe.yaml" in message
    assert expected in message


def test_nan_masked_is_accepted_with_every_loss_frames_setting(tmp_path):
    """Invalid target cells are always masked (input frames carry their own mask), so the old
    switch no longer restricts ``frames``."""
    recipe = load_recipe(_write(tmp_path, _variant(training__loss={"nan_masked": True})))
    assert recipe.training.loss.nan_masked and recipe.training.loss.frames == "all"


def test_unknown_key_lists_allowed_keys(tmp_path):
    with pytest.raises(RecipeError, match=r"allowed: .*batch_size"):
        load_recipe(_write(tmp_path, _variant(training__batchsize=3)))


def test_missing_and_non_mapping_files(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match=r"list\.yaml: a recipe is a mapping"):
        load_recipe(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("data: [unclosed\n")
    with pytest.raises(RecipeError, match=r"broken\.yaml: not valid YAML"):
        load_recipe(tmp_path / "broken.yaml")


def test_overrides(tmp_path):
    path = _write(tmp_path, GOOD)
    recipe = load_recipe(
        path,
        overrides=[
            "training.lr=1e-4",
            "training.max_steps=7",
            "output.dir=/tmp/elsewhere",
            "model.config.num_hidden=[16, 16, 16]",
            "data.splits.train.end=2019-03-19",
            "training.grad_clip=null",
            "training.scheduled_sampling.kind=standard",
        ],
    )
    assert recipe.training.lr == pytest.approx(1e-4)
    assert recipe.training.max_steps == 7
    assert recipe.output.dir == "/tmp/elsewhere"
    assert recipe.model.config["num_hidden"] == [16, 16, 16]
    assert recipe.data.splits.train.end == "2019-03-19"
    assert recipe.training.grad_clip is None
    assert recipe.training.scheduled_sampling.kind == "standard"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("training.lr", "must look like section.key=value"),
        ("=3", "must look like section.key=value"),
        ("training..lr=3", "must look like section.key=value"),
        ("training.lr.value=3", "'training.lr' is not a section"),
        ("training.learning_rate=3", "unknown key 'training.learning_rate'"),
        ("training.max_steps=abc", "'training.max_steps'"),
    ],
)
def test_bad_overrides(tmp_path, override, expected):
    with pytest.raises(RecipeError) as info:
        load_recipe(_write(tmp_path, GOOD), overrides=[override])
    assert expected in str(info.value)
    assert "recipe.yaml" in str(info.value)


def test_split_bounds_cover_their_period():
    recipe = recipe_from_dict(_variant(data__splits__train={"start": 2010, "end": "2015"}))
    train = recipe.data.splits.train
    assert train.start_time == np.datetime64("2010-01-01T00:00:00", "ns")
    assert train.end_time == np.datetime64("2015-12-31T23:59:59.999999999", "ns")


def test_yaml_dates_and_datetimes_are_accepted(tmp_path):
    text = (
        yaml.safe_dump(GOOD)
        .replace("'2019-03-21'", "2019-03-21")
        .replace("'2019-03-24'", "2019-03-24 12:00:00")
    )
    path = tmp_path / "dates.yaml"
    path.write_text(text)
    assert isinstance(yaml.safe_load(text)["data"]["splits"]["valid"]["start"], object)
    recipe = load_recipe(path)
    assert recipe.data.splits.valid.start == "2019-03-21"
    assert recipe.data.splits.valid.end == "2019-03-24T12:00"


@pytest.mark.parametrize(
    ("text", "hours"), [("6h", 6.0), ("1h", 1.0), ("5min", 5 / 60), ("1d", 24.0), ("30s", 1 / 120)]
)
def test_parse_step(text, hours):
    assert parse_step(text) / np.timedelta64(1, "h") == pytest.approx(hours)


@pytest.mark.parametrize("text", ["0h", "6", "h", "-1h", "6 hours", "1.5h"])
def test_parse_step_rejects(text):
    with pytest.raises(ValueError, match="step must look like"):
        parse_step(text)
