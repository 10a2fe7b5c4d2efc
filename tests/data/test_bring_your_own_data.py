"""Bring your own data through a catalog file only: unusual names and units, lat/lon and projected.

Two synthetic sources a newcomer might bring (issue 13):

- ``slp`` in Pa on a 2.5 deg regional lat/lon grid (descending latitude, NCEP style), daily, read
  as the lexicon channel ``msl`` in hPa (``scale: 0.01``);
- ``precipitation`` in mm per 10 min on a projected Albers grid with a CF grid mapping called
  ``albers`` (not ``crs``), read as ``precip`` in mm/h (``conversion: accumulation_to_rate``).

Each is catalogued in a YAML file under ``tmp_path`` (found through ``GMGCLIM_CATALOGS``), trained
for 3 steps with a tiny GMG, forecast and scored through ``gmgclim.cli.main``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened: the two wheels clash)
import pytest
import xarray as xr

from gmgclim.testing import write_mock_albers_radar_netcdf as write_radar
from gmgclim.testing import write_mock_slp_netcdf as write_slp

CATALOG = """\
entries:
  ncep-slp-natl:
    description: synthetic daily mean sea level pressure, 2.5 deg North Atlantic
    driver: netcdf
    location: {slp}
    variables: [slp]
    channels:
      msl: {{source: slp, source_units: Pa, units: hPa, scale: 0.01}}
    time: {{step: 1d}}
  bom-radar-albers:
    description: synthetic 10-minute radar accumulations on an Albers grid
    driver: netcdf
    location: {radar}
    variables: [precipitation]
    channels:
      precip:
        source: precipitation
        source_units: mm
        units: mm h-1
        conversion: accumulation_to_rate
    time: {{step: 10min}}
"""


@pytest.fixture
def own_catalog(tmp_path: Path, monkeypatch) -> Path:
    slp = write_slp(tmp_path / "slp.day.nc")
    radar = write_radar(tmp_path / "radar_albers.nc")
    catalog = tmp_path / "my_catalog.yaml"
    catalog.write_text(CATALOG.format(slp=slp, radar=radar))
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return catalog


def _recipe(path: Path, entry: str, channel: str, step: str, splits: dict, run: Path) -> Path:
    import yaml

    recipe = {
        "data": {
            "entry": entry,
            "channels": [channel],
            "step": step,
            "input_steps": 2,
            "output_steps": 2,
            "splits": {k: {"start": a, "end": b} for k, (a, b) in splits.items()},
        },
        "model": {
            "name": "gmg",
            "config": {
                "patch_size": 4,
                "num_hidden": [8],
                "filter_size": 3,
                "att_hidden": 4,
                "multiscale_kernels": [1, 3],
            },
        },
        "training": {
            "max_steps": 3,
            "batch_size": 2,
            "lr": 1.0e-3,
            "warmup_steps": 0,
            "validate_every": 3,
            "validate_batches": 1,
            "checkpoint_every": 3,
            "log_every": 1,
            "num_workers": 0,
            "seed": 0,
            "device": "cpu",
            "threads_per_process": 1,
        },
        "output": {"dir": str(run), "tensorboard": False},
    }
    path.write_text(yaml.safe_dump(recipe))
    return path


def _cli(capsys, *args: str) -> str:
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


def test_catalog_maps_names_units_and_grids(own_catalog):
    from gmgclim.data.catalog import open_entry
    from gmgclim.data.channels import select_channels

    slp = open_entry("ncep-slp-natl", channels=["msl"])
    msl = slp["mean_sea_level_pressure"]
    assert msl.attrs["units"] == "hPa" and msl.attrs["gmgclim_channel"] == "msl"
    assert msl.attrs["source_name"] == "slp"
    assert 990.0 < float(msl.min()) and float(msl.max()) < 1035.0  # Pa / 100
    assert np.all(np.diff(slp["latitude"].values) > 0)  # flipped to ascending
    fields = select_channels(slp, ["msl"])
    assert fields.attrs["channel_units"] == ["hPa"]

    radar = open_entry("bom-radar-albers", channels=["precip"])
    rate = radar["precipitation_rate"]
    assert rate.dims == ("time", "y", "x")
    assert rate.attrs["units"] == "mm h-1" and rate.attrs["accumulation_minutes"] == 10.0
    assert radar["crs"].attrs["grid_mapping_name"] == "albers_conical_equal_area"
    assert radar["latitude"].dims == ("y", "x")
    assert -30.0 < float(radar["latitude"].mean()) < -25.0  # y = -3000 km south of the origin
    raw = xr.open_dataset(own_catalog.parent / "radar_albers.nc")
    np.testing.assert_allclose(
        rate.isel(time=5).values, 6.0 * raw["precipitation"].isel(time=5).values, rtol=1e-6
    )
    coarse = open_entry("bom-radar-albers", channels=["precip"], coarsen=4)
    assert coarse.sizes["y"] == 8 and coarse.sizes["x"] == 8
    assert coarse["latitude"].dims == ("y", "x")


def test_train_forecast_score_through_the_cli(own_catalog, tmp_path: Path, capsys):
    cases = [
        (
            "ncep-slp-natl",
            "msl",
            "1d",
            {
                "train": ("2001-01-01", "2001-02-05"),
                "valid": ("2001-02-06", "2001-02-17"),
                "test": ("2001-02-18", "2001-03-01"),
            },
            "mean_sea_level_pressure",
            "hPa",
        ),
        (
            "bom-radar-albers",
            "precip",
            "10min",
            {
                "train": ("2022-02-01T00:00", "2022-02-01T04:50"),
                "valid": ("2022-02-01T05:00", "2022-02-01T06:20"),
                "test": ("2022-02-01T06:30", "2022-02-01T07:50"),
            },
            "precipitation_rate",
            "mm h-1",
        ),
    ]
    for entry, channel, step, splits, variable, units in cases:
        run = tmp_path / f"run-{channel}"
        recipe = _recipe(tmp_path / f"{channel}.yaml", entry, channel, step, splits, run)
        _cli(capsys, "train", str(recipe), "--no-progress")
        assert (run / "checkpoints").is_dir()
        store = tmp_path / f"{channel}.zarr"
        _cli(capsys, "forecast", str(run), "--split", "test", "-o", str(store), "--no-progress")
        fc = xr.open_zarr(store)
        assert fc[variable].attrs["units"] == units
        assert np.isfinite(fc[variable].values).all()
        if channel == "precip":
            assert fc[variable].dims[2:] == ("y", "x")
            assert fc["crs"].attrs["grid_mapping_name"] == "albers_conical_equal_area"
        else:
            assert 950.0 < float(fc[variable].mean()) < 1070.0  # hPa, not Pa
        scores = tmp_path / f"{channel}.nc"
        out = _cli(capsys, "score", str(store), "--baselines", "persistence", "-o", str(scores))
        assert "persistence" in out and "verdict:" in out  # the table, then the verdict
        table = pd.read_csv(scores.with_suffix(".csv"))
        rmse = table[(table["metric"] == "rmse") & (table["variable"] == variable)]["value"]
        assert len(rmse) and np.isfinite(rmse).all()
