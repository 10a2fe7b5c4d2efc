"""Execute the notebooks in notebooks/ on small settings, offline, and check what they write.

Each notebook runs top to bottom in a fresh ipykernel of this interpreter (a temporary kernelspec
pointing at ``sys.executable``, so a user-level ``python3`` kernel of another environment is never
picked). The kernel gets:

- ``GMGCLIM_NOTEBOOK_*`` variables that shrink the runs (the notebooks' parameter cells read them)
  and ``GMGCLIM_NOTEBOOK_OUT``, a temporary output folder;
- one torch/OpenMP thread, so a busy 2-core machine is not oversubscribed;
- HTTP(S) proxies pointing at a closed local port, so any attempt to reach the network fails at
  once instead of hanging (the notebooks must not need one: climetlab and cartopy run offline).

The committed notebooks must carry no outputs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import xarray as xr
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from gmgclim.metrics import select_score

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("01_quickstart.ipynb", "02_evaluate_forecasts.ipynb", "03_radar_nowcasting.ipynb")
CELL_TIMEOUT_S = 300
KERNEL_NAME = "gmgclim-test-kernel"
# Nothing listens on port 9 (discard); requests/urllib then fail fast with a connection error.
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec folder whose only kernel runs ipykernel on this interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL_NAME
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "gmgclim tests", "language": "python"})
    )
    return root


def run_notebook(name: str, kernel_dir: Path, out: Path, **env_overrides: str):
    """Execute ``notebooks/name`` with cwd notebooks/; return the executed notebook.

    Raises nbclient's ``CellExecutionError`` (with the failing cell and traceback) on any error.
    """
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel's inline backend, whatever the caller's setting
    env.update(
        GMGCLIM_NOTEBOOK_FAST="1",
        GMGCLIM_NOTEBOOK_OUT=str(out),
        GMGCLIM_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        http_proxy=DEAD_PROXY,
        https_proxy=DEAD_PROXY,
        NO_PROXY="",
        no_proxy="",
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    env.update(env_overrides)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    assert km.kernel_spec.argv[0] == sys.executable
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute(env=env)
    return nb


def outputs_of(nb, mime: str) -> int:
    """Number of display outputs of a given MIME type in an executed notebook."""
    return sum(
        mime in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def open_forecast(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, decode_timedelta=True)


@pytest.fixture(scope="module")
def quickstart(kernel_dir, tmp_path_factory):
    """Notebook 01 run with a few training steps: (executed notebook, output folder)."""
    out = tmp_path_factory.mktemp("nb01")
    nb = run_notebook(
        "01_quickstart.ipynb",
        kernel_dir,
        out,
        GMGCLIM_NOTEBOOK_MAX_STEPS="4",
        GMGCLIM_NOTEBOOK_BATCH_SIZE="4",
        GMGCLIM_NOTEBOOK_INIT_EVERY="24h",
    )
    return nb, out


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_valid_and_has_no_outputs(name):
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"{name}: code cells {dirty} carry outputs; commit notebooks without outputs"
    assert "parameters" in code[0].metadata.get("tags", []), (
        f"{name}: first code cell is not tagged parameters"
    )
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_quickstart_trains_forecasts_scores_and_plots(quickstart):
    nb, out = quickstart
    run_dir = out / "quickstart-run"
    assert (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").glob("*.pt"))

    fc = open_forecast(out / "quickstart-forecast.zarr")
    assert fc["2m_temperature"].dims == ("time", "prediction_timedelta", "latitude", "longitude")
    assert fc.sizes["prediction_timedelta"] == 8 and fc.sizes["time"] >= 2
    assert bool(fc["init_written"].all())
    values = fc["2m_temperature"].values
    assert np.isfinite(values).all()
    # a 2 m temperature over the UK in March, in kelvin, not normalised units
    assert 250.0 < float(values.mean()) < 300.0

    scores = xr.open_dataset(out / "quickstart-scores.nc")
    assert set(scores["model"].values.tolist()) == {"gmg", "persistence", "climatology"}
    rmse = scores["2m_temperature"].sel(metric="rmse")
    assert np.isfinite(rmse.values).all() and (rmse.values > 0).all()

    for png in ("sample_overview.png", "quickstart_maps.png", "quickstart_skill.png"):
        assert (out / png).stat().st_size > 10_000, png
    # the sample overview, maps and skill curve are shown inline
    assert outputs_of(nb, "image/png") >= 3


def test_evaluate_notebook_makes_and_scores_a_demo_store(kernel_dir, tmp_path):
    nb = run_notebook("02_evaluate_forecasts.ipynb", kernel_dir, tmp_path)
    fc = open_forecast(tmp_path / "same-hour-persistence.zarr")
    assert fc.attrs["forecast_model_name"] == "same_hour_persistence"
    scores = xr.open_dataset(tmp_path / "scores.nc")
    rmse = scores["2m_temperature"].sel(metric="rmse")
    by_model = {m: rmse.sel(model=m).values for m in scores["model"].values.tolist()}
    assert set(by_model) == {"same_hour_persistence", "persistence", "climatology"}
    # the stand-in repeats the input at the lead time's hour of day; at +24 h and +48 h that is
    # exactly what persistence does (same valid hour, latest day), so the two RMSEs coincide
    hours = scores["lead_time_hours"].values
    for lead in (24.0, 48.0):
        k = int(np.flatnonzero(hours == lead)[0])
        np.testing.assert_allclose(
            by_model["same_hour_persistence"][k], by_model["persistence"][k], rtol=1e-5
        )
    # at +12 h it keeps the diurnal cycle that persistence breaks (noon vs midnight)
    k12 = int(np.flatnonzero(hours == 12.0)[0])
    assert by_model["same_hour_persistence"][k12] < by_model["persistence"][k12]
    for png in ("skill_curves.png", "forecast_maps.png", "error_maps.png"):
        assert (tmp_path / png).stat().st_size > 10_000, png
    assert outputs_of(nb, "image/png") >= 3


def test_evaluate_notebook_scores_the_quickstart_store(quickstart, kernel_dir, tmp_path):
    _, quickstart_out = quickstart
    store = quickstart_out / "quickstart-forecast.zarr"
    run_notebook(
        "02_evaluate_forecasts.ipynb",
        kernel_dir,
        tmp_path,
        GMGCLIM_NOTEBOOK_FORECAST_STORE=str(store),
    )
    assert not (tmp_path / "same-hour-persistence.zarr").exists()
    scores = xr.open_dataset(tmp_path / "scores.nc")
    reference = xr.open_dataset(quickstart_out / "quickstart-scores.nc")
    assert set(scores["model"].values.tolist()) == {"gmg", "persistence", "climatology"}
    # the notebook finds the same truth grid, climatology and baselines as notebook 01
    for model in ("gmg", "persistence", "climatology"):
        np.testing.assert_allclose(
            scores["2m_temperature"].sel(model=model, metric="rmse").values,
            reference["2m_temperature"].sel(model=model, metric="rmse").values,
            rtol=1e-5,
        )
    assert (tmp_path / "error_maps.png").stat().st_size > 10_000


def test_radar_notebook_nowcasts_scores_and_animates(kernel_dir, tmp_path):
    nb = run_notebook(
        "03_radar_nowcasting.ipynb",
        kernel_dir,
        tmp_path,
        GMGCLIM_NOTEBOOK_N_INIT="2",
        GMGCLIM_NOTEBOOK_LEAD_STEPS="6",
    )
    nowcast = open_forecast(tmp_path / "extrapolation-nowcast.zarr")
    assert nowcast["precipitation_rate"].dims == ("time", "prediction_timedelta", "y", "x")
    assert nowcast.sizes["time"] == 2 and nowcast.sizes["prediction_timedelta"] == 6
    assert "crs" in nowcast.variables

    scores = xr.open_dataset(tmp_path / "nowcast-scores.nc")
    csi = select_score(scores, "precipitation_rate", "csi")
    assert set(csi["model"].values.tolist()) == {"extrapolation", "persistence"}
    # Lagrangian persistence beats Eulerian persistence on moving rain (pysteps' own check)
    lowest = csi.sel(threshold=csi["threshold"].values.min())
    assert float(lowest.sel(model="extrapolation").mean()) > float(
        lowest.sel(model="persistence").mean()
    )
    fss = select_score(scores, "precipitation_rate", "fss")
    assert np.isfinite(fss.values).all() and ((fss.values >= 0) & (fss.values <= 1)).all()

    gif = tmp_path / "nowcast.gif"
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert outputs_of(nb, "image/gif") == 1
    for png in ("nowcast_categorical.png", "nowcast_fss.png", "nowcast_maps.png"):
        assert (tmp_path / png).stat().st_size > 10_000, png
