"""Training losses and validation error sums on (B, T, C, H, W) frames.

Both weight grid rows by latitude weights (``cos(latitude)`` normalised to mean 1, WeatherBench 1; see
``gmgclim.metrics.weights.latitude_weights_wb1``) when given, and ignore invalid target cells (NaN
radar no-data) when given a validity mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gmgclim.metrics.weights import latitude_weights_wb1

__all__ = [
    "domain_mean_amplitude_error",
    "event_levels",
    "intensity_weights",
    "latitude_weights",
    "squared_error_sums",
    "weighted_mse",
]


def latitude_weights(latitude_deg: np.ndarray | Sequence[float]) -> torch.Tensor:
    """Row weights of the loss: :func:`gmgclim.metrics.weights.latitude_weights_wb1` as a tensor.

    Parameters
    ----------
    latitude_deg : array-like of float
        Row latitudes in degrees north, shape (H,).

    Returns
    -------
    torch.Tensor
        ``cos(latitude) / mean(cos(latitude))``, float32, shape (H,), mean 1.
    """
    weights = latitude_weights_wb1(np.asarray(latitude_deg, dtype=np.float64))
    return torch.as_tensor(np.asarray(weights.values), dtype=torch.float32)


def _weights_and_error(
    prediction: torch.Tensor,
    target: torch.Tensor,
    row_weights: torch.Tensor | None,
    valid: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared error and per-cell weights, both (B, T, C, H, W) float32; invalid cells weigh 0."""
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {tuple(prediction.shape)} != target {tuple(target.shape)}")
    prediction = prediction.float()
    target = target.float()
    weights = torch.ones_like(target)
    if row_weights is not None:
        height = target.shape[-2]
        if row_weights.shape not in {(height,), (target.shape[0], height)}:
            raise ValueError(
                f"row weights must have shape (H,) = ({height},) or (B, H), got "
                f"{tuple(row_weights.shape)}"
            )
        rows = row_weights.to(target.device, torch.float32)
        # (H,) for the whole grid; (B, H) for random crops, each sample its own rows
        weights = weights * (rows[:, None] if rows.ndim == 1 else rows[:, None, None, :, None])
    if valid is not None:
        valid = valid & torch.isfinite(target)
        weights = weights * valid
        # where() and not multiplication, so NaN targets cannot poison the gradient
        error = torch.where(valid, prediction - torch.nan_to_num(target), torch.zeros_like(target))
    else:
        error = prediction - target
    return error.square(), weights


def event_levels(
    thresholds: Sequence[float],
    precipitation: Sequence[bool],
    mean: np.ndarray,
    std: np.ndarray,
    transform: str = "none",
) -> torch.Tensor:
    """Intensity thresholds in the normalised (transformed) units the loss sees, per channel.

    Parameters
    ----------
    thresholds : sequence of float
        (K,) increasing, physical units (mm/h).
    precipitation : sequence of bool
        (C,) which channels the thresholds apply to.
    mean, std : np.ndarray
        (C,) normalisation of the transformed fields.
    transform : str
        The task's target transform (:mod:`gmgclim.data.transforms`).

    Returns
    -------
    torch.Tensor
        (C, K) float32; ``+inf`` for channels that are not precipitation (no cell exceeds it).
    """
    from gmgclim.data.transforms import forward

    physical = np.asarray(thresholds, dtype=np.float64)
    transformed = np.asarray(forward(transform, physical), dtype=np.float64)
    levels = np.full((len(precipitation), physical.size), np.inf)
    for c, is_rain in enumerate(precipitation):
        if is_rain:
            levels[c] = (transformed - float(mean[c])) / float(std[c])
    return torch.as_tensor(levels, dtype=torch.float32)


