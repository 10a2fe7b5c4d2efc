"""score_store: what ``gmgclim score`` does, checked against scores known by hand.

The mock truth rises by 0.001 K per hour everywhere (conftest), so whatever the area weighting:
a forecast of truth + 1 K has RMSE = MAE = bias = 1 K; persistence at lead L hours is off by
-0.001 L K everywhere (RMSE 0.001 L, bias -0.001 L).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gmgclim.evaluation import (
    dask_client,
    default_metrics,
    default_thresholds,
    is_radar,
    score_store,
    write_scores,
)
from gmgclim.testing import mock_radar_dataset


def test_radar_defaults():
    radar = mock_radar_dataset(periods=2, ny=4, nx=5)
    assert is_radar(radar)
    assert not is_radar(xr.Dataset({"t": (("latitude", "longitude"), np.zeros((2, 2)))}))
    assert default_metrics(False) == ["rmse", "mae", "bias", "acc"]
    assert {"csi", "fss", "pod", "far", "ets"} <= set(default_metrics(True))
    assert default_thresholds(["precipitation_rate", "dbz_like"], radar=True) == {
        "precipitation_rate": [0.5, 1.0, 5.0],
        "dbz_like": [0.5],
    }
    assert default_thresholds(["2m_temperature"], radar=False) is None


def test_score_store_numbers(tmp_path, mock_catalog, stores):
    path = stores.write(tmp_path / "fc.zarr", stores.task(), offset=1.0)
    result = score_store(path, baselines=["persistence"], metrics=["rmse", "mae", "bias"])
    scores = result.scores["2m_temperature"]
    assert list(result.scores["model"].values) == ["gmg", "persistence"]
    for metric in ("rmse", "mae", "bias"):
        np.testing.assert_allclose(scores.sel(model="gmg", metric=metric), [1.0, 1.0], atol=1e-4)
    persistence = scores.sel(model="persistence")
    np.testing.assert_allclose(persistence.sel(metric="rmse"), [0.006, 0.012], atol=1e-4)
    np.testing.assert_allclose(persistence.sel(metric="bias"), [-0.006, -0.012], atol=1e-4)
    assert result.scores.attrs["forecast"] == str(path)
    assert result.scores.attrs["baselines"] == "persistence"
    assert result.notes == []
    table = result.table
    assert {"model", "variable", "metric", "lead_time_hours", "value"} <= set(table.columns)
    assert len(table) == 2 * 3 * 2  # models x metrics x leads


def test_score_store_climatology_and_notes(tmp_path, mock_catalog, stores):
    path = stores.write(tmp_path / "fc.zarr", stores.task(), written=[True, True, True])
    result = score_store(path, baselines=["climatology"])  # default metrics: acc needs it too
    assert {"rmse", "mae", "bias", "acc"} <= set(result.table["metric"])
    assert len(result.notes) == 1 and "WeatherBench 1" in result.notes[0]
    # climatology = mean of hours 0..42 (0.021 K above the start); valid hours at +6 h are 54,
    # 78, 102: errors -0.033, -0.057, -0.081 K everywhere, RMSE = sqrt(mean of squares)
    rmse = result.scores["2m_temperature"].sel(model="climatology", metric="rmse")
    expected = np.sqrt(np.mean(np.square([0.033, 0.057, 0.081])))
    assert float(rmse.isel(prediction_timedelta=0)) == pytest.approx(expected, abs=1e-4)


def test_score_store_rejects_bad_options(tmp_path, mock_catalog, stores):
    path = stores.write(tmp_path / "fc.zarr", stores.task())
    with pytest.raises(ValueError, match="--convention must be wb1 or wb2"):
        score_store(path, convention="wb3")
    with pytest.raises(ValueError, match="unknown"):
        score_store(path, baselines=["climate"])


def test_write_scores(tmp_path, mock_catalog, stores):
    result = score_store(stores.write(tmp_path / "fc.zarr", stores.task()), metrics=["rmse"])
    nc_path, csv_path = write_scores(result, tmp_path / "out" / "scores.nc")
    assert csv_path == tmp_path / "out" / "scores.csv"
    assert xr.open_dataset(nc_path)["2m_temperature"].sel(metric="rmse").shape[-1] == 2
    assert len(pd.read_csv(csv_path)) == len(result.table)


def test_no_dask_client_without_options():
    with dask_client(None, None) as client:
        assert client is None


@pytest.mark.parametrize(("nan_cells", "warned"), [(1, False), (6, True)])
def test_missing_forecast_cells_are_skipped_counted_and_warned(
    tmp_path, mock_catalog, stores, nan_cells, warned
):
    """NaN cells in a forecast do not make its scores NaN: they are skipped, counted, and a
    warning names them when above 1 % of the truth's cells."""
    path = stores.write(tmp_path / "fc.zarr", stores.task(), offset=1.0, nan_cells=nan_cells)
    result = score_store(path, metrics=["rmse", "mae"])
    rmse = result.scores["2m_temperature"].sel(model="gmg", metric="rmse")
    np.testing.assert_allclose(rmse, [1.0, 1.0], atol=1e-4)
    (line,) = result.notes
    assert f"gmg 2m_temperature: {nan_cells} of " in line and "NaN/inf" in line
    assert line.startswith("warning: ") == warned
