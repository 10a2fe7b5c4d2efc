"""``data.residual: diurnal``: persistence plus the train split's mean diurnal change.

Two days of 6-hourly data on a 2 x 2 grid whose hour means are known by hand:

- pixel (0, 0): day 1 at 00/06/12/18 UTC = 0, 4, 10, 2 and day 2 = 2, 6, 12, 4, so the means by
  hour are D[00] = 1, D[06] = 5, D[12] = 11, D[18] = 3;
- pixel (0, 1): 7 everywhere except NaN on day 1 at 12 UTC, so D = 7 at every hour (NaN-aware);
- pixel (1, 0): pixel (0, 0) plus 1 (the same changes);
- pixel (1, 1): 3 everywhere (no change).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from gmgclim.data.diurnal import diurnal_change
from gmgclim.data.normalization import NormalizationStats, compute_stats
from gmgclim.data.task import Task
from gmgclim.data.torch_dataset import WindowDataset
from gmgclim.data.windows import build_windows
from gmgclim.errors import DataError
from gmgclim.inference import Forecaster
from gmgclim.models import GMG, GMGConfig

PIXEL_00 = [0.0, 4.0, 10.0, 2.0, 2.0, 6.0, 12.0, 4.0]
STD = 2.0  # normalisation: (x - 0) / 2


def _two_days(chunks: dict | None = None) -> xr.Dataset:
    values = np.empty((8, 2, 2), np.float32)
    values[:, 0, 0] = PIXEL_00
    values[:, 0, 1] = 7.0
    values[2, 0, 1] = np.nan  # day 1, 12 UTC
    values[:, 1, 0] = np.asarray(PIXEL_00) + 1.0
    values[:, 1, 1] = 3.0
    ds = xr.Dataset(
        {"2m_temperature": (("time", "latitude", "longitude"), values, {"units": "K"})},
        coords={
            "time": pd.date_range("2019-03-01", periods=8, freq="6h").values,
            "latitude": [50.0, 51.0],
            "longitude": [0.0, 1.0],
        },
    )
    return ds if chunks is None else ds.chunk(chunks)


def _stats(ds: xr.Dataset) -> NormalizationStats:
    diurnal = compute_stats(ds, ["t2m"], diurnal=True).diurnal
    return NormalizationStats(["t2m"], mean=[0.0], std=[STD], diurnal=diurnal)


@pytest.mark.parametrize("chunks", [None, {"time": 3}], ids=["in-memory", "dask"])
def test_diurnal_mean_is_the_hour_mean_per_pixel(chunks):
    diurnal = compute_stats(_two_days(chunks), ["t2m"], diurnal=True).diurnal
    assert diurnal.shape == (24, 1, 2, 2)
    np.testing.assert_allclose(diurnal[[0, 6, 12, 18], 0, 0, 0], [1.0, 5.0, 11.0, 3.0])
    np.testing.assert_allclose(diurnal[[0, 6, 12, 18], 0, 0, 1], 7.0)  # the NaN is skipped
    np.testing.assert_allclose(diurnal[[0, 6, 12, 18], 0, 1, 1], 3.0)
    assert np.isnan(diurnal[[1, 5, 13, 23]]).all()  # hours the data does not have


def test_diurnal_change_by_hand_and_missing_hours():
    diurnal = _stats(_two_days()).diurnal
    init = np.array(["2019-03-01T06"], dtype="datetime64[ns]")
    leads = np.array([6, 12, 18], dtype="timedelta64[h]")
    change = diurnal_change(diurnal, [STD], init, leads)
    # pixel (0, 0) from 06 UTC: D[12] - D[06] = 6, D[18] - D[06] = -2, D[00] - D[06] = -4; / 2
    np.testing.assert_allclose(change[0, :, 0, 0, 0], [3.0, -1.0, -2.0])
    np.testing.assert_allclose(change[0, :, 0, 1, 0], [3.0, -1.0, -2.0])
    np.testing.assert_allclose(change[0, :, 0, :, 1], 0.0)
    with pytest.raises(DataError, match=r"data.residual: diurnal.*03, 09, 15, 21 UTC"):
        diurnal_change(diurnal, [STD], init - np.timedelta64(3, "h"), leads)


def test_window_baseline_is_persistence_plus_the_mean_day():
    ds = _two_days()
    windows = build_windows(ds["time"].values, 2, 2, "6h")
    data = WindowDataset(ds, ["t2m"], windows, _stats(ds), baseline="diurnal")
    assert str(windows.init_times[0])[:13] == "2019-03-01T06"
    base = data[0]["baseline"].numpy()  # (T_out, C, H, W), normalised
    # x(06) = 4, then 4 + D[12] - D[06] = 10 and 4 + D[18] - D[06] = 2, normalised by 2
    np.testing.assert_allclose(base[:, 0, 0, 0], [5.0, 1.0])
    # pixel (0, 1): persistence of 7 (the NaN frame is a target here, not the reference)
    np.testing.assert_allclose(base[:, 0, 0, 1], [3.5, 3.5])
    # window of init day 1 18 UTC: x = 2, then 2 + D[00] - D[18] = 0, 2 + D[06] - D[18] = 4
    base = data[2]["baseline"].numpy()
    np.testing.assert_allclose(base[:, 0, 0, 0], [0.0, 2.0])
    with pytest.raises(ValueError, match="diurnal mean"):
        WindowDataset(ds, ["t2m"], windows, NormalizationStats(["t2m"], [0.0], [STD]),
                      baseline="diurnal")  # fmt: skip


def test_diurnal_statistics_round_trip_through_json_and_torch(tmp_path):
    stats = _stats(_two_days())
    back = NormalizationStats.load(stats.save(tmp_path / "normalization.json"))
    np.testing.assert_array_equal(back.diurnal, stats.diurnal)  # NaN hours included
    torch.save({"normalization": stats.to_dict()}, tmp_path / "n.pt")
    loaded = torch.load(tmp_path / "n.pt", weights_only=True)["normalization"]
    np.testing.assert_array_equal(NormalizationStats.from_dict(loaded).diurnal, stats.diurnal)
    assert json.loads((tmp_path / "normalization.json").read_text())["diurnal"][0][0][0] == [1, 7]


@pytest.mark.parametrize("step", ["5h", "7h", "36h"])
def test_diurnal_residual_needs_a_step_dividing_a_day(step):
    with pytest.raises(DataError, match=rf"data.residual: diurnal.*step {step}"):
        Task(entry="m", channels=("t2m",), step=step, input_steps=2, output_steps=2,
             residual="diurnal")  # fmt: skip


def _zero_readout_forecaster(ds: xr.Dataset) -> Forecaster:
    config = GMGConfig(in_channels=1, height=2, width=2, input_steps=2, output_steps=2,
                       patch_size=2, num_hidden=(4,), att_hidden=4, filter_size=3,
                       residual=True)  # fmt: skip
    model = GMG(config).eval()
    torch.nn.init.zeros_(model.head.weight)  # the network's change is 0: the reference remains
    task = Task(entry="m", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
                residual="diurnal")  # fmt: skip
    stats = _stats(ds)
    return Forecaster(model, mean=stats.mean, std=stats.std, task=task, diurnal=stats.diurnal)


def test_zero_readout_model_forecasts_the_reference():
    ds = _two_days()
    forecaster = _zero_readout_forecaster(ds)
    inputs = ds["2m_temperature"].values[None, 0:2, None]  # 00 and 06 UTC of day 1
    out = forecaster.predict(inputs, init_times=ds["time"].values[1:2])
    # physical: 4 + 11 - 5 = 10 and 4 + 3 - 5 = 2 at (0, 0); 11 and 3 at (1, 0); 3 at (1, 1)
    np.testing.assert_allclose(out[0, :, 0, 0, 0], [10.0, 2.0], atol=1e-5)
    np.testing.assert_allclose(out[0, :, 0, 1, 0], [11.0, 3.0], atol=1e-5)
    np.testing.assert_allclose(out[0, :, 0, 1, 1], [3.0, 3.0], atol=1e-5)
    with pytest.raises(ValueError, match="init_times"):
        forecaster.predict(inputs)


def test_diurnal_model_refuses_another_grid():
    forecaster = _zero_readout_forecaster(_two_days())
    with pytest.raises(DataError, match=r"data.residual: diurnal.*2 x 2 training grid.*4 x 4"):
        forecaster.predict(np.zeros((1, 2, 1, 4, 4), np.float32),
                           init_times=np.array(["2019-03-01T06"], "datetime64[ns]"))  # fmt: skip
    with pytest.raises(DataError, match=r"data.residual: diurnal") as err:
        forecaster.for_data(entry="other-entry")
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match=r"data.residual: diurnal"):
        forecaster.for_data(grid={"coarsen": {"latitude": 2, "longitude": 2}})
    assert forecaster.for_data(step="12h").task.step == "12h"  # another step is fine


def test_daily_insolation_at_known_places_and_days():
    from gmgclim.data.diurnal import daily_insolation

    # equator at the March equinox: the day-mean of cos(zenith) is 1/pi (Earth ~1 % closer
    # than 1 AU in March: x ~1.01); the North Pole at the June solstice: sin(23.44 deg) (x 0.967)
    q = daily_insolation(np.array(["2019-03-20", "2019-06-21"], dtype="datetime64[D]"), [0.0, 90.0])
    assert q[0, 0] == pytest.approx(1.0 / np.pi * 1.011, rel=0.01)
    assert q[1, 1] == pytest.approx(np.sin(np.radians(23.44)) * 0.967, rel=0.01)
    # the pole at the equinox: the sun on the horizon
    assert q[0, 1] == pytest.approx(0.0, abs=0.01)


def test_insolation_scale_is_one_on_the_train_days_on_average_and_grows_in_spring():
    from gmgclim.data.diurnal import InsolationScale

    scale = InsolationScale([54.0], "2019-03-01", "2019-03-20")
    days = np.arange("2019-03-01", "2019-03-21", dtype="datetime64[D]")
    assert scale(days).mean() == pytest.approx(1.0, rel=1e-9)
    later = scale(np.array(["2019-03-28T18"], dtype="datetime64[ns]"))[0, 0]
    assert 1.2 < later < 1.4  # about +30 % in the week after the split at 54 N
    with pytest.raises(DataError, match="polar night"):
        InsolationScale([89.0], "2019-12-01", "2019-12-31")


def test_scaled_diurnal_change_by_hand():
    diurnal = _stats(_two_days()).diurnal
    init = np.array(["2019-03-01T06"], dtype="datetime64[ns]")
    leads = np.array([6, 12], dtype="timedelta64[h]")
    # scale 1 everywhere: the anomaly's differences are the mean day's
    ones = diurnal_change(diurnal, [STD], init, leads, lambda t: np.ones((np.size(t), 2)))
    np.testing.assert_allclose(ones, diurnal_change(diurnal, [STD], init, leads), atol=1e-6)

    # pixel (0, 0): D = 1, 5, 11, 3 at 00, 06, 12, 18 -> mean 5, anomaly -4, 0, 6, -2;
    # the init (06 UTC) scaled by 1, the valid times by 2: 2 * 6 - 0 = 12 and 2 * -2 - 0 = -4
    def scale(times):
        hours = np.asarray(times, dtype="datetime64[h]").astype(np.int64) % 24
        return np.where(hours == 6, 1.0, 2.0)[:, None].repeat(2, axis=1)

    change = diurnal_change(diurnal, [STD], init, leads, scale)
    np.testing.assert_allclose(change[0, :, 0, 0, 0], [12.0 / STD, -4.0 / STD])
    np.testing.assert_allclose(change[0, :, 0, 0, 1], 0.0)  # a constant pixel has no anomaly


def test_diurnal_scaling_needs_the_diurnal_residual():
    with pytest.raises(DataError, match="diurnal_scaling: insolation needs residual: diurnal"):
        Task(entry="x", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
             residual="persistence", diurnal_scaling="insolation")  # fmt: skip
    task = Task(entry="x", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
                residual="diurnal", diurnal_scaling="insolation")  # fmt: skip
    assert Task.from_dict(task.to_dict()).diurnal_scaling == "insolation"
    assert Task.from_dict({**task.to_dict(), "diurnal_scaling": None}).diurnal_scaling == "none"
    with pytest.raises(DataError, match="needs a latitude/longitude grid"):
        task.diurnal_scale()  # no grid yet


def test_input_amplitude_by_hand_clipped_and_where_undefined():
    from gmgclim.data.diurnal import input_amplitude

    diurnal = _stats(_two_days()).diurnal  # pixel (0, 0): D = 1, 5, 11, 3 at 00, 06, 12, 18
    times = np.array([["2019-03-02T06", "2019-03-02T12"]], "datetime64[ns]")
    x = np.zeros((1, 2, 1, 2, 2))
    # pixel (0, 0): anomaly / std at 06, 12 = -0.5, 2.5 -> centred -1.5, 1.5; the inputs swing
    # 4.5 (normalised) -> a = (1.5 * 2.25 * 2) / (1.5 ** 2 * 2) = 1.5
    x[0, :, 0, 0, 0] = [2.0, 6.5]
    x[0, :, 0, 1, 0] = [6.5, 2.0]  # against the mean day: clipped to 0.5
    x[0, :, 0, 1, 1] = [1.0, 9.0]  # the mean day is flat there (D = 3): 1
    a = input_amplitude(diurnal, [STD], x, times)
    assert a.shape == (1, 1, 2, 2)
    assert a[0, 0, 0, 0] == pytest.approx(1.5)
    assert a[0, 0, 1, 0] == 0.5 and a[0, 0, 1, 1] == 1.0
    x[0, 0, 0, 0, 0] = np.nan  # one finite input left: no fit
    assert input_amplitude(diurnal, [STD], x, times)[0, 0, 0, 0] == 1.0
    x[0, :, 0, 0, 0] = [2.0, 20.0]
    assert input_amplitude(diurnal, [STD], x, times)[0, 0, 0, 0] == 2.0  # the upper bound
    with pytest.raises(ValueError, match=r"input_times \(1, 1\)"):
        input_amplitude(diurnal, [STD], x, times[:, :1])


def test_amplitude_scaled_reference_by_hand_and_the_same_in_training_and_forecasts():
    ds = _two_days()
    stats = _stats(ds)
    task = Task(entry="m", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
                residual="diurnal", diurnal_scaling="inputs")  # fmt: skip
    assert task.diurnal_scale() is None  # no seasonal scale: a factor per window
    assert Task.from_dict(task.to_dict()).diurnal_scaling == "inputs"
    forecaster = _zero_readout_forecaster(ds)
    forecaster.task = task
    # pixel (0, 0) fed 0 and 6 at 00 and 06 UTC: the mean day's -4, 0 swung 1.5 times, so the
    # reference is 6 + 1.5 (D[12] - D[06]) = 15 and 6 + 1.5 (D[18] - D[06]) = 3
    inputs = ds["2m_temperature"].values[None, 0:2, None].copy()
    inputs[0, :, 0, 0, 0] = [0.0, 6.0]
    out = forecaster.predict(inputs, init_times=ds["time"].values[1:2])
    np.testing.assert_allclose(out[0, :, 0, 0, 0], [15.0, 3.0], atol=1e-5)
    np.testing.assert_allclose(out[0, :, 0, 1, 1], [3.0, 3.0], atol=1e-5)  # flat day: persistence
    # a training window's reference is the forecast's of the same inputs (day 2 swings more)
    ds["2m_temperature"][4:, 0, 0] = [0.0, 8.0, 20.0, 4.0]
    windows = build_windows(ds["time"].values, 2, 2, "6h")
    data = WindowDataset(ds, ["t2m"], windows, stats, baseline="diurnal", diurnal_amplitude=True)
    plain = WindowDataset(ds, ["t2m"], windows, stats, baseline="diurnal")
    scaled = 0
    for i in range(len(data)):
        rows = windows.input_index[i]
        expected = forecaster.predict(
            ds["2m_temperature"].values[None, rows, None], init_times=windows.init_times[i : i + 1]
        )
        np.testing.assert_allclose(data[i]["baseline"].numpy() * STD, expected[0], atol=1e-5)
        scaled += not np.allclose(data[i]["baseline"], plain[i]["baseline"])
    assert scaled >= 2
