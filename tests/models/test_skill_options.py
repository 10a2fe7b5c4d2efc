"""Model options of the skill work: context (forcing/static) channels, residual targets, any grid."""

from __future__ import annotations

import pytest
import torch

from gmgclim.models import GMG, GMGConfig, get_model


def _config(**overrides) -> GMGConfig:
    values = dict(
        in_channels=1,
        height=16,
        width=16,
        input_steps=2,
        output_steps=3,
        patch_size=2,
        num_hidden=(8, 8),
        att_hidden=4,
        filter_size=3,
    )
    values.update(overrides)
    return GMGConfig(**values)


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_context_channels_add_only_input_weights():
    plain, with_context = GMG(_config()), GMG(_config(context_channels=3))
    # Only the first cell's input convolutions (7N + N + multiscale + focus) and the highway seed
    # read the extra p*p*K channels; the head still writes p*p*C channels.
    assert _n_params(with_context) > _n_params(plain)
    assert with_context.head.out_channels == plain.head.out_channels == 4


def test_context_is_required_read_and_validated():
    torch.manual_seed(0)
    model = GMG(_config(context_channels=2)).eval()
    x = torch.randn(2, 2, 1, 16, 16)
    ctx = torch.randn(2, 5, 2, 16, 16)
    with pytest.raises(ValueError, match="context"):
        model(x)
    with pytest.raises(ValueError, match="context must have shape"):
        model(x, context=torch.randn(2, 4, 2, 16, 16))  # T_in + T_out = 5 frames expected
    with torch.no_grad():
        a = model(x, context=ctx)
        b = model(x, context=ctx + 1.0)
        # the context of the first frame is never read (frame t is fed with the context of t + 1)
        shifted = ctx.clone()
        shifted[:, 0] += 5.0
        c = model(x, context=shifted)
    assert a.shape == (2, 3, 1, 16, 16)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(a, c)
    with pytest.raises(ValueError, match="without context"):
        GMG(_config()).eval()(x, context=ctx)


def test_residual_starts_from_persistence():
    """With a zero readout, a residual model forecasts the last input frame at every lead."""
    model = GMG(_config(residual=True)).eval()
    torch.nn.init.zeros_(model.head.weight)
    x = torch.randn(1, 2, 1, 16, 16)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out, x[:, -1:].expand(-1, 3, -1, -1, -1))
    # the one-step predictions with targets are persistence of each fed frame
    y = torch.randn(1, 3, 1, 16, 16)
    with torch.no_grad():
        steps = model(x, y, torch.ones(1, 2, 1, 16, 16))
    frames = torch.cat([x, y], dim=1)
    torch.testing.assert_close(steps, frames[:, :-1])


@pytest.mark.parametrize("name", ["gmg", "convlstm", "predrnn", "motionrnn"])
def test_crop_trained_model_forecasts_a_larger_grid(name):
    """Built (and trained) for 16 x 16 crops, a model forecasts a 36 x 52 domain.

    Convolutions are translation-equivariant, so away from the edges (more than the receptive
    field) a field shifted in space gives a forecast shifted the same way: the larger grid is
    forecast by the same operator, not a resized one.
    """
    torch.manual_seed(1)
    base = dict(in_channels=1, height=16, width=16, input_steps=2, output_steps=2)
    base.update(num_hidden=(4, 4), patch_size=2, filter_size=3)
    if name == "gmg":
        base["att_hidden"] = 4
    model = get_model(name, base).eval()
    x = torch.randn(1, 2, 1, 36, 52)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (1, 2, 1, 36, 52)
    assert torch.isfinite(out).all()


def test_layer_norm_model_refuses_another_grid():
    model = GMG(_config(layer_norm=True)).eval()
    with pytest.raises(ValueError, match=r"layer_norm.*16 x 16.*32 x 32"):
        model(torch.randn(1, 2, 1, 32, 32))


def test_periodic_model_refuses_a_width_it_cannot_wrap():
    model = GMG(_config(periodic_longitude=True)).eval()
    with pytest.raises(ValueError, match="periodic"):
        model(torch.randn(1, 2, 1, 16, 18))


def test_residual_from_a_baseline_forecast():
    """With a zero readout and a baseline, the forecast is the baseline (the correction is 0)."""
    model = GMG(_config(residual=True)).eval()
    torch.nn.init.zeros_(model.head.weight)
    x = torch.randn(1, 2, 1, 16, 16)
    baseline = torch.randn(1, 3, 1, 16, 16)
    with torch.no_grad():
        out = model(x, baseline=baseline)
    torch.testing.assert_close(out, baseline)
    with pytest.raises(ValueError, match="baseline needs residual"):
        GMG(_config()).eval()(x, baseline=baseline)
    with pytest.raises(ValueError, match="baseline must have shape"):
        model(x, baseline=torch.randn(1, 2, 1, 16, 16))


def test_lagged_residual_starts_from_the_frame_a_lag_before():
    """With a zero readout and residual_lag L, forecast frame f repeats frame f - L (inputs first)."""
    model = GMG(_config(residual=True, residual_lag=2, output_steps=5)).eval()
    torch.nn.init.zeros_(model.head.weight)
    x = torch.randn(1, 2, 1, 16, 16)
    with torch.no_grad():
        out = model(x)
    # frames 2, 3, 4, 5, 6 repeat frames 0, 1, 2 (= 0), 3 (= 1), 4 (= 0): yesterday's cycle, again
    expected = torch.stack([x[:, 0], x[:, 1], x[:, 0], x[:, 1], x[:, 0]], dim=1)
    torch.testing.assert_close(out, expected)
    # one-step predictions with targets: frame t + 1 from frame t + 1 - L, or the fed frame t = 0
    y = torch.randn(1, 5, 1, 16, 16)
    with torch.no_grad():
        steps = model(x, y, torch.ones(1, 4, 1, 16, 16))
    frames = torch.cat([x, y], dim=1)
    torch.testing.assert_close(steps[:, 0], frames[:, 0])
    torch.testing.assert_close(steps[:, 1:], frames[:, :-2])


def test_residual_lag_must_fit_in_the_inputs():
    with pytest.raises(ValueError, match="residual_lag"):
        _config(residual=True, residual_lag=3)


def test_baseline_is_kept_under_low_precision_autocast():
    """GMG's bf16 path (weights cast once) still forecasts from the given baseline."""
    model = GMG(_config(residual=True)).eval()
    torch.nn.init.zeros_(model.head.weight)
    x = torch.randn(1, 2, 1, 16, 16)
    baseline = torch.randn(1, 3, 1, 16, 16)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x, baseline=baseline)
    torch.testing.assert_close(out.float(), baseline, atol=2e-2, rtol=2e-2)
