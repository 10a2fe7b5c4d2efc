"""The NaN/inf policy (issue 15), the same for every channel: NaN and +-inf are no data; as inputs
they are filled with ``data.fill_nan`` and counted in the training log, as targets they are masked
and never scored as their fill.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from safety_helpers import error_line, tiny_recipe, write_recipe

from gmgclim import testing
from gmgclim.data.normalization import NormalizationStats, compute_stats, filled_input_lines
from gmgclim.data.torch_dataset import WindowDataset
from gmgclim.data.transforms import forward
from gmgclim.data.windows import build_windows
from gmgclim.errors import DataError
from gmgclim.training.losses import squared_error_sums, weighted_mse


def _t2m_with_gaps(periods: int = 12):
    """Mock 6-hourly t2m (8 x 16) with NaN at (frame 1, 0, 0) and (4, 2, 3), +inf at (1, 5, 5),
    -inf at (4, 7, 15)."""
    ds = testing.mock_gridded_dataset(periods=periods, variables=("2m_temperature",))
    values = ds["2m_temperature"].values.copy()
    values[1, 0, 0] = values[4, 2, 3] = np.nan
    values[1, 5, 5], values[4, 7, 15] = np.inf, -np.inf
    return ds.assign({"2m_temperature": (ds["2m_temperature"].dims, values)})


def test_inputs_are_filled_and_targets_masked_for_nan_and_inf():
    ds = _t2m_with_gaps()
    stats = NormalizationStats(["t2m"], [280.0], [2.0])
    windows = build_windows(ds["time"].values, 2, 3, "6h")
    data = WindowDataset(ds, ["t2m"], windows, stats, fill_nan=-7.0, return_mask=True)
    item = data[0]  # frames 0, 1 in; 2, 3, 4 out
    inputs, targets = item["inputs"][:, 0], item["targets"][:, 0]
    assert torch.isfinite(inputs).all() and torch.isfinite(targets).all()
    assert inputs[1, 0, 0] == -7.0 and inputs[1, 5, 5] == -7.0  # NaN and +inf filled alike
    assert not item["input_mask"][1, 0, 0, 0] and not item["input_mask"][1, 0, 5, 5]
    assert int((~item["input_mask"]).sum()) == 2
    mask = item["mask"][:, 0]
    assert not mask[2, 2, 3] and not mask[2, 7, 15] and int((~mask).sum()) == 2


def test_the_loss_never_scores_a_filled_target():
    """Any fill value gives the same loss and validation sums: filled targets are not scored."""
    ds = _t2m_with_gaps()
    stats = NormalizationStats(["t2m"], [280.0], [2.0])
    windows = build_windows(ds["time"].values, 2, 3, "6h")
    losses, sums = [], []
    for fill in (0.0, 1.0e3):
        item = WindowDataset(ds, ["t2m"], windows, stats, fill_nan=fill, return_mask=True)[0]
        target, mask = item["targets"][None], item["mask"][None]
        prediction = torch.zeros_like(target)
        losses.append(float(weighted_mse(prediction, target, valid=mask)))
        sums.append(squared_error_sums(prediction, target, valid=mask)[0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and np.isfinite(losses[0])
    torch.testing.assert_close(sums[0], sums[1])


def test_statistics_ignore_inf_like_nan_and_count_the_cells():
    ds = _t2m_with_gaps()
    stats = compute_stats(ds, ["t2m"])
    values = ds["2m_temperature"].values.astype(np.float64)
    finite = values[np.isfinite(values)]
    assert stats.mean[0] == pytest.approx(finite.mean()) and stats.std[0] == pytest.approx(
        finite.std(), rel=1e-6
    )
    assert stats.meta["nonfinite_cells"] == [4] and stats.meta["cells"] == 12 * 8 * 16


def test_filled_input_lines_name_count_share_and_channel():
    ds = _t2m_with_gaps()
    (line,) = filled_input_lines(compute_stats(ds, ["t2m"]), fill_nan=0.0)
    # 4 of 12 x 8 x 16 = 1536 cells: 0.26 %
    assert line.startswith("filled 4 NaN/inf input cells (0.26 %) in channel t2m")
    assert "the channel mean" in line and "masked" in line
    clean = testing.mock_gridded_dataset(periods=4, variables=("2m_temperature",))
    assert filled_input_lines(compute_stats(clean, ["t2m"])) == []
    assert filled_input_lines(NormalizationStats(["t2m"], [280.0], [2.0])) == []  # older files


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_channel_without_finite_values_says_so(bad):
    """Bad input: a channel that is all +inf, -inf or NaN in the statistics period."""
    ds = testing.mock_gridded_dataset(periods=4, variables=("2m_temperature",))
    ds = ds.assign({"2m_temperature": ds["2m_temperature"] * 0 + bad})
    with pytest.raises(DataError, match=r"no finite values \(all NaN or \+-inf\)") as info:
        compute_stats(ds, ["t2m"])
    assert "non-NaN" not in str(info.value) and "2000-01-01T00:00:00" in str(info.value)


@pytest.mark.parametrize("name", ["log", "dbr"])
def test_transforms_turn_inf_into_nan_not_into_rain(name):
    values = np.array([np.inf, -np.inf, np.nan, 1.0], dtype=np.float32)
    out = forward(name, values)
    assert np.isnan(out[:3]).all() and np.isfinite(out[3])
    da = testing.mock_radar_dataset(periods=2)["precipitation_rate"]
    da = da.where(da.notnull(), np.inf)
    assert not np.isinf(forward(name, da).values).any()


def _index(ds, name: str, value: float) -> int:
    return int(np.argmin(np.abs(ds[name].values - value)))


def test_training_logs_the_filled_input_count_and_keeps_the_loss_finite(cli, tmp_path, monkeypatch):
    """NaN and +inf in the train split: counted on stderr and in run.log, and the loss is finite."""
    from gmgclim.data.catalog import open_entry

    ds = open_entry("era5-uk-t2m").isel(time=slice(0, 120)).load()
    values = ds["2m_temperature"].values.copy()
    # inside the recipe's 8 x 8 crop (52.5..54.25 N, 5..3.25 W) and its train split (48 h)
    row, col = _index(ds, "latitude", 53.0), _index(ds, "longitude", 355.5)
    values[[3, 7, 30], row, col] = np.nan
    values[[5, 40], _index(ds, "latitude", 53.75), _index(ds, "longitude", 356.25)] = np.inf
    values[[49, 50], row, col] = np.nan  # in the valid split: targets, masked
    values[[80, 81], row, col] = np.nan  # in the test split: forecast inputs, filled and counted
    ds["2m_temperature"] = (ds["2m_temperature"].dims, values, ds["2m_temperature"].attrs)
    path = tmp_path / "gaps.nc"
    ds.to_netcdf(path)
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        f"entries:\n  gaps:\n    driver: netcdf\n    location: {path}\n    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["entry"] = "gaps"
    recipe["data"]["splits"] = {
        "train": {"start": "2019-03-01", "end": "2019-03-02"},
        "valid": {"start": "2019-03-03", "end": "2019-03-03"},
        "test": {"start": "2019-03-04", "end": "2019-03-05"},
    }
    code, _, err = cli("train", str(write_recipe(tmp_path / "r.yaml", recipe)), "--no-progress")
    assert code == 0, err
    # 5 of 48 frames x 64 cells = 3072: 0.16 %
    expected = "filled 5 NaN/inf input cells (0.16 %) in channel t2m of the train split"
    assert expected in err
    assert expected in (tmp_path / "run" / "run.log").read_text()
    import pandas as pd

    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    losses = metrics[metrics["metric"].str.contains("loss")]["value"]
    assert len(losses) and np.isfinite(losses).all()
    # the forecast fills its NaN inputs too, and says how many it filled
    store = tmp_path / "fc.zarr"
    code, _, err = cli("forecast", str(tmp_path / "run"), "--split", "test", "-o", str(store))
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "NaN/inf input cells" in x]
    assert line.startswith("note: filled ") and "in channel t2m with data.fill_nan 0" in line
    assert np.isfinite(xr.open_zarr(store)["2m_temperature"].values).all()


def test_an_all_inf_channel_in_training_exits_2_with_one_line(cli, tmp_path, monkeypatch):
    """Bad input: +inf everywhere (a broken _FillValue, say) is no data, named as such."""
    from gmgclim.data.catalog import open_entry

    ds = open_entry("era5-uk-t2m").isel(time=slice(0, 120)).load()
    ds["2m_temperature"] = ds["2m_temperature"] * 0 + np.inf
    path = tmp_path / "inf.nc"
    ds.to_netcdf(path)
    catalog = tmp_path / "c.yaml"
    catalog.write_text(
        f"entries:\n  infs:\n    driver: netcdf\n    location: {path}\n    channels: [t2m]\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    recipe = tiny_recipe(tmp_path / "run")
    recipe["data"]["entry"] = "infs"
    code, _, err = cli("train", str(write_recipe(tmp_path / "r.yaml", recipe)), "--no-progress")
    assert code == 2
    line = error_line(err)
    assert "t2m" in line and "no finite values (all NaN or +-inf)" in line
