"""Forecast write throughput: init times per second into a zarr store, and memory use.

A persistence stand-in model (the last input frame repeated, no compute) isolates the cost of the
forecast writer itself: reading input windows, de-normalising, region writes of one chunk per
init time, the resume marker. Cases:

- ``wb-t2m``: WeatherBench-like 32 x 64 grid, 1 channel, 20 lead times (the scoring benchmark's
  forecast shape), batch sizes 1, 8 and 32;
- ``wb-multi``: 32 x 64, 4 channels stacked into 3 variables with a ``level`` dim, 20 lead times;
- ``radar``: 765 x 700 (the KNMI grid), 1 channel, 6 lead times;
- ``radar-pm``: the same with ``probability_matching: cdf`` (every lead's rain rates matched to
  the last input frame's), the cost of the matching itself.

Each line gives init times/s written to zarr, the same model run without writing (``forecast``
in memory) for reference, and the peak traced Python/numpy memory of the zarr run. Run:

    python benchmarks/bench_forecast.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from gmgclim.inference import Forecaster, forecast, write_forecast_zarr
from gmgclim.testing import mock_gridded_dataset, mock_radar_dataset


class Persistence(torch.nn.Module):
    """(B, T_in, C, H, W) -> (B, T_out, C, H, W): the last input frame at every lead time."""

    def __init__(self, output_steps: int):
        super().__init__()
        self.output_steps = output_steps
        self.unused = torch.nn.Parameter(torch.zeros(()))

    def forward(self, inputs, targets=None, teacher_forcing_mask=None):
        return inputs[:, -1:].expand(-1, self.output_steps, -1, -1, -1)


def _forecaster(channels, output_steps, step):
    n = len(channels)
    return Forecaster(
        Persistence(output_steps), channels, 2, output_steps, step, np.zeros(n), np.ones(n)
    )


def _case(name, ds, channels, output_steps, step, n_inits, batch_sizes, workdir, matching="none"):
    inits = ds["time"].values[1 : 1 + n_inits]
    lines = []
    for batch_size in batch_sizes:
        f = _forecaster(channels, output_steps, step).for_data(probability_matching=matching)
        t0 = time.perf_counter()
        forecast(f, ds, init_times=inits, batch_size=batch_size)
        in_memory = n_inits / (time.perf_counter() - t0)
        store = workdir / f"{name}-{batch_size}.zarr"
        t0 = time.perf_counter()
        write_forecast_zarr(f, ds, store, init_times=inits, batch_size=batch_size, progress=False)
        to_zarr = n_inits / (time.perf_counter() - t0)
        shutil.rmtree(store)
        tracemalloc.start()
        write_forecast_zarr(f, ds, store, init_times=inits, batch_size=batch_size, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        shutil.rmtree(store)
        lines.append(
            f"{name:9s} batch {batch_size:3d}: {n_inits:4d} inits  zarr {to_zarr:8.1f} inits/s  "
            f"(in memory {in_memory:8.1f} inits/s)  peak traced {peak / 2**20:7.1f} MiB  "
            f"store {size / 2**20:7.1f} MiB"
        )
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer init times")
    parser.add_argument("--output", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    scale = 4 if args.quick else 1
    torch.set_num_threads(1)
    header = [
        f"bench_forecast: python {platform.python_version()}, torch {torch.__version__}, "
        f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)",
        "persistence stand-in model; init times/s = init times forecast and written per second",
    ]
    from bench_score import machine  # the same machine line as the other benchmarks

    header.insert(1, f"machine: {machine()}")
    for line in header:
        print(line)
    lines = list(header)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wb = mock_gridded_dataset(periods=420 // scale, n_lat=32, n_lon=64, freq="6h").load()
        lines += _case("wb-t2m", wb, ["t2m"], 20, "6h", 392 // scale, [1, 8, 32], work)
        lines += _case(
            "wb-multi", wb, ["t850", "t500", "z500", "t2m"], 20, "6h", 392 // scale, [8], work
        )
        radar = mock_radar_dataset(periods=64 // scale + 8, ny=765, nx=700).load()
        lines += _case("radar", radar, ["precip"], 6, "5min", 56 // scale, [4], work)
        lines += _case("radar-pm", radar, ["precip"], 6, "5min", 56 // scale, [4], work, "cdf")
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
