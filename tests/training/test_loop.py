"""The training loop end to end on a tiny real task: files, checkpoints, exact resume, signals, CLI."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from conftest import REPO, subprocess_env, tiny_recipe, write_recipe

from gmgclim.cli import main as cli_main
from gmgclim.config import load_recipe
from gmgclim.errors import RecipeError
from gmgclim.models.checkpoint import find_checkpoint
from gmgclim.training import build_model, load_checkpoint, train


def _weights(run_dir) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir).model_state


def test_train_writes_a_self_describing_run(tiny):
    run_dir = train(load_recipe(tiny("run")), progress=False)
    ckpt = load_checkpoint(run_dir)
    assert ckpt.step == 6 and ckpt.epoch == 0
    assert ckpt.model_name == "gmg"
    assert ckpt.model_config["height"] == 8 and ckpt.model_config["in_channels"] == 1
    assert ckpt.task["channels"] == ["t2m"] and ckpt.task["step"] == "1h"
    assert ckpt.task["spatial_dims"] == ["latitude", "longitude"]
    assert len(ckpt.task["latitude"]) == 8
    assert ckpt.normalization["channels"] == ["t2m"]
    assert 270 < ckpt.normalization["mean"][0] < 290  # K, UK in March
    assert ckpt.scheduler_state["total_steps"] == 6
    assert ckpt.recipe["training"]["max_steps"] == 6
    assert ckpt.train_state["samples_seen"] == 12
    assert find_checkpoint(run_dir, "best") is not None
    assert json.loads((run_dir / "normalization.json").read_text())["channels"] == ["t2m"]
    assert yaml.safe_load((run_dir / "recipe.yaml").read_text())["training"]["max_steps"] == 6

    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    train_steps = sorted({int(r["step"]) for r in rows if r["split"] == "train"})
    assert train_steps == [1, 2, 3, 4, 5, 6]
    valid = {
        (int(r["step"]), r["metric"]): float(r["value"]) for r in rows if r["split"] == "valid"
    }
    assert {s for s, _ in valid} == {3, 6}
    # RMSE per lead time in kelvin: positive, plausible for 1-2 h of UK 2 m temperature
    for lead in ("1h", "2h"):
        assert 0.0 < valid[(6, f"rmse_t2m_{lead}")] < 10.0
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in records} == {"train", "valid"}

    model = build_model(ckpt)
    assert not model.training
    with torch.no_grad():
        out = model(torch.zeros(3, 2, 1, 8, 8))
    assert out.shape == (3, 2, 1, 8, 8)


def test_stop_then_continue_equals_uninterrupted(tiny):
    """Train 4 of 8 steps, stop, continue: the same weights as 8 steps in one go."""
    straight = train(
        load_recipe(tiny("straight", max_steps=8, schedule="constant")), progress=False
    )
    path = tiny("pieces", max_steps=8, schedule="constant")
    train(load_recipe(path, overrides=["training.max_steps=4"]), progress=False)
    assert load_checkpoint(path.parent / "pieces").step == 4
    resumed = train(load_recipe(path), progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    start = time.time()
    while not predicate():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"trainer exited early ({proc.returncode}):\n{err[-3000:]}")
        if time.time() - start > timeout:
            proc.kill()
            raise AssertionError("timed out waiting for the trainer")
        time.sleep(0.05)


def _cli_process(recipe_path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gmgclim", "train", str(recipe_path), "--no-progress", *extra],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_and_resume_equals_uninterrupted(tiny):
    """SIGKILL a run at its first checkpoint, rerun the command: same weights as no kill."""
    settings = {"max_steps": 40, "checkpoint_every": 5, "validate_every": 20}
    killed_recipe = tiny("killed", **settings)
    run_dir = killed_recipe.parent / "killed"
    proc = _cli_process(killed_recipe)
    _wait_for(lambda: find_checkpoint(run_dir) is not None, 300, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    interrupted_at = load_checkpoint(run_dir).step
    assert 5 <= interrupted_at < 40, "the run was not killed part-way"

    resumed = train(load_recipe(killed_recipe), progress=False)
    straight = train(load_recipe(tiny("straight", **settings)), progress=False)
    assert load_checkpoint(resumed).step == 40
    a, b = _weights(straight), _weights(resumed)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
    # metrics rows after the checkpoint the run resumed from are not repeated
    with open(run_dir / "metrics.csv", newline="") as fh:
        steps = [
            int(r["step"])
            for r in csv.DictReader(fh)
            if r["split"] == "train" and r["metric"] == "loss"
        ]
    assert steps == list(range(1, 41))


def test_sigterm_checkpoints_then_exits(tiny):
    recipe_path = tiny("term", max_steps=10_000, checkpoint_every=5_000, validate_every=5_000)
    run_dir = recipe_path.parent / "term"
    proc = _cli_process(recipe_path)
    metrics = run_dir / "metrics.csv"
    _wait_for(lambda: metrics.is_file() and metrics.read_text().count("\n") > 3, 300, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "SIGTERM" in err and "resume" in err
    ckpt = load_checkpoint(run_dir)
    assert 1 <= ckpt.step < 5_000  # written on the signal, not by the schedule


def test_resume_refuses_another_model(tiny):
    path = tiny("refuse", max_steps=1, warmup_steps=0, checkpoint_every=1, validate_every=1)
    train(load_recipe(path), progress=False)
    with pytest.raises(RecipeError, match=r"model section differs in \['config'\]"):
        train(load_recipe(path, overrides=["model.config.num_hidden=[4, 4]"]), progress=False)


def test_resume_accepts_a_recipe_written_before_new_data_options(tiny):
    """A checkpoint recipe without a data key of today's schema reads it as its default."""
    from gmgclim.models.checkpoint import Checkpoint
    from gmgclim.training.state import check_resume_compatible

    recipe = load_recipe(tiny("old"))
    old = recipe.to_dict()
    for key in ("forcings", "statics", "residual", "transform", "in_memory"):
        old["data"].pop(key, None)
    ckpt = Checkpoint("gmg", {}, {}, {}, model_state={}, recipe=old)
    check_resume_compatible(recipe, ckpt, recipe.output.dir)  # no error
    old["data"]["channels"] = ["t850"]
    with pytest.raises(RecipeError, match=r"data section differs in \['channels'\]"):
        check_resume_compatible(recipe, ckpt, recipe.output.dir)


