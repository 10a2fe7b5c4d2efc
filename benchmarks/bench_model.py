"""GMG speed against the public reference and the plain-conv peak, interleaved in one run.

Usage::

    python benchmarks/bench_model.py [--quick] [--reference PATH] [--threads 1] [--rounds 3]
                                     [--compile] [--output FILE]

Prints a table (and with ``--output`` a JSON file) of, per contender and precision (fp32, bf16
autocast), the best of ``--rounds`` interleaved rounds of an inference call and a training step,
in process CPU time and in wall time:

* ``gmgclim``: :class:`gmgclim.models.GMG` at the WeatherBench config (B = 2, 12 -> 12, 32 x 64,
  p = 2, 4 x 128 hidden, attention 64). fp32 and bf16 run *the same weights*, so the printed bf16
  difference is the precision's, not another model's;
* ``reference``: the public reference GMG (``--reference`` = a checkout of github duyhlzu/GMG;
  its code is imported from there, never copied here), same config and batch;
* ``conv5x5``: a plain 5x5 convolution (B, N, h, w) -> (B, 4N, h, w), whose FLOP/s is the peak the
  models are compared with (FLOPs of the models from torch's FlopCounterMode);
* peak RSS growth of a training step (psutil, sampled every 5 ms);
* the CPU model, its avx512 / amx flags, the torch version and the thread count.

Nothing is asserted: on a shared machine the figures are noisy (CPU time less so than wall time;
ratios taken within one run). On a CPU without native bf16 (no avx512_bf16 / amx_bf16) torch
emulates bf16 convolutions far slower than fp32, so unless ``--bf16-full`` is given both bf16
and its fp32 companion run on a reduced "probe" config (stated in the output).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from gmgclim.models import GMG, GMGConfig
from gmgclim.models.layers.patching import patchify
from gmgclim.training.precision import cpu_bf16_flags

_START = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.perf_counter() - _START:7.1f} s] {message}", file=sys.stderr, flush=True)


def native_bf16(device: str) -> bool:
    """Whether bf16 matmul/conv run natively (CUDA, or a CPU with avx512_bf16 / amx_bf16)."""
    return device == "cuda" or bool(cpu_bf16_flags())


def cpu_description() -> dict[str, Any]:
    """CPU model name and its avx512 / amx flags (from /proc/cpuinfo where there is one)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = sorted(f for f in flags if f.startswith(("avx512", "amx")))
    return {
        "model": name,
        "avx512_amx_flags": simd,
        "capability": torch.backends.cpu.get_cpu_capability(),
    }


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed_once(fn: Callable[[], Any], device: str) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of one call."""
    sync(device)
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    sync(device)
    return time.process_time() - cpu, time.perf_counter() - wall


def count_flops(fn: Callable[[], Any]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


class PeakRSS:
    """Sample the process RSS in a thread; ``peak_delta`` is the max increase over the start."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.proc = psutil.Process()

    def __enter__(self) -> PeakRSS:
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def peak_delta(self) -> int:
        return self.peak - self.start


def make_batch(cfg: GMGConfig, batch: int, device: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    shape = (cfg.in_channels, cfg.height, cfg.width)
    return {
        "inputs": torch.randn(batch, cfg.input_steps, *shape, generator=g).to(device),
        "targets": torch.randn(batch, cfg.output_steps, *shape, generator=g).to(device),
        "mask": (torch.rand(batch, cfg.output_steps - 1, 1, *shape[1:], generator=g) < 0.5)
        .float()
        .to(device),
    }


def autocast(device: str, bf16: bool) -> torch.autocast:
    return torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16)


Runner = tuple[Callable[[], Any], Callable[[], Any]]  # (inference call, training step)


