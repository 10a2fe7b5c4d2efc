"""The CLI end to end on CPU: train a few steps -> forecast -> score with baselines -> plot.

Also the radar path: an extrapolation nowcast written by ``gmgclim forecast --model
extrapolation`` and scored with ``--baselines persistence,extrapolation`` on a catalogued mock
radar sequence (a blob moving one pixel per step), where extrapolation must beat persistence.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened: the two wheels clash)
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _gmgclim(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m gmgclim ARGS`` in a fresh process (as a user would)."""
    result = subprocess.run(
        [sys.executable, "-m", "gmgclim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert result.returncode == 0, (
        f"gmgclim {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result


def _cli(capsys, *args: str) -> str:
    """Run the CLI entry point in this process (saves re-importing torch/xarray per command)."""
    from gmgclim.cli import main

    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        captured = capsys.readouterr()
        raise AssertionError(
            f"gmgclim {' '.join(args)} exited {exc.code}:\n{captured.err}"
        ) from None
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("e2e") / "run"
    _gmgclim(
        "train",
        "recipes/quickstart.yaml",
        "--no-progress",
        "--set", "training.max_steps=3",
        "--set", "training.warmup_steps=0",
        "--set", "training.batch_size=2",
        "--set", "training.validate_every=3",
        "--set", "training.validate_batches=1",
        "--set", "training.checkpoint_every=3",
        "--set", "data.output_steps=4",
        "--set", "model.config.num_hidden=[8]",
        "--set", "model.config.att_hidden=4",
        "--set", "output.tensorboard=false",
        "--set", f"output.dir={run}",
    )  # fmt: skip
    assert (run / "checkpoints").is_dir()
    return run


def test_train_forecast_score_plot(trained_run: Path, tmp_path: Path, capsys):
    store = tmp_path / "forecasts.zarr"
    inits = "2019-03-25T18:00,2019-03-26T06:00,2019-03-27T00:00"
    out = _cli(
        capsys,
        "forecast",
        str(trained_run),
        "--init-times",
        inits,
        "--output",
        str(store),
        "--no-progress",
    )
    assert "3 init times" in out
    fc = xr.open_zarr(store)
    t2m = fc["2m_temperature"]
    assert t2m.dims == ("time", "prediction_timedelta", "latitude", "longitude")
    assert t2m.shape == (3, 4, 16, 24)  # quickstart grid: 33x49 cropped to 32x48, coarsened 2x2
    assert t2m.encoding["chunks"] == (1, 4, 16, 24)
    values = t2m.values
    assert np.isfinite(values).all()
    assert 255.0 < values.min() and values.max() < 300.0  # March UK 2 m temperature, kelvin
    assert Path(fc.attrs["forecast_source_checkpoint"]).is_file()

    # resume: a second run writes nothing
    again = _cli(
        capsys,
        "forecast",
        str(trained_run),
        "--init-times",
        inits,
        "--output",
        str(store),
        "--no-progress",
    )
    assert "0 written now, 3 already there" in again

    scores_path = tmp_path / "scores.nc"
    out = _cli(
        capsys,
        "score",
        str(store),
        "--baselines",
        "persistence,climatology",
        "--output",
        str(scores_path),
    )
    assert "rmse" in out and "persistence" in out  # the console table
    scores = xr.open_dataset(scores_path)
    assert list(scores["model"].values) == ["gmg", "persistence", "climatology"]
    rmse = scores["2m_temperature"].sel(metric="rmse")
    assert rmse.sizes["prediction_timedelta"] == 4
    assert np.isfinite(rmse.values).all()
    assert (rmse.values > 0.05).all() and (rmse.values < 15.0).all(), rmse.values
    # persistence of hourly-sampled 2 m temperature is good at +24 h (the diurnal cycle repeats)
    persistence_24h = float(rmse.sel(model="persistence").isel(prediction_timedelta=3))
    assert persistence_24h < 4.0
    assert int(scores["2m_temperature_n_verified"].min()) == 3
    table = pd.read_csv(scores_path.with_suffix(".csv"))
    assert {"model", "variable", "metric", "lead_time_hours", "value"} <= set(table.columns)
    assert set(table["metric"]) >= {"rmse", "mae", "bias", "acc"}
    assert sorted(table["lead_time_hours"].unique()) == [6.0, 12.0, 18.0, 24.0]

    maps = tmp_path / "maps.png"
    _cli(capsys, "plot", "maps", str(store), "--lead-times", "6h,24h", "--output", str(maps))
    skill = tmp_path / "skill.png"
    _cli(capsys, "plot", "skill", str(scores_path), "--output", str(skill))
    for image in (maps, skill):
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stat().st_size > 20_000, image


@pytest.fixture
def mock_radar_catalog(tmp_path: Path, monkeypatch) -> Path:
    from gmgclim.testing import write_mock_radar_catalog

    catalog, _ = write_mock_radar_catalog(tmp_path)
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return catalog


def test_extrapolation_nowcast_and_radar_scores(mock_radar_catalog, tmp_path: Path, capsys):
    pytest.importorskip("cv2", reason="pysteps' Lucas-Kanade needs opencv-python-headless")
    store = tmp_path / "nowcast.zarr"
    _cli(
        capsys,
        "forecast",
        "mock-radar",
        "--model",
        "extrapolation",
        "--lead-steps",
        "3",
        "--init-times",
        "2020-06-01T12:20,2020-06-01T12:30",
        "--output",
        str(store),
        "--no-progress",
    )
    nowcast = xr.open_zarr(store)
    assert nowcast["precipitation_rate"].shape == (2, 3, 32, 40)
    assert nowcast["crs"].attrs["grid_mapping_name"] == "polar_stereographic"

    scores_path = tmp_path / "radar_scores.nc"
    _cli(
        capsys,
        "score",
        str(store),
        "--truth",
        "mock-radar",
        "--baselines",
        "persistence",
        "--thresholds",
        "1,4",
        "--output",
        str(scores_path),
    )
    scores = xr.open_dataset(scores_path)
    csi = _categorical(scores, "precipitation_rate", "csi").sel(threshold=4.0)
    # the blob moves: optical-flow extrapolation keeps it on target, persistence does not
    assert (csi.sel(model="extrapolation") > csi.sel(model="persistence") + 0.2).all(), csi.values
    for metric in ("fss", "pod"):
        assert _categorical(scores, "precipitation_rate", metric).size > 0


def _categorical(scores: xr.Dataset, variable: str, metric: str) -> xr.DataArray:
    """One categorical score: ``select_score`` of the ``metric``-dim layout, else (older layout)
    the ``<variable>_<metric>`` variable."""
    try:
        from gmgclim.metrics import select_score
    except ImportError:
        return scores[f"{variable}_{metric}"]
    return select_score(scores, variable, metric)
