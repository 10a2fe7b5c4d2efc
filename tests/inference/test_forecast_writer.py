"""The forecast writer with a stand-in model: exact values, zarr layout, resume, idempotence, memory.

The stand-in (like earth2studio's ``PhooFCNModel``) repeats the last input frame and adds
``k * offset`` (normalised units) at lead ``k``, so every forecast value is known from the inputs:
``truth(init) + k * offset * std`` in physical units (``x * std + mean`` after de-normalisation).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.inference import Forecaster, forecast, write_forecast_zarr
from gmgclim.testing import mock_gridded_dataset, mock_radar_dataset

CHANNELS = ["t850", "t500", "z500", "t2m"]
OFFSET = 0.5


class ShiftModel(torch.nn.Module):
    """(B, T_in, C, H, W) -> (B, T_out, C, H, W): last frame + k * offset at lead k (1-based)."""

    def __init__(self, output_steps: int, offset: float = OFFSET, fail_on_call: int | None = None):
        super().__init__()
        self.output_steps = output_steps
        self.offset = torch.nn.Parameter(torch.tensor(offset))
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.inits_seen = 0

    def forward(self, inputs, targets=None, teacher_forcing_mask=None):
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("simulated interruption")
        self.inits_seen += inputs.shape[0]
        k = torch.arange(1, self.output_steps + 1, dtype=inputs.dtype).view(1, -1, 1, 1, 1)
        return inputs[:, -1:] + k * self.offset


def _stats(ds: xr.Dataset, channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from gmgclim.data.channels import select_channels

    fields = select_channels(ds, channels).values.astype(np.float64)
    return np.nanmean(fields, axis=(0, 2, 3)), np.nanstd(fields, axis=(0, 2, 3))


def _forecaster(ds, channels=CHANNELS, output_steps=3, input_steps=2, step="6h", **model_kw):
    mean, std = _stats(ds, channels)
    splits = {"test": {"start": "2000-01-05", "end": "2000-01-12"}}
    return Forecaster(
        model=ShiftModel(output_steps, **model_kw),
        channels=channels,
        input_steps=input_steps,
        output_steps=output_steps,
        step=step,
        mean=mean,
        std=std,
        source="stand-in",
        recipe={"data": {"entry": "mock", "channels": channels}},
        task={"splits": splits},
        model_name="shift",
    )


@pytest.fixture
def gridded():
    return mock_gridded_dataset(periods=48, n_lat=8, n_lon=16)


def _expected(ds, forecaster, variable, level, init, k):
    """Physical value the stand-in must produce for (variable, level) at init, lead k (1-based)."""
    channel = next(
        i
        for i, name in enumerate(forecaster.channels)
        if name
        == {
            ("temperature", 850): "t850",
            ("temperature", 500): "t500",
            ("geopotential", 500): "z500",
            ("2m_temperature", None): "t2m",
        }[(variable, level)]
    )
    field = ds[variable] if level is None else ds[variable].sel(level=level)
    last = field.sel(time=init).values.astype(np.float64)
    return last + k * OFFSET * forecaster.std[channel]


def test_forecast_values_match_stand_in(gridded):
    f = _forecaster(gridded)
    fc = forecast(f, gridded, split="test", batch_size=5)
    # windows of 2 inputs + 3 outputs every 6 h inside 2000-01-05 .. 2000-01-12 (end of day)
    assert fc.sizes["time"] == 8 * 4 - 4
    assert fc["time"].values[0] == np.datetime64("2000-01-05T06:00")
    assert list(fc.data_vars) == ["temperature", "geopotential", "2m_temperature"]
    assert fc["temperature"].dims == (
        "time",
        "prediction_timedelta",
        "level",
        "latitude",
        "longitude",
    )
    assert fc["2m_temperature"].dims == ("time", "prediction_timedelta", "latitude", "longitude")
    assert fc["level"].values.tolist() == [500, 850]
    assert fc["prediction_timedelta"].values.tolist() == [
        np.timedelta64(h, "h").astype("timedelta64[ns]").astype(int) * 1 for h in (6, 12, 18)
    ] or np.array_equal(
        fc["prediction_timedelta"].values, np.array([6, 12, 18], "timedelta64[h]").astype("m8[ns]")
    )
    for name, var in fc.data_vars.items():
        assert var.dtype == np.float32, name
    for init in fc["time"].values[[0, 7, -1]]:
        for k in (1, 2, 3):
            lead = fc["prediction_timedelta"].values[k - 1]
            for variable, level in [
                ("temperature", 850),
                ("temperature", 500),
                ("geopotential", 500),
                ("2m_temperature", None),
            ]:
                got = fc[variable].sel(time=init, prediction_timedelta=lead)
                got = got if level is None else got.sel(level=level)
                want = _expected(gridded, f, variable, level, init, k)
                np.testing.assert_allclose(got.values, want, rtol=2e-6, atol=1e-6 * abs(want).max())
    # geopotential has no 850 hPa channel: NaN there, never zero or garbage
    assert np.isnan(fc["geopotential"].sel(level=850).values).all()
    assert fc["temperature"].attrs["units"] == "K"
    assert fc["temperature"].attrs["standard_name"] == "air_temperature"
    assert fc.attrs["forecast_source_checkpoint"] == "stand-in"
    assert json.loads(fc.attrs["forecast_recipe"])["data"]["entry"] == "mock"


def test_zarr_store_layout_and_values(gridded, tmp_path):
    f = _forecaster(gridded)
    store = tmp_path / "fc.zarr"
    report = write_forecast_zarr(f, gridded, store, split="test", batch_size=4, progress=False)
    assert report.n_written == report.n_init_times == 28 and report.n_skipped == 0
    on_disk = xr.open_zarr(store)
    in_memory = forecast(f, gridded, split="test")
    xr.testing.assert_allclose(on_disk.drop_vars("init_written").load(), in_memory, rtol=1e-6)
    assert bool(on_disk["init_written"].all())
    temp = on_disk["temperature"]
    assert temp.encoding["chunks"] == (1, 3, 2, 8, 16)  # one init, all leads, whole fields
    assert temp.encoding["dtype"] == np.float32
    assert on_disk["2m_temperature"].encoding["chunks"] == (1, 3, 8, 16)
    assert on_disk["time"].values.dtype == np.dtype("datetime64[ns]")
    assert on_disk.attrs["Conventions"] == "CF-1.8"
    assert not list(tmp_path.glob(".fc.zarr.tmp-*"))  # the metadata temp dir was renamed away


def test_dask_backed_input_gives_same_forecast(gridded):
    f = _forecaster(gridded)
    eager = forecast(f, gridded, split="test")
    lazy = forecast(f, gridded.chunk({"time": 1}), split="test", batch_size=3)
    xr.testing.assert_identical(eager.drop_attrs(), lazy.drop_attrs())


def _store_values(store: Path) -> xr.Dataset:
    """Everything in a store but the creation time (``history``)."""
    ds = xr.open_zarr(store).load()
    ds.attrs.pop("history")
    return ds


def test_resume_after_interruption_skips_written_inits(gridded, tmp_path):
    reference = tmp_path / "reference.zarr"
    write_forecast_zarr(
        _forecaster(gridded), gridded, reference, split="test", batch_size=4, progress=False
    )

    store = tmp_path / "interrupted.zarr"
    failing = _forecaster(gridded, fail_on_call=4)  # three batches of 4 run, the fourth fails
    with pytest.raises(RuntimeError, match="simulated interruption"):
        write_forecast_zarr(failing, gridded, store, split="test", batch_size=4, progress=False)
    partial = xr.open_zarr(store)
    written = partial["init_written"].values
    assert written.sum() == 12 and written[:12].all()
    assert np.isnan(partial["2m_temperature"].isel(time=20).values).all()

    resumed = _forecaster(gridded)
    report = write_forecast_zarr(
        resumed, gridded, store, split="test", batch_size=4, progress=False
    )
    assert (report.n_skipped, report.n_written) == (12, 16)
    assert resumed.model.inits_seen == 16  # written init times were not forecast again
    xr.testing.assert_identical(_store_values(store), _store_values(reference))


def test_rerun_is_idempotent(gridded, tmp_path):
    store = tmp_path / "fc.zarr"
    write_forecast_zarr(_forecaster(gridded), gridded, store, split="test", progress=False)
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    again = _forecaster(gridded)
    report = write_forecast_zarr(again, gridded, store, split="test", progress=False)
    assert report.n_written == 0 and again.model.calls == 0
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert before == after


def test_resume_refuses_a_different_model_or_init_times(gridded, tmp_path):
    store = tmp_path / "fc.zarr"
    write_forecast_zarr(_forecaster(gridded), gridded, store, split="test", progress=False)
    with pytest.raises(DataError, match="fingerprint"):
        write_forecast_zarr(
            _forecaster(gridded, offset=0.25), gridded, store, split="test", progress=False
        )
    with pytest.raises(DataError, match="time values"):
        write_forecast_zarr(_forecaster(gridded), gridded, store, progress=False)
    # resume=False starts the store again
    report = write_forecast_zarr(
        _forecaster(gridded, offset=0.25),
        gridded,
        store,
        split="test",
        resume=False,
        progress=False,
    )
    assert report.n_written == 28


def test_explicit_init_times_and_clear_errors(gridded):
    f = _forecaster(gridded)
    inits = gridded["time"].values[[10, 3]]
    fc = forecast(f, gridded, init_times=inits)
    assert fc["time"].values.tolist() == sorted(inits.tolist())
    with pytest.raises(DataError, match="no complete input window"):
        forecast(f, gridded, init_times=[gridded["time"].values[0]])  # needs a frame before it
    with pytest.raises(DataError, match="split 'valid' is not in the task"):
        forecast(f, gridded, split="valid")


def test_radar_forecast_keeps_grid_mapping(tmp_path):
    radar = mock_radar_dataset(periods=12)
    f = _forecaster(radar, channels=["precip"], output_steps=2, input_steps=3, step="5min")
    store = tmp_path / "radar.zarr"
    write_forecast_zarr(f, radar, store, progress=False)
    fc = xr.open_zarr(store)
    assert fc["precipitation_rate"].dims == ("time", "prediction_timedelta", "y", "x")
    assert fc["precipitation_rate"].attrs["grid_mapping"] == "crs"
    assert fc["crs"].attrs["grid_mapping_name"] == "polar_stereographic"
    assert fc.sizes["time"] == 12 - 3 + 1  # no split: only the 3 input frames are needed
    # covered pixels: last frame + k * offset * std
    init = fc["time"].values[0]
    want = radar["precipitation_rate"].sel(time=init).values + 2 * OFFSET * f.std[0]
    got = fc["precipitation_rate"].sel(time=init).isel(prediction_timedelta=1).values
    covered = np.isfinite(want)
    np.testing.assert_allclose(got[covered], want[covered], rtol=1e-5)


def _peak_bytes(ds, store, n_inits) -> int:
    f = _forecaster(ds, output_steps=4)
    inits = ds["time"].values[1 : 1 + n_inits]
    tracemalloc.start()
    try:
        write_forecast_zarr(f, ds, store, init_times=inits, batch_size=4, progress=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_number_of_init_times(tmp_path):
    ds = mock_gridded_dataset(periods=80, n_lat=32, n_lon=64, freq="6h").load()
    small = _peak_bytes(ds, tmp_path / "small.zarr", 8)
    large = _peak_bytes(ds, tmp_path / "large.zarr", 72)
    one_init = 4 * 4 * (2 * 2 + 1) * 32 * 64  # float32 bytes of one init's output (all variables)
    # holding every forecast would cost 72 * one_init more; allow far less than that
    assert large - small < 12 * one_init, (small, large, one_init)
