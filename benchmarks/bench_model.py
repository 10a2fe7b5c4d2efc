"""Speed, FLOP and memory figures of GMG at the WeatherBench config, printed as JSON.

Usage::

    python benchmarks/bench_model.py [--quick] [--compile] [--threads 2] [--output FILE]

Figures (nothing is asserted; on a shared machine they are noisy):

* FLOPs of a forward pass and a training step (torch FlopCounterMode);
* fp32 inference and training-step times, their GFLOP/s and the ratio to a plain 5x5 conv2d of the
  model's main shape (B, N, h, w) -> 4N measured in the same run (forward for inference,
  forward + backward for training), fp32 and bf16 autocast;
* bf16 autocast inference/training times, their ratio to fp32 and the relative RMS difference
  of bf16 vs fp32 forecasts. On a CPU without native bf16 (no avx512_bf16 / amx_bf16) torch
  emulates bf16 hundreds of times slower than fp32, so unless ``--bf16-full`` is given the bf16
  figures are measured on a reduced "probe" config (stated in the output) with its own fp32 run;
* peak resident-memory increase during a training step (psutil RSS sampled every 5 ms);
* channels_last inference time, and with ``--compile`` the torch.compile time and speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from gmgclim.models import GMG, GMGConfig

_START = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr (the JSON result goes to stdout)."""
    print(f"[{time.perf_counter() - _START:7.1f} s] {message}", file=sys.stderr, flush=True)


