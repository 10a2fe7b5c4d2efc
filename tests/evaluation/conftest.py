"""A catalogued mock truth and forecast stores written from it, for the evaluation tests.

The truth is :func:`gmgclim.testing.mock_gridded_dataset` (2 m temperature, 6-hourly, 10 days from
2000-01-01, 8 x 16 grid): ``280 + 0.001 hours + 0.1 lat_index + 0.01 lon_index`` K, so a forecast
equal to the truth at valid time plus an offset, and persistence (off by 0.001 K per hour of lead),
have scores known by hand on any weighting.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.data.task import GridSpec, Task
from gmgclim.testing import mock_gridded_dataset

ENTRY = "mock-t2m"
INIT_TIMES = pd.to_datetime(["2000-01-03T00", "2000-01-04T00", "2000-01-05T00"]).values
LEADS_H = [6, 12]


@pytest.fixture
def mock_catalog(tmp_path: Path, monkeypatch) -> Path:
    truth = mock_gridded_dataset(periods=40, variables=("2m_temperature",))
    path = tmp_path / "mock_t2m.nc"
    truth.to_netcdf(path)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "entries:\n"
        f"  {ENTRY}:\n"
        "    description: mock 2 m temperature\n"
        "    driver: netcdf\n"
        f"    location: {path}\n"
        "    variables: [2m_temperature]\n"
        "    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    return catalog


def _task(**changes) -> Task:
    task = Task(
        entry=ENTRY,
        channels=("t2m",),
        step="6h",
        input_steps=2,
        output_steps=len(LEADS_H),
        grid=GridSpec(crop=(("latitude", 1, 7),)),
        splits={"train": ("2000-01-01", "2000-01-02"), "test": ("2000-01-03", "2000-01-10")},
    )
    return task.replace(**changes)


def _write_store(
    path: Path,
    task: Task | None,
    offset: float = 0.0,
    written: list[bool] | None = None,
    attrs: dict | None = None,
    nan_cells: int = 0,
) -> Path:
    """A forecast store: the truth on the task's grid at valid time, plus ``offset`` K, with NaN
    in the first ``nan_cells`` cells of the first latitude row of the first init and lead."""
    truth = mock_gridded_dataset(periods=40, variables=("2m_temperature",))
    if task is not None:
        for dim, start, stop in task.grid.crop:
            truth = truth.isel({dim: slice(start, stop)})
    leads = pd.to_timedelta(LEADS_H, "h").values
    fields = [
        truth.sel(time=INIT_TIMES + lead).assign_coords(time=INIT_TIMES) + np.float32(offset)
        for lead in leads
    ]
    fc = xr.concat(fields, dim=xr.DataArray(leads, dims="prediction_timedelta"))
    fc = fc.transpose("time", "prediction_timedelta", "latitude", "longitude")
    if nan_cells:
        fc["2m_temperature"][0, 0, 0, :nan_cells] = np.nan
    fc["crs"] = xr.DataArray(np.int32(0), attrs={"grid_mapping_name": "latitude_longitude"})
    if written is not None:
        fc = fc.assign_coords(init_written=("time", np.asarray(written)))
    fc.attrs = {
        "forecast_model_name": "gmg",
        "forecast_input_steps": 2,
        "forecast_task": json.dumps(task.to_dict() if task is not None else {}),
        "forecast_recipe": json.dumps({}),
        **(attrs or {}),
    }
    fc.to_zarr(path, mode="w", zarr_format=2)  # the format gmgclim forecasts use
    return path


@pytest.fixture
def stores() -> SimpleNamespace:
    """``task(**changes)``, ``write(path, task, ...)`` and the constants of the mock stores."""
    return SimpleNamespace(
        task=_task, write=_write_store, ENTRY=ENTRY, INIT_TIMES=INIT_TIMES, LEADS_H=LEADS_H
    )