def gmgclim_runners(model: GMG, data: dict[str, torch.Tensor], device: str, bf16: bool) -> Runner:
    """Inference and training step (AdamW) of a gmgclim model under fp32 or bf16 autocast."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    truth = torch.cat([data["inputs"], data["targets"]], dim=1)[:, 1:]

    def infer() -> torch.Tensor:
        with torch.no_grad(), autocast(device, bf16):
            return model(data["inputs"])

    def train() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            pred = model(data["inputs"], data["targets"], data["mask"])
        loss = F.mse_loss(pred.float(), truth)
        loss.backward()
        opt.step()
        return loss.item()

    return infer, train


def import_reference(path: str) -> Any:
    """``GMG_Model`` from a checkout of the reference, skipping its packages' ``__init__`` files
    (they import models the published checkout does not contain)."""
    import importlib
    import types

    root = Path(path).resolve()
    for name in ("openstl", "openstl.models", "openstl.modules"):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(root.joinpath(*name.split(".")))]
            sys.modules[name] = package
    return importlib.import_module("openstl.models.GMG_model").GMG_Model


def reference_runners(
    path: str, cfg: GMGConfig, data: dict[str, torch.Tensor], device: str, bf16: bool
) -> Runner:
    """The same calls on the public reference GMG imported from a checkout at ``path``.

    The reference takes patched frames (B, T, h, w, p*p*C) and a mask per forecast step.
    """
    GMG_Model = import_reference(path)

    configs = SimpleNamespace(
        in_shape=(cfg.input_steps, cfg.in_channels, cfg.height, cfg.width),
        patch_size=cfg.patch_size,
        filter_size=cfg.filter_size,
        stride=1,
        layer_norm=cfg.layer_norm,
        device=device,
        pre_seq_length=cfg.input_steps,
        aft_seq_length=cfg.output_steps,
    )
    torch.manual_seed(0)
    model = GMG_Model(cfg.num_layers, list(cfg.num_hidden), cfg.att_hidden, configs).to(device)
    frames = torch.cat([data["inputs"], data["targets"]], dim=1)
    patched = patchify(frames, cfg.patch_size).permute(0, 1, 3, 4, 2).contiguous()
    mask = data["mask"].expand(-1, -1, cfg.in_channels, -1, -1)
    patched_mask = patchify(mask, cfg.patch_size).permute(0, 1, 3, 4, 2).contiguous()
    zeros = torch.zeros_like(patched_mask)  # inference: the model feeds on its own predictions
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def infer() -> Any:
        with torch.no_grad(), autocast(device, bf16):
            return model(patched, zeros, return_loss=False)[0]

    def train() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            pred = model(patched, patched_mask, return_loss=False)[0]
        loss = F.mse_loss(pred.float(), patched[:, 1:])
        loss.backward()
        opt.step()
        return loss.item()

    return infer, train


def conv_runners(cfg: GMGConfig, batch: int, device: str, bf16: bool) -> tuple[Runner, int]:
    """A plain 5x5 conv2d (B, N, h, w) -> (B, 4N, h, w), forward and forward + backward; its FLOPs."""
    n, (h, w), k = cfg.num_hidden[0], cfg.patch_grid, cfg.filter_size
    x = torch.randn(batch, n, h, w, device=device, requires_grad=True)
    weight = (torch.randn(4 * n, n, k, k, device=device) * 0.01).requires_grad_()
    repeats = 20  # one call is too short to time alone

    def fwd() -> None:
        with torch.no_grad(), autocast(device, bf16):
            for _ in range(repeats):
                F.conv2d(x, weight, padding=k // 2)

    def fwd_bwd() -> None:
        for _ in range(repeats):
            with autocast(device, bf16):
                y = F.conv2d(x, weight, padding=k // 2)
            y.float().sum().backward()

    return (fwd, fwd_bwd), repeats * 2 * batch * 4 * n * n * k * k * h * w


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--reference", default=None, help="checkout of github duyhlzu/GMG")
    parser.add_argument("--compile", action="store_true", help="also time compiled layers")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best is kept")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--bf16-full", action="store_true", help="bf16 at full size even without native bf16"
    )
    parser.add_argument("--output", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = args.device

    if args.quick:
        cfg = GMGConfig(1, 16, 32, 4, 4, patch_size=2, num_hidden=(32, 32), att_hidden=16)
        batch = 1
    else:
        cfg = GMGConfig(1, 32, 64, 12, 12, patch_size=2, num_hidden=(128,) * 4, att_hidden=64)
        batch = 2
    full_bf16 = args.bf16_full or native_bf16(device)
    probe = GMGConfig(
        cfg.in_channels,
        cfg.height,
        cfg.width,
        min(cfg.input_steps, 4),
        min(cfg.output_steps, 4),
        patch_size=cfg.patch_size,
        num_hidden=(32,) * cfg.num_layers,
        att_hidden=16,
    )
    result: dict[str, Any] = {
        "device": device,
        "cpu": cpu_description(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "native_bf16": native_bf16(device),
        "config": cfg.to_dict(),
        "batch": batch,
        "parameters": sum(p.numel() for p in GMG(cfg).parameters()),
        "note": "best of interleaved rounds; CPU time is the process's, ratios are within one run",
    }
    # (contender, precision) -> (runner, config it runs, batch)
    setups: dict[tuple[str, str], tuple[Runner, GMGConfig, int]] = {}
    flops: dict[tuple[str, str, str], int] = {}
    forecasts: dict[tuple[str, str], torch.Tensor] = {}
    for precision in ("fp32", "bf16"):
        bf16 = precision == "bf16"
        run_cfg, run_batch = (cfg, batch) if full_bf16 else (probe, 1)
        if not bf16:
            run_cfg, run_batch = cfg, batch
        torch.manual_seed(0)
        model = GMG(run_cfg).to(device)
        data = make_batch(run_cfg, run_batch, device)
        setups[("gmgclim", precision)] = (
            gmgclim_runners(model, data, device, bf16),
            run_cfg,
            run_batch,
        )
        if bf16 and not full_bf16:  # the fp32 companion of the probe: the same weights
            setups[("gmgclim-probe", "fp32")] = (
                gmgclim_runners(model, data, device, False),
                run_cfg,
                run_batch,
            )
        conv, conv_flops = conv_runners(run_cfg, run_batch, device, bf16)
        setups[("conv5x5", precision)] = (conv, run_cfg, run_batch)
        flops[("conv5x5", precision, "infer")] = conv_flops
        flops[("conv5x5", precision, "train")] = 3 * conv_flops
        if args.reference:
            try:
                ref = reference_runners(args.reference, run_cfg, data, device, bf16)
                setups[("reference", precision)] = (ref, run_cfg, run_batch)
            except Exception as exc:  # report, and carry on without it
                result[f"reference_{precision}_error"] = f"{type(exc).__name__}: {exc}"
    if ("gmgclim-probe", "fp32") in setups:
        result["bf16_probe"] = {
            "reason": "no native bf16 on this CPU: bf16 and its fp32 companion use a reduced config",
            "config": probe.to_dict(),
        }

    log("bf16 vs fp32 forecasts (same weights, before any training step), warm-up, FLOP counts")
    for key, ((infer, _), _, _) in setups.items():
        if key[0] in ("gmgclim", "gmgclim-probe"):
            forecasts[key] = infer().float()
    for key, ((infer, train), _, _) in list(setups.items()):
        try:
            if key[0] != "conv5x5":
                flops[(*key, "infer")] = count_flops(infer)
                flops[(*key, "train")] = count_flops(train)
            else:
                infer(), train()
        except Exception as exc:
            result[f"{key[0]}_{key[1]}_error"] = f"{type(exc).__name__}: {exc}"
            del setups[key]
    for name in ("gmgclim", "gmgclim-probe"):
        companion = ("gmgclim-probe" if ("gmgclim-probe", "fp32") in setups else "gmgclim", "fp32")
        if name == "gmgclim" and ("gmgclim", "bf16") in forecasts and companion in forecasts:
            result["bf16_forecast_relative_rms_difference"] = rel_rms(
                forecasts[("gmgclim", "bf16")], forecasts[companion]
            )

    log("peak RSS of a training step")
    for key in [k for k in setups if k[1] == "fp32" and k[0] in ("gmgclim", "reference")]:
        if device == "cpu":
            with PeakRSS() as rss:
                setups[key][0][1]()
            result[f"{key[0]}_train_step_peak_rss_growth_mib"] = rss.peak_delta / 2**20

    best: dict[tuple[str, str, str], list[float]] = {}
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        for key, ((infer, train), _, _) in setups.items():
            for phase, fn in (("infer", infer), ("train", train)):
                cpu, wall = timed_once(fn, device)
                old = best.get((*key, phase), [float("inf"), float("inf")])
                best[(*key, phase)] = [min(old[0], cpu), min(old[1], wall)]

    rows = []
    for (name, precision, phase), (cpu, wall) in best.items():
        row = {"model": name, "precision": precision, "phase": phase, "cpu_s": cpu, "wall_s": wall}
        f = flops.get((name, precision, phase))
        if f:
            row["gflops_per_cpu_s"] = f / cpu / 1e9
            peak = best.get(("conv5x5", precision, phase))
            peak_flops = flops.get(("conv5x5", precision, phase))
            if peak and peak_flops and name != "conv5x5":
                row["fraction_of_conv_peak"] = row["gflops_per_cpu_s"] / (
                    peak_flops / peak[0] / 1e9
                )
        ref = best.get(("reference", precision, phase))
        if ref and name == "gmgclim":
            row["speedup_vs_reference_cpu"] = ref[0] / cpu
        own32 = best.get(
            (
                "gmgclim-probe" if ("gmgclim-probe", "fp32", phase) in best else "gmgclim",
                "fp32",
                phase,
            )
        )
        if own32 and name == "gmgclim" and precision == "bf16":
            row["time_ratio_to_own_fp32_cpu"] = cpu / own32[0]
        rows.append(row)
    result["rows"] = rows

    if args.compile:
        log("torch.compile of the layers (GMG.compile_cells)")
        torch.manual_seed(0)
        model = GMG(cfg).to(device)
        data = make_batch(cfg, batch, device)
        infer, _ = gmgclim_runners(model, data, device, False)
        model.compile_cells()
        first = timed_once(infer, device)[1]
        compiled = min(timed_once(infer, device)[1] for _ in range(args.rounds))
        eager = best[("gmgclim", "fp32", "infer")][1]
        result["compile"] = {
            "first_call_wall_s": first,
            "inference_wall_s": compiled,
            "eager_inference_wall_s": eager,
            "break_even_calls": (first - compiled) / (eager - compiled)
            if eager > compiled
            else None,
        }

    print_table(result)
    if args.output:
        with open(args.output, "w") as f:
            f.write(json.dumps(result, indent=2) + "\n")
    return result


def rel_rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean((a - b) ** 2)) / torch.sqrt(torch.mean(b**2)))


def print_table(result: dict[str, Any]) -> None:
    """The figures as a plain-text table on stdout."""
    cpu = result["cpu"]
    print(
        f"CPU {cpu['model']} ({cpu['capability']}; {' '.join(cpu['avx512_amx_flags']) or 'no avx512/amx'})"
    )
    print(
        f"torch {result['torch']}, {result['threads']} thread(s), device {result['device']}, "
        f"native bf16: {result['native_bf16']}, parameters {result['parameters']:,}"
    )
    if "bf16_probe" in result:
        print(f"note: {result['bf16_probe']['reason']}")
    cols = [
        "model",
        "precision",
        "phase",
        "cpu_s",
        "wall_s",
        "gflops_per_cpu_s",
        "fraction_of_conv_peak",
        "speedup_vs_reference_cpu",
        "time_ratio_to_own_fp32_cpu",
    ]
    print("  ".join(f"{c:>14}" for c in cols))
    for row in result["rows"]:
        cells = [row.get(c, "") for c in cols]
        print("  ".join(f"{c:>14.4g}" if isinstance(c, float) else f"{c!s:>14}" for c in cells))
    for key, value in result.items():
        if key.endswith(("_mib", "_difference", "_error")) or key == "compile":
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
