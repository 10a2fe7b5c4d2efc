"""Probability matching: the forecast's rank order with the last observed frame's values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gmgclim.data.task import Task
from gmgclim.errors import DataError
from gmgclim.inference import Forecaster
from gmgclim.inference.probability_matching import match_to_reference


def test_matched_fields_take_the_reference_values_in_the_forecast_rank_order():
    rng = np.random.default_rng(0)
    reference = rng.gamma(0.5, 2.0, size=(2, 6, 5))
    reference[0, 0, :3] = np.nan  # not observed: those cells keep the forecast
    forecast = rng.normal(size=(2, 3, 6, 5))
    matched = match_to_reference(forecast, reference)
    assert matched.shape == forecast.shape
    for b in range(2):
        observed = np.isfinite(reference[b])
        for t in range(3):
            got, f = matched[b, t][observed], forecast[b, t][observed]
            np.testing.assert_array_equal(np.sort(got), np.sort(reference[b][observed]))
            np.testing.assert_array_equal(np.argsort(got), np.argsort(f))  # same ranking
            np.testing.assert_array_equal(matched[b, t][~observed], forecast[b, t][~observed])


def test_matching_by_hand_and_a_nan_forecast_cell():
    forecast = np.array([[[[0.4, -0.1, 2.0]], [[1.0, 3.0, np.nan]]]])  # (1, 2, 1, 3)
    reference = np.array([[[0.0, 8.0, 1.0]]])
    matched = match_to_reference(forecast, reference)
    np.testing.assert_array_equal(matched[0, 0, 0], [1.0, 0.0, 8.0])
    # the NaN cell is left out: the other two take the reference values of their own cells
    np.testing.assert_array_equal(matched[0, 1, 0, :2], [0.0, 8.0])
    assert np.isnan(matched[0, 1, 0, 2])
    with pytest.raises(ValueError, match="do not match"):
        match_to_reference(forecast, reference[:, :, :2])


class HalfFlipped(torch.nn.Module):
    """(B, T_in, C, H, W) -> (B, 2, C, H, W): half the last frame, mirrored, minus 0.1."""

    def forward(self, inputs, targets=None, teacher_forcing_mask=None):
        frame = 0.5 * torch.flip(inputs[:, -1:], dims=(-1,)) - 0.1
        return frame.expand(-1, 2, -1, -1, -1)


def _rain_forecaster(matching: str) -> Forecaster:
    task = Task(entry="radar", channels=("precip",), step="5min", input_steps=2, output_steps=2,
                probability_matching=matching)  # fmt: skip
    return Forecaster(HalfFlipped(), mean=[0.0], std=[1.0], task=task)


def test_a_matched_rain_forecast_keeps_the_observed_intensities():
    last = np.array([[0.05, 0.5, 2.0, 9.0], [np.nan, 1.0, 0.2, 4.0]], np.float32)
    inputs = np.stack([np.zeros_like(last), last])[None, :, None]  # (1, 2, 1, 2, 4)
    plain = _rain_forecaster("none").predict(inputs)
    matched = _rain_forecaster("cdf").predict(inputs)
    # the model halves and mirrors the rain (the NaN input is filled with 0: -0.1 there)
    np.testing.assert_allclose(plain[0, 0, 0, 0], [4.4, 0.9, 0.15, 0.0], atol=1e-6)
    np.testing.assert_allclose(plain[0, 0, 0, 1], [1.9, 0.0, 0.4, 0.0], atol=1e-6)
    # matched over the 7 observed cells: forecast 4.4 .9 .15 -.075 / . 0 .4 -.1 ranks the
    # observed values .05 .2 .5 1 2 4 9; the unobserved cell keeps the model's 0.5 x 4 - 0.1
    np.testing.assert_allclose(matched[0, 1, 0, 0], [9.0, 4.0, 1.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(matched[0, 1, 0, 1], [1.9, 0.5, 2.0, 0.05], atol=1e-6)
    assert _rain_forecaster("cdf").fingerprint() != _rain_forecaster("none").fingerprint()
    off = _rain_forecaster("cdf").for_data(probability_matching="none")
    np.testing.assert_array_equal(off.predict(inputs), plain)


def test_probability_matching_needs_a_precipitation_channel_and_round_trips():
    with pytest.raises(DataError, match=r"probability_matching: cdf.*\['t2m'\].*no precipitation"):
        Task(entry="x", channels=("t2m",), step="6h", input_steps=2, output_steps=2,
             probability_matching="cdf")  # fmt: skip
    with pytest.raises(DataError, match="must be one of"):
        Task(entry="x", channels=("precip",), step="5min", input_steps=2, output_steps=2,
             probability_matching="quantile")  # fmt: skip
    task = _rain_forecaster("cdf").task
    assert Task.from_dict(task.to_dict()).probability_matching == "cdf"
    old = {k: v for k, v in task.to_dict().items() if k != "probability_matching"}
    assert Task.from_dict(old).probability_matching == "none"  # checkpoints before the option