def native_bf16(device: str) -> bool:
    """Whether bf16 matmul/conv run natively (CUDA, or a CPU with avx512_bf16 / amx_bf16)."""
    if device == "cuda":
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], repeats: int, device: str) -> float:
    """Median wall time of ``fn`` in seconds over ``repeats`` calls (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def runners(
    model: GMG, data: dict[str, torch.Tensor], device: str, bf16: bool
) -> tuple[Callable[[], torch.Tensor], Callable[[], float]]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def infer() -> torch.Tensor:
        with torch.no_grad(), autocast(device, bf16):
            return model(data["inputs"])

    def train() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            pred = model(data["inputs"], data["targets"], data["mask"])
            truth = torch.cat([data["inputs"], data["targets"]], dim=1)[:, 1:]
            loss = F.mse_loss(pred.float(), truth)
        loss.backward()
        opt.step()
        return loss.item()

    return infer, train


def conv_peak(
    cfg: GMGConfig, batch: int, device: str, bf16: bool, repeats: int
) -> dict[str, float]:
    """GFLOP/s of a plain 5x5 conv2d (B, N, h, w) -> (B, 4N, h, w), forward and forward+backward."""
    n = cfg.num_hidden[0]
    h, w = cfg.patch_grid
    k = cfg.filter_size
    x = torch.randn(batch, n, h, w, device=device, requires_grad=True)
    weight = (torch.randn(4 * n, n, k, k, device=device) * 0.01).requires_grad_()
    flops = 2 * batch * 4 * n * n * k * k * h * w
    # Emulated bf16 (no native support) is ~100x slower: fewer repeats keep the run short.
    reps = 3 if bf16 and not native_bf16(device) else max(repeats * 5, 10)

    def fwd() -> None:
        with torch.no_grad(), autocast(device, bf16):
            F.conv2d(x, weight, padding=k // 2)

    def fwd_bwd() -> None:
        with autocast(device, bf16):
            y = F.conv2d(x, weight, padding=k // 2)
        y.float().sum().backward()

    fwd()
    fwd_bwd()
    t_fwd = timed(fwd, reps, device)
    t_train = timed(fwd_bwd, reps, device)
    return {
        "forward_gflops_per_s": flops / t_fwd / 1e9,
        "forward_backward_gflops_per_s": 3 * flops / t_train / 1e9,
    }


def measure(
    cfg: GMGConfig, batch: int, device: str, bf16: bool, repeats: int, memory: bool = False
) -> dict[str, Any]:
    log(f"measure bf16={bf16} num_hidden={cfg.num_hidden} batch={batch}")
    torch.manual_seed(0)
    model = GMG(cfg).to(device)
    data = make_batch(cfg, batch, device)
    infer, train = runners(model, data, device, bf16)
    out: dict[str, Any] = {}
    out["forward_flops"] = count_flops(infer)  # doubles as the warm-up
    out["inference_s"] = timed(infer, repeats, device)
    out["train_step_flops"] = count_flops(train)
    if memory and device == "cpu":
        with PeakRSS() as rss:
            train()
        out["train_step_peak_rss_increase_mib"] = rss.peak_delta / 2**20
    elif memory:
        torch.cuda.reset_peak_memory_stats()
        train()
        out["train_step_peak_cuda_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
    out["train_step_s"] = timed(train, repeats, device)
    out["inference_gflops_per_s"] = out["forward_flops"] / out["inference_s"] / 1e9
    out["train_gflops_per_s"] = out["train_step_flops"] / out["train_step_s"] / 1e9
    out["samples_per_s_train"] = batch / out["train_step_s"]
    with torch.no_grad():
        out["_forecast"] = infer().float()
    return out


def rel_rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean((a - b) ** 2)) / torch.sqrt(torch.mean(b**2)))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (2)")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per figure")
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
        batch, repeats = 1, args.repeats or 1
    else:
        cfg = GMGConfig(1, 32, 64, 12, 12, patch_size=2, num_hidden=(128,) * 4, att_hidden=64)
        batch, repeats = 2, args.repeats or 2
    probe = GMGConfig(
        cfg.in_channels,
        cfg.height,
        cfg.width,
        min(cfg.input_steps, 4),
        min(cfg.output_steps, 4),
        patch_size=cfg.patch_size,
        num_hidden=(32,) * len(cfg.num_hidden),
        att_hidden=16,
    )
    result: dict[str, Any] = {
        "device": device,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "native_bf16": native_bf16(device),
        "config": cfg.to_dict(),
        "batch": batch,
        "parameters": sum(p.numel() for p in GMG(cfg).parameters()),
        "note": "wall-clock figures on a shared machine are noisy; ratios are within one run",
    }
    log("plain-conv peaks")
    peak32 = conv_peak(cfg, batch, device, False, repeats)
    peak16 = conv_peak(cfg, batch, device, True, repeats)
    result["conv5x5_peak_fp32"] = peak32
    result["conv5x5_peak_bf16"] = peak16

    fp32 = measure(cfg, batch, device, False, repeats, memory=True)
    forecast32 = fp32.pop("_forecast")
    result["fp32"] = fp32
    result["fp32_inference_fraction_of_conv_peak"] = (
        fp32["inference_gflops_per_s"] / peak32["forward_gflops_per_s"]
    )
    result["fp32_train_fraction_of_conv_peak"] = (
        fp32["train_gflops_per_s"] / peak32["forward_backward_gflops_per_s"]
    )

    full_bf16 = args.bf16_full or native_bf16(device)
    bf16_cfg = cfg if full_bf16 else probe
    bf16_batch = batch if full_bf16 else 1
    bf16 = measure(bf16_cfg, bf16_batch, device, True, repeats)
    forecast16 = bf16.pop("_forecast")
    if full_bf16:
        ref32, ref_forecast = fp32, forecast32
    else:
        ref32 = measure(bf16_cfg, bf16_batch, device, False, repeats)
        ref_forecast = ref32.pop("_forecast")
        result["bf16_probe"] = {
            "reason": "no native bf16 on this CPU: bf16 measured on a reduced config",
            "config": bf16_cfg.to_dict(),
            "batch": bf16_batch,
            "fp32": ref32,
        }
    result["bf16"] = bf16
    result["bf16_inference_time_ratio_to_fp32"] = bf16["inference_s"] / ref32["inference_s"]
    result["bf16_train_time_ratio_to_fp32"] = bf16["train_step_s"] / ref32["train_step_s"]
    result["bf16_forecast_relative_rms_difference"] = rel_rms(forecast16, ref_forecast)
    result["bf16_inference_fraction_of_bf16_conv_peak"] = (
        bf16["inference_gflops_per_s"] / peak16["forward_gflops_per_s"]
    )

    log("channels_last")
    # channels_last: same model and data, weights and activations in NHWC.
    torch.manual_seed(0)
    model = GMG(cfg).to(device).to(memory_format=torch.channels_last)
    data = make_batch(cfg, batch, device)
    infer, _ = runners(model, data, device, False)
    infer()
    result["channels_last_fp32_inference_s"] = timed(infer, repeats, device)

    if args.compile:
        log("torch.compile")
        torch.manual_seed(0)
        model = GMG(cfg).to(device)
        compiled = torch.compile(model)
        start = time.perf_counter()
        with torch.no_grad():
            compiled(data["inputs"])
        first = time.perf_counter() - start

        def infer_compiled() -> None:
            with torch.no_grad():
                compiled(data["inputs"])

        t = timed(infer_compiled, repeats, device)
        result["compile"] = {
            "first_call_s": first,
            "inference_s": t,
            "compile_overhead_s": first - t,
            "pays_off_after_calls": (first - t) / max(fp32["inference_s"] - t, 1e-9)
            if fp32["inference_s"] > t
            else None,
        }

    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    return result


if __name__ == "__main__":
    main()
