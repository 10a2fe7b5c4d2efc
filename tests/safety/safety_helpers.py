"""Helpers of the safety tests: a tiny recipe, and the CLI's error line."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_recipe(run_dir: Path, **training) -> dict:
    """A recipe that trains in about a second on CPU (2 -> 2 frames, 8 x 8 crop, ConvLSTM)."""
    recipe = {
        "data": {
            "entry": "era5-uk-t2m",
            "channels": ["t2m"],
            "step": "1h",
            "input_steps": 2,
            "output_steps": 2,
            "splits": {
                "train": {"start": "2019-03-01", "end": "2019-03-02"},
                "valid": {"start": "2019-03-04", "end": "2019-03-04"},
                "test": {"start": "2019-03-05T00", "end": "2019-03-05T05"},
            },
            "grid": {"crop": {"latitude": [10, 18], "longitude": [20, 28]}},
        },
        "model": {
            # a baseline, not GMG: these tests are about files, not the model
            "name": "convlstm",
            "config": {
                "patch_size": 2,
                "num_hidden": [8],
                "filter_size": 3,
                "openstl_unused_convs": False,
            },
        },
        "training": {
            "max_steps": 2,
            "batch_size": 2,
            "lr": 3.0e-3,
            "checkpoint_every": 1,
            "validate_every": 1,
            "validate_batches": 1,
            "log_every": 1,
            "device": "cpu",
            "seed": 1,
        },
        "output": {"dir": str(run_dir), "tensorboard": False},
    }
    recipe["training"].update(training)
    return recipe


def write_recipe(path: Path, recipe: dict) -> Path:
    """Write ``recipe`` as YAML to ``path``; returns ``path``."""
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def error_line(stderr: str) -> str:
    """The ``error: ...`` line of the CLI's stderr (fails if there is none or several)."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]