def intensity_weights(
    target: torch.Tensor, levels: torch.Tensor, weights: Sequence[float]
) -> torch.Tensor:
    """Per-cell weights of the balanced MSE: ``weights[k]`` at or above ``levels[:, k]``, else 1.

    Parameters
    ----------
    target : torch.Tensor
        (B, T, C, H, W) normalised targets (NaN cells weigh 1; the validity mask drops them).
    levels : torch.Tensor
        (C, K) increasing thresholds in the target's units (:func:`event_levels`).
    weights : sequence of float
        (K,) weight of each intensity class.

    Returns
    -------
    torch.Tensor
        (B, T, C, H, W) float32.
    """
    levels = levels.to(target.device, torch.float32)
    out = torch.ones_like(target, dtype=torch.float32)
    for k, weight in enumerate(weights):
        at_least = target >= levels[:, k].view(1, 1, -1, 1, 1)
        out = torch.where(at_least, torch.full_like(out, float(weight)), out)
    return out


def weighted_mse(
    prediction: torch.Tensor,
    target: torch.Tensor,
    row_weights: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
    cell_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error, weighted by row (latitude) and masked by validity.

    Parameters
    ----------
    prediction, target : torch.Tensor
        (B, T, C, H, W), normalised units. Target may hold NaN where ``valid`` is False.
    row_weights : torch.Tensor, optional
        (H,) or (B, H) per-row weights (crops carry their own rows).
        (H,) weights with mean 1 (:func:`latitude_weights`); None weighs rows equally.
    valid : torch.Tensor, optional
        (B, T, C, H, W) bool, True where the target counts. Non-finite targets never count when a
        mask is given.

    cell_weights : torch.Tensor, optional
        (B, T, C, H, W) extra weights of each cell's squared error (the balanced MSE's
        :func:`intensity_weights`); they scale the numerator only, so a batch without heavy
        rain has the plain MSE.

    Returns
    -------
    torch.Tensor
        Scalar ``sum(w * c * err^2) / sum(w)`` over counted cells (0 when none counts).
    """
    squared, weights = _weights_and_error(prediction, target, row_weights, valid)
    total = weights.sum()
    if cell_weights is not None:
        squared = squared * cell_weights
    return (weights * squared).sum() / total.clamp_min(1e-12)


def domain_mean_amplitude_error(
    prediction: torch.Tensor,
    target: torch.Tensor,
    row_weights: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Squared error of the temporal amplitude of the domain mean, per sample and channel.

    The domain means (weighted by row, over valid cells) of prediction and target form two
    (B, T, C) time series; their standard deviations over T are compared:
    ``mean_{B, C} (sqrt(var_pred + eps) - sqrt(var_true + eps))^2``.

    Parameters
    ----------
    prediction, target, row_weights, valid
        As in :func:`weighted_mse`; T >= 2 frames.
    eps : float
        Added to the variances (a finite gradient for a constant series), normalised units^2.

    Returns
    -------
    torch.Tensor
        Scalar, normalised units squared.
    """
    if prediction.shape[1] < 2:
        raise ValueError(f"an amplitude over time needs >= 2 frames, got {prediction.shape[1]}")
    _, weights = _weights_and_error(prediction, target, row_weights, valid)
    total = weights.sum(dim=(-2, -1)).clamp_min(1e-12)  # (B, T, C)
    truth = torch.where(weights > 0, torch.nan_to_num(target.float()), torch.zeros_like(weights))
    mean_pred = (weights * prediction.float()).sum(dim=(-2, -1)) / total
    mean_true = (weights * truth).sum(dim=(-2, -1)) / total
    amp_pred = (mean_pred.var(dim=1, unbiased=False) + eps).sqrt()
    amp_true = (mean_true.var(dim=1, unbiased=False) + eps).sqrt()
    return (amp_pred - amp_true).square().mean()


def squared_error_sums(
    prediction: torch.Tensor,
    target: torch.Tensor,
    row_weights: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted squared-error and weight sums per lead time and channel (for RMSE across ranks).

    ``sqrt(error_sum / weight_sum)`` after summing over batches and processes is the latitude-weighted
    RMSE with the mean over init times taken before the square root (WeatherBench 1 order).

    Parameters
    ----------
    prediction, target, row_weights, valid
        As in :func:`weighted_mse`.

    Returns
    -------
    error_sum, weight_sum : torch.Tensor
        float64, shape (T, C).
    """
    squared, weights = _weights_and_error(prediction, target, row_weights, valid)
    dims = (0, 3, 4)
    return (weights * squared).double().sum(dim=dims), weights.double().sum(dim=dims)
