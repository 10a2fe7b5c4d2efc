"""A trained model applied to other data: another grid, another entry, another frame step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gmgclim.data.task import GridSpec, Task
from gmgclim.errors import DataError
from gmgclim.inference import Forecaster, forecast
from gmgclim.testing import mock_gridded_dataset


class Persistence(torch.nn.Module):
    def forward(self, inputs, targets=None, teacher_forcing_mask=None, context=None):
        return inputs[:, -1:].expand(-1, 2, -1, -1, -1)


def _forecaster(**task_changes) -> Forecaster:
    task = Task(entry="mock", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
                grid=GridSpec(crop=(("latitude", 0, 4), ("longitude", 0, 4))))  # fmt: skip
    return Forecaster(Persistence(), mean=[280.0], std=[2.0], task=task.replace(**task_changes))


def test_training_crop_applies_by_default_and_can_be_replaced():
    ds = mock_gridded_dataset(periods=12, n_lat=8, n_lon=16)
    assert forecast(_forecaster(), ds)["2m_temperature"].shape[-2:] == (4, 4)
    whole = forecast(_forecaster(), ds, grid=GridSpec())
    assert whole["2m_temperature"].shape[-2:] == (8, 16)
    coarse = forecast(_forecaster(), ds, grid={"coarsen": {"latitude": 2, "longitude": 2}})
    assert coarse["2m_temperature"].shape[-2:] == (4, 8)
    np.testing.assert_allclose(
        coarse["2m_temperature"].isel(time=0, prediction_timedelta=0).values,
        ds["2m_temperature"].coarsen(latitude=2, longitude=2).mean()
        .sel(time=coarse["time"].values[0]).values,
        rtol=1e-6,
    )  # fmt: skip


def test_another_frame_step_on_purpose():
    ds = mock_gridded_dataset(periods=12, n_lat=8, n_lon=16)
    fc = forecast(_forecaster(), ds, step="12h")
    assert fc["prediction_timedelta"].values.tolist() == [
        np.timedelta64(12, "h").astype("m8[ns]"), np.timedelta64(24, "h").astype("m8[ns]")
    ]  # fmt: skip
    # persistence of the frame 12 h before each init's next frame
    t0 = fc["time"].values[0]
    np.testing.assert_array_equal(
        fc["2m_temperature"].sel(time=t0).isel(prediction_timedelta=1).values,
        ds["2m_temperature"].sel(time=t0).values[:4, :4],
    )


def test_other_entry_is_read_on_its_native_grid():
    f = _forecaster().for_data(entry="other-entry")
    assert f.task.entry == "other-entry" and f.task.grid == GridSpec()
    assert _forecaster().for_data(entry="mock").task.grid.crop  # the same entry keeps its grid


@pytest.mark.parametrize(
    ("crop", "coarsen", "expected"),
    [
        ("y=0:512,x=10:20", None, GridSpec(crop=(("y", 0, 512), ("x", 10, 20)))),
        (None, "y=4, x=4", GridSpec(coarsen=(("y", 4), ("x", 4)))),
    ],
)
def test_grid_options_from_the_command_line(crop, coarsen, expected):
    assert GridSpec.parse(crop, coarsen) == expected


@pytest.mark.parametrize(("crop", "coarsen"), [("y0:512", None), ("y=a:b", None), (None, "y=")])
def test_bad_grid_options_name_the_option(crop, coarsen):
    with pytest.raises(DataError, match=r"--crop|--coarsen"):
        GridSpec.parse(crop, coarsen)