def test_split_without_windows_is_a_recipe_error(tmp_path):
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["splits"]["valid"] = {"start": "2019-03-04T00:00", "end": "2019-03-04T02:00"}
    with pytest.raises(RecipeError, match=r"data.splits.valid .* holds no complete window"):
        train(load_recipe(write_recipe(tmp_path / "r.yaml", recipe)), progress=False)


def test_model_config_errors_name_the_recipe(tmp_path):
    recipe = tiny_recipe(tmp_path / "run")
    recipe["model"]["config"]["num_hidden"] = [8, 6]
    path = write_recipe(tmp_path / "badmodel.yaml", recipe)
    with pytest.raises(RecipeError, match=r"badmodel.yaml: model.config does not fit model 'gmg'"):
        train(load_recipe(path), progress=False)


def test_quickstart_recipe_few_steps_via_cli(tmp_path, capsys):
    """The shipped quickstart recipe, shrunk with --set, trains end to end through the CLI."""
    run_dir = tmp_path / "quick"
    cli_main(
        [
            "train",
            str(REPO / "recipes" / "quickstart.yaml"),
            "--no-progress",
            "--set",
            "training.max_steps=2",
            "--set",
            "training.warmup_steps=1",
            "--set",
            "training.batch_size=2",
            "--set",
            "training.validate_batches=1",
            "--set",
            "model.config.num_hidden=[8, 8]",
            "--set",
            f"output.dir={run_dir}",
        ]
    )
    assert f"run directory: {run_dir}" in capsys.readouterr().out
    ckpt = load_checkpoint(run_dir)
    assert ckpt.step == 2
    assert ckpt.task["entry"] == "era5-uk-t2m"
    assert (ckpt.model_config["height"], ckpt.model_config["width"]) == (16, 24)


def test_cli_reports_recipe_errors_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["train", str(REPO / "recipes" / "quickstart.yaml"), "--set", "training.lr=-1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "quickstart.yaml" in err and "'training.lr'" in err


def test_bf16_autocast_on_cpu(tiny):
    run_dir = train(
        load_recipe(tiny("bf16", max_steps=2, warmup_steps=0, precision="bf16")), progress=False
    )
    ckpt = load_checkpoint(run_dir)
    assert ckpt.step == 2
    # parameters stay float32 under autocast, and training produced finite weights
    assert all(v.dtype == torch.float32 for v in ckpt.model_state.values() if v.is_floating_point())
    assert all(torch.isfinite(v).all() for v in ckpt.model_state.values() if v.is_floating_point())


def test_lr_multipliers_and_reverse_sampling_run(tiny):
    run_dir = train(
        load_recipe(
            tiny(
                "groups",
                max_steps=2,
                warmup_steps=0,
                lr_multipliers={"cells.*": 0.5},
                scheduled_sampling={"kind": "reverse", "reverse_start_step": 1, "stop_step": 2},
            )
        ),
        progress=False,
    )
    groups = load_checkpoint(run_dir).optimizer_state["param_groups"]
    assert sorted({g["lr_multiplier"] for g in groups}) == [0.5, 1.0]
