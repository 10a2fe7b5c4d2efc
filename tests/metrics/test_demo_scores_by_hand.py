"""The demo's scores recomputed by hand from the raw sample file, in both conventions.

From ``era5_t2m_uk_2019-03.nc`` as shipped (latitude 58..50 N descending, longitude -10..2 E):
the quickstart grid is latitude 50.25..58.0 N and longitude -10.0..1.75 E (the recipe's crop
``latitude [1, 33], longitude [0, 48]`` of the ascending, meridian-contiguous field), block-averaged
2 x 2 to 16 x 24 cells of 0.5 deg. Persistence is scored at leads 6..48 h from 00/06/12/18 UTC
inits of 25-29 March.

wb2: cell-area weights from cell bounds half a grid step (0.25 deg) beyond the edge rows,
w = sin(lat_hi) - sin(lat_lo), normalised to mean 1; MSE per init time, square root after the
mean over init times. wb1: w = cos(lat) / mean(cos(lat)); mean over init times and grid, then the
square root.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.config import load_recipe
from gmgclim.data.catalog import sample_data_dir
from gmgclim.data.task import Task, open_task_data
from gmgclim.metrics import persistence_forecast, score_forecast

RAW = sample_data_dir() / "era5_t2m_uk_2019-03" / "era5_t2m_uk_2019-03.nc"


def _by_hand() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with xr.open_dataset(RAW) as raw:
        t2m = raw["t2m"].load()
    t2m = t2m.sortby("latitude").sel(latitude=slice(50.2, 58.1), longitude=slice(-10.0, 1.8))
    assert t2m.shape[1:] == (32, 48)
    values = t2m.values.astype(np.float64)
    coarse = values.reshape(values.shape[0], 16, 2, 24, 2).mean(axis=(2, 4))
    lat = t2m["latitude"].values.reshape(16, 2).mean(axis=1)
    return coarse, pd.DatetimeIndex(t2m["time"].values), lat, t2m


def test_demo_persistence_scores_match_the_hand_computation():
    coarse, times, lat, _ = _by_hand()
    inits = pd.date_range("2019-03-25T00", "2019-03-29T18", freq="6h")
    leads = np.arange(1, 9) * 6
    index = {t: i for i, t in enumerate(times)}
    lo, hi = np.deg2rad(lat - 0.25), np.deg2rad(lat + 0.25)
    w2 = np.sin(hi) - np.sin(lo)
    w2 = w2 / w2.mean()
    w1 = np.cos(np.deg2rad(lat)) / np.cos(np.deg2rad(lat)).mean()
    wb2, wb1 = [], []
    for lead in leads:
        err2 = np.stack(
            [
                (coarse[index[t]] - coarse[index[t + pd.Timedelta(hours=int(lead))]]) ** 2
                for t in inits
            ]
        )  # (init, lat, lon)
        wb2.append(np.sqrt(np.mean((err2 * w2[None, :, None]).mean(axis=(1, 2)))))
        wb1.append(np.sqrt(np.mean(err2 * w1[None, :, None])))

    task = Task.from_recipe(load_recipe("recipes/quickstart.yaml"))
    truth = open_task_data(task, time=slice("2019-03-25", "2019-03-31")).load()
    lead_td = (leads * np.timedelta64(1, "h")).astype("timedelta64[ns]")
    fc = persistence_forecast(truth, inits.values, lead_td)
    for convention, expected in (("wb2", wb2), ("wb1", wb1)):
        scores = score_forecast(fc, truth, metrics=["rmse"], convention=convention)
        got = scores["2m_temperature"].sel(metric="rmse").values
        np.testing.assert_allclose(got, expected, rtol=1e-4, err_msg=convention)


def test_regional_weights_are_not_the_edge_rows():
    """The old pole-bounded weights gave the two edge rows almost all the weight (issue 12)."""
    _, _, lat, _ = _by_hand()
    from gmgclim.metrics.weights import cell_area_weights

    weights = np.asarray(cell_area_weights(lat)).ravel()
    assert weights.max() / weights.min() == pytest.approx(
        np.cos(np.deg2rad(lat.min())) / np.cos(np.deg2rad(lat.max())), rel=1e-3
    )
