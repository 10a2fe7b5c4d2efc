"""Maps and animations of any model's radar forecast store, through the command line.

Nothing is trained: a persistence module in a :class:`~gmgclim.inference.Forecaster` forecasts a
catalogued mock radar sequence on the grid a radar recipe uses (2 x 2 block means), and the
extrapolation nowcast of the same entry is written too; both stores carry the truth's CF grid
mapping (``crs``, named by each field's ``grid_mapping``) and its 2-D latitude/longitude.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened: the two wheels clash)
import pytest
import torch
import xarray as xr

from gmgclim.data.task import GridSpec, Task
from gmgclim.inference import Forecaster, write_forecast_zarr
from gmgclim.testing import write_mock_radar_catalog

ENTRY = "mock-radar"


class Persistence(torch.nn.Module):
    """The last input frame at every lead time."""

    def forward(self, inputs, targets=None, teacher_forcing_mask=None, context=None):
        return inputs[:, -1:].expand(-1, 3, -1, -1, -1)


@pytest.fixture
def radar_catalog(tmp_path: Path, monkeypatch) -> Path:
    catalog, _ = write_mock_radar_catalog(tmp_path, ENTRY)
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return catalog


def _cli(*args: str) -> None:
    from gmgclim.cli import main

    try:
        main(list(args))
    except SystemExit as exc:  # pragma: no cover - shows the one-line error
        raise AssertionError(f"gmgclim {' '.join(args)} exited {exc.code}") from None


def _assert_grid_mapping(store: Path, shape: tuple[int, int]) -> None:
    fc = xr.open_zarr(store)
    field = fc["precipitation_rate"]
    assert field.attrs["grid_mapping"] == "crs"
    assert fc["crs"].attrs["grid_mapping_name"] == "polar_stereographic"
    for name in ("latitude", "longitude"):
        assert fc[name].dims == ("y", "x") and fc[name].shape == shape
        assert np.isfinite(fc[name].values).all()


def _plot_both(store: Path, out: Path) -> None:
    maps, animation = out / f"{store.stem}_maps.png", out / f"{store.stem}.gif"
    _cli("plot", "maps", str(store), "--truth", ENTRY, "-o", str(maps))
    _cli("plot", "animation", str(store), "--truth", ENTRY, "-o", str(animation))
    assert maps.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and maps.stat().st_size > 10_000
    assert animation.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_a_models_radar_store_maps_and_animates(radar_catalog, tmp_path):
    task = Task(
        entry=ENTRY, channels=("precip",), step="5min", input_steps=2, output_steps=3,
        grid=GridSpec(coarsen=(("y", 2), ("x", 2))),
    )  # fmt: skip
    forecaster = Forecaster(Persistence(), mean=[1.0], std=[2.0], task=task)
    store = tmp_path / "model.zarr"
    inits = np.array(["2020-06-01T12:20", "2020-06-01T12:30"], dtype="datetime64[ns]")
    write_forecast_zarr(forecaster, None, store, init_times=inits, progress=False)
    _assert_grid_mapping(store, (16, 20))
    _plot_both(store, tmp_path)


def test_an_extrapolation_store_maps_and_animates(radar_catalog, tmp_path):
    pytest.importorskip("cv2", reason="pysteps' Lucas-Kanade needs opencv-python-headless")
    store = tmp_path / "nowcast.zarr"
    _cli(
        "forecast", ENTRY, "--model", "extrapolation", "--lead-steps", "2",
        "--init-times", "2020-06-01T12:20", "-o", str(store), "--no-progress",
    )  # fmt: skip
    _assert_grid_mapping(store, (32, 40))
    _plot_both(store, tmp_path)
