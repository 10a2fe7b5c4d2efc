"""Speed options of GMG that must not change the function: explicit attention, weights cast once
under autocast, activation checkpointing, torch.compile, and ``precision: auto``."""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from gmgclim.inference.loading import _trained_precision
from gmgclim.models.gmg import GMG, GMGConfig
from gmgclim.models.layers.attention_memory import attend
from gmgclim.training import precision as precision_mod


def small_config(**overrides) -> GMGConfig:
    values = dict(
        in_channels=1,
        height=16,
        width=32,
        input_steps=3,
        output_steps=3,
        num_hidden=(16, 16, 16),
        att_hidden=8,
        periodic_longitude=True,
    )
    values.update(overrides)
    return GMGConfig(**values)


def relative_rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sqrt(((a - b) ** 2).mean() / (b**2).mean()))


def test_attend_equals_sdpa_with_unit_scale():
    q, k, v = torch.randn(2, 4, 30), torch.randn(2, 4, 30), torch.randn(2, 7, 30)
    # SDPA on (B, P, C) with scale 1.0 is the reference formula (no 1/sqrt(A): GMG_SPEC.md).
    want = F.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=1.0
    ).transpose(1, 2)
    torch.testing.assert_close(attend(q, k, v), want, rtol=1e-5, atol=1e-6)


def test_bf16_forecast_within_one_percent_of_fp32():
    model = GMG(small_config()).eval()
    x = torch.randn(2, 3, 1, 16, 32)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.dtype == torch.float32
    assert relative_rms(low, ref) < 0.01
    # the weights themselves were not touched
    assert all(p.dtype == torch.float32 for p in model.parameters())


class CastCounter(TorchDispatchMode):
    """Counts dtype casts (``aten._to_copy``) as the model issues them."""

    def __init__(self) -> None:
        super().__init__()
        self.casts = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.casts += func is torch.ops.aten._to_copy.default
        return func(*args, **(kwargs or {}))


def count_casts(model: GMG, x: torch.Tensor) -> int:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), CastCounter() as counter:
        model(x)
    return counter.casts


def test_autocast_casts_weights_once_not_per_step():
    short = GMG(small_config(input_steps=2, output_steps=2))
    long = GMG(small_config(input_steps=2, output_steps=8))
    short.load_state_dict(long.state_dict())
    x = torch.randn(1, 2, 1, 16, 32)
    per_step = (count_casts(long, x) - count_casts(short, x)) / 6
    # per step: the fed frame and the prediction, and in each motion branch the small float32
    # offsets/means and the grid_sample warp (9 casts of tensors of C' or 2k^2 channels at half
    # resolution); before, autocast re-cast every convolution's weight or input (~90 per step here)
    assert per_step <= 2 + 9 * len(long.branches), per_step
    n_params = sum(1 for _ in long.parameters())
    assert count_casts(short, x) <= n_params + 3 * (2 + 9 * len(long.branches))


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = GMG(small_config())
    x, y = torch.randn(2, 3, 1, 16, 32), torch.randn(2, 3, 1, 16, 32)
    mask = torch.rand(2, 2, 1, 16, 32)

    def grads() -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        model(x, y, mask).square().mean().backward()
        return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}

    plain = grads()
    model.activation_checkpointing = True
    recomputed = grads()
    assert plain.keys() == recomputed.keys()
    for key in plain:
        torch.testing.assert_close(recomputed[key], plain[key], rtol=1e-5, atol=1e-7, msg=key)


def test_precision_auto_picks_fp32_without_native_bf16(monkeypatch):
    monkeypatch.setattr(precision_mod, "cpu_bf16_flags", lambda: ())
    got, why = precision_mod.resolve_precision("auto", torch.device("cpu"))
    assert got == "fp32"
    assert why == "precision auto -> fp32: this CPU has no avx512_bf16/amx_bf16"
    monkeypatch.setattr(precision_mod, "cpu_bf16_flags", lambda: ("amx_bf16",))
    assert precision_mod.resolve_precision("auto", torch.device("cpu"))[0] == "bf16"
    assert precision_mod.resolve_precision("fp32", torch.device("cpu"))[0] == "fp32"


def test_forecast_precision_follows_the_checkpoint():
    recorded = types.SimpleNamespace(train_state={"precision": "bf16"}, recipe={})
    assert _trained_precision(recorded) == "bf16"
    named = types.SimpleNamespace(train_state={}, recipe={"training": {"precision": "bf16"}})
    assert _trained_precision(named) == "bf16"
    old = types.SimpleNamespace(train_state={}, recipe={"training": {"precision": "auto"}})
    assert _trained_precision(old) == "fp32"


@pytest.mark.slow
def test_compiled_layers_give_the_same_forecast():
    model = GMG(small_config(num_hidden=(8, 8), att_hidden=4)).eval()
    x = torch.randn(1, 3, 1, 16, 32)
    with torch.no_grad():
        ref = model(x)
        model.compile_cells()
        got = model(x)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)
