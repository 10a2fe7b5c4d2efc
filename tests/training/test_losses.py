"""Latitude-weighted and NaN-masked MSE, pinned to hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gmgclim.metrics.weights import latitude_weights_wb1
from gmgclim.training.losses import (
    event_levels,
    intensity_weights,
    latitude_weights,
    squared_error_sums,
    weighted_mse,
)


def test_latitude_weights_match_metrics():
    lat = np.array([-60.0, 0.0, 60.0])
    # cos: 0.5, 1, 0.5 -> mean 2/3 -> 0.75, 1.5, 0.75
    assert torch.allclose(latitude_weights(lat.tolist()), torch.tensor([0.75, 1.5, 0.75]))
    np.testing.assert_allclose(
        latitude_weights(lat.tolist()).numpy(), latitude_weights_wb1(lat).values, rtol=1e-6
    )


def test_weighted_mse_by_hand():
    target = torch.zeros(1, 1, 1, 3, 2)
    prediction = torch.zeros(1, 1, 1, 3, 2)
    prediction[..., 0, :] = 1.0  # error 1 on the -60 row, weight 0.75
    prediction[..., 1, :] = 2.0  # error 2 on the equator, weight 1.5
    weights = torch.tensor([0.75, 1.5, 0.75])
    # (0.75 * 1 + 1.5 * 4 + 0) * 2 / (3 * 2) = 6.75 / 3 = 2.25
    assert weighted_mse(prediction, target, weights).item() == pytest.approx(2.25)
    # unweighted: (1 + 4 + 0) / 3
    assert weighted_mse(prediction, target).item() == pytest.approx(5 / 3)


def test_nan_masked_mse_ignores_nan_and_keeps_gradients_finite():
    target = torch.tensor([1.0, float("nan"), 3.0, 4.0]).reshape(1, 1, 1, 2, 2)
    prediction = torch.zeros(1, 1, 1, 2, 2, requires_grad=True)
    valid = torch.ones_like(target, dtype=torch.bool)
    loss = weighted_mse(prediction, target, valid=valid)
    assert loss.item() == pytest.approx((1 + 9 + 16) / 3)
    loss.backward()
    assert torch.all(torch.isfinite(prediction.grad))
    assert prediction.grad.view(-1)[1] == 0.0
    # cells the mask drops do not count either
    valid[..., 1, 1] = False
    assert weighted_mse(prediction, target, valid=valid).item() == pytest.approx(10 / 2)


def test_squared_error_sums_per_lead_and_channel():
    prediction = torch.zeros(2, 3, 2, 4, 5)
    target = torch.zeros(2, 3, 2, 4, 5)
    prediction[:, 1, 0] = 2.0
    err, w = squared_error_sums(prediction, target)
    assert err.shape == w.shape == (3, 2)
    assert err.dtype == torch.float64
    assert err[1, 0].item() == pytest.approx(4 * 2 * 4 * 5)
    assert torch.all(w == 2 * 4 * 5)
    rmse = torch.sqrt(err / w)
    assert rmse[1, 0].item() == pytest.approx(2.0)
    assert rmse.sum().item() == pytest.approx(2.0)


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match="prediction"):
        weighted_mse(torch.zeros(1, 1, 1, 2, 2), torch.zeros(1, 2, 1, 2, 2))
    with pytest.raises(ValueError, match="row weights"):
        weighted_mse(torch.zeros(1, 1, 1, 2, 2), torch.zeros(1, 1, 1, 2, 2), torch.ones(3))
    assert math.isfinite(
        weighted_mse(torch.zeros(1, 1, 1, 2, 2), torch.zeros(1, 1, 1, 2, 2)).item()
    )


def test_event_levels_map_rain_thresholds_to_normalised_log_units():
    # log transform: log(R + 0.1) - log(0.1); channel 0 rain (mean 1, std 2), channel 1 not rain
    levels = event_levels(
        [1.0, 5.0], [True, False], np.array([1.0, 0.0]), np.array([2.0, 1.0]), "log"
    )
    expected = [(math.log(11.0) - 1.0) / 2.0, (math.log(51.0) - 1.0) / 2.0]
    np.testing.assert_allclose(levels[0].numpy(), expected, rtol=1e-6)
    assert torch.isinf(levels[1]).all()


def test_balanced_mse_weighs_errors_by_target_intensity():
    # one rain channel, thresholds 2 and 5 (already normalised) with weights 2 and 5
    target = torch.tensor([0.0, 2.0, 3.0, 7.0]).reshape(1, 1, 1, 2, 2)
    levels = torch.tensor([[2.0, 5.0]])
    weights = intensity_weights(target, levels, [2.0, 5.0])
    assert weights.flatten().tolist() == [1.0, 2.0, 2.0, 5.0]
    prediction = target + 1.0  # error 1 everywhere
    # (1 + 2 + 2 + 5) / 4 cells: the weights scale the errors, the count stays the cells'
    assert weighted_mse(prediction, target, cell_weights=weights).item() == pytest.approx(2.5)
    # a channel that is not rain (+inf levels) keeps the plain MSE
    plain = intensity_weights(target, torch.full((1, 2), float("inf")), [2.0, 5.0])
    assert weighted_mse(prediction, target, cell_weights=plain).item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("event_weights", "message"),
    [
        ({"thresholds": [1, 5], "weights": [2]}, "as many weights as thresholds"),
        ({"thresholds": [5, 1], "weights": [2, 5]}, "must increase strictly"),
        ({"thresholds": [1, 5], "weights": [2, 0]}, "must be > 0"),
    ],
)
def test_bad_event_weights_are_refused(event_weights, message):
    from gmgclim.config import LossConfig

    with pytest.raises(ValueError, match=message):
        LossConfig(event_weights=event_weights)


def test_amplitude_term_compares_the_domain_means_swing_by_hand():
    from gmgclim.training.losses import domain_mean_amplitude_error

    # truth: domain mean 1, 0, 1, 0 (std 0.5); prediction half that swing (std 0.25)
    target = torch.zeros(1, 4, 1, 2, 2)
    target[:, [0, 2]] = 1.0
    prediction = 0.5 * target + 0.25
    error = domain_mean_amplitude_error(prediction, target, eps=0.0)
    assert error.item() == pytest.approx((0.25 - 0.5) ** 2)
    # a NaN target cell is left out of its frame's mean, not taken as 0
    target[0, 0, 0, 0, 0] = float("nan")
    valid = torch.isfinite(target)
    again = domain_mean_amplitude_error(prediction, target, valid=valid, eps=0.0)
    assert again.item() == pytest.approx((0.25 - 0.5) ** 2)
    with pytest.raises(ValueError, match=">= 2 frames"):
        domain_mean_amplitude_error(prediction[:, :1], target[:, :1])
