"""ConvLSTM, PredRNN and MotionRNN: parameter parity with the public code, shapes, sharing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gmgclim.models import (
    ConvLSTM,
    ConvLSTMConfig,
    MotionRNN,
    MotionRNNConfig,
    get_config_class,
    get_model,
)
from gmgclim.models.layers.motion import MotionGuided


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# WeatherBench t2m 5.625 deg: 1 channel, 32 x 64, patch 2, 4 x 128 hidden, filter 5, stride 1.
# Counts from the public code (issue 6): OpenSTL for ConvLSTM / PredRNN, the GMG repository's
# MotionRNN port.
@pytest.mark.parametrize(
    ("name", "expected"),
    [("convlstm", 14_928_384), ("predrnn", 23_568_384), ("motionrnn", 26_639_681)],
)
def test_parameter_counts_match_public_code(name, expected):
    cfg = get_config_class(name)(1, 32, 64, 12, 12, patch_size=2, num_hidden=(128,) * 4)
    assert n_params(get_model(name, cfg)) == expected


def test_convlstm_can_drop_openstls_unused_convs():
    cfg = ConvLSTMConfig(1, 32, 64, 12, 12, num_hidden=(128,) * 4, openstl_unused_convs=False)
    # each cell loses conv_o (128 x 256 x 5 x 5) and conv_last (128 x 256)
    assert n_params(ConvLSTM(cfg)) == 14_928_384 - 4 * (128 * 256 * 25 + 128 * 256)


@pytest.mark.parametrize("name", ["convlstm", "predrnn", "motionrnn"])
def test_forward_shapes_masks_and_gradients(name):
    cfg = get_config_class(name)(2, 9, 13, 3, 2, num_hidden=(8, 8, 8), filter_size=3)
    model = get_model(name, cfg)
    x = torch.randn(2, 3, 2, 9, 13)
    y = torch.randn(2, 2, 2, 9, 13)
    with torch.no_grad():
        forecast = model.eval()(x)
        free = model(x, y)
    assert forecast.shape == (2, 2, 2, 9, 13)
    assert free.shape == (2, 4, 2, 9, 13)
    torch.testing.assert_close(free[:, -2:], forecast, rtol=1e-5, atol=1e-6)
    assert model(x, y, torch.rand(2, 3, 1, 9, 13)).shape == (2, 4, 2, 9, 13)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # Two steps: MotionGRU's zero-initialised output conv blocks the reset gate's first gradient.
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        pred = model.train()(x, y, torch.rand(2, 1, 2, 9, 13))
        F.mse_loss(pred, torch.cat([x, y], 1)[:, 1:]).backward()
        opt.step()
    unused = ("conv_o", "conv_last", "norm_o") if name == "convlstm" else ()
    for pname, p in model.named_parameters():
        if pname.split(".")[-2] in unused:
            assert p.grad is None, pname
        else:
            assert p.grad is not None and p.grad.any(), pname


def test_motionrnn_reuses_gmgs_motion_module_without_growth():
    model = MotionRNN(MotionRNNConfig(1, 8, 8, 2, 2, num_hidden=(4, 4)))
    motion = model.branches[0].motion
    assert type(motion) is MotionGuided
    assert motion.growth is None


@pytest.mark.parametrize("name", ["convlstm", "predrnn", "motionrnn"])
def test_periodic_shift_equivariance(name):
    cfg = get_config_class(name)(
        1, 8, 16, 2, 2, num_hidden=(4, 4), filter_size=3, periodic_longitude=True
    )
    model = get_model(name, cfg).eval()
    x = torch.randn(1, 2, 1, 8, 16)
    with torch.no_grad():
        out = model(x)
        shifted = model(torch.roll(x, 4, -1))
    torch.testing.assert_close(shifted, torch.roll(out, 4, -1), rtol=1e-4, atol=1e-5)
