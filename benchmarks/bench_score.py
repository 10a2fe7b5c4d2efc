"""Scoring speed and memory: the README's radar scoring, and a year of 6-hourly gridded forecasts.

Radar (issue 12): the README's commands, ``gmgclim forecast knmi-radar --model extrapolation
--lead-steps 12 -o nowcast.zarr`` then ``gmgclim score nowcast.zarr --truth knmi-radar --baselines
persistence --thresholds 0.5,1,5``, scored in a subprocess on the first N and the first 2N init
times (``--init-times``): wall time and the subprocess's peak resident memory (psutil, every
20 ms). Flat memory means the 2N peak is about the N peak. ``--radar-store`` reuses a nowcast store
(writing one takes minutes).

Gridded: a dask-backed zarr forecast (1,460 init times x 20 lead times on a 32 x 64 grid, one init
per chunk) and truth in a temporary folder, :func:`gmgclim.metrics.score_forecast` (rmse wb2,
rmse wb1, mae, bias, acc) against xskillscore (rmse, mae, me with the same weights) on the same
aligned data.

Prints JSON with the machine (CPU model, avx512/amx flags, torch version, threads); figures, never
asserts. Timings taken while other jobs run are noisy: the JSON records the load average.

Run: python benchmarks/bench_score.py [--inits 1460] [--leads 20] [--radar-store nowcast.zarr]
     [--radar-inits N] [--skip-radar] [--skip-gridded]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import psutil
import xarray as xr

from gmgclim.metrics import (
    align_forecast_truth,
    cell_area_weights,
    compute_climatology,
    score_forecast,
)


class PeakRSS:
    """Sample this process's resident memory in a thread; ``peak_mib`` after the block."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self):
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak / 2**20

    @property
    def increase_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def measured_runs(repeat: int, work: Callable[[], Any]) -> tuple[list[dict], Any]:
    """Run ``work()`` ``repeat`` times; the wall time and memory of each run, and the last result."""
    runs, result = [], None
    for _ in range(repeat):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            result = work()
            elapsed = time.perf_counter() - t0
        runs.append(
            {
                "s": round(elapsed, 2),
                "peak_rss_mib": round(mem.peak_mib, 1),
                "rss_increase_mib": round(mem.increase_mib, 1),
            }
        )
    return runs, result


def write_stores(folder: Path, n_init: int, n_lead: int, n_lat: int = 32, n_lon: int = 64):
    step = np.timedelta64(6, "h")
    times = pd.date_range("2018-01-01", periods=n_init + n_lead, freq="6h")
    lat = np.linspace(-90 + 90 / n_lat, 90 - 90 / n_lat, n_lat)
    lon = np.arange(n_lon) * 360.0 / n_lon
    rs = dsa.random.RandomState(0)
    truth_data = 280 + rs.standard_normal((times.size, n_lat, n_lon), chunks=(1, n_lat, n_lon))
    truth = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), truth_data.astype("f4"), {"units": "K"})},
        coords={"time": times, "latitude": lat, "longitude": lon},
    )
    leads = step * np.arange(1, n_lead + 1)
    fc_data = 280 + rs.standard_normal(
        (n_init, n_lead, n_lat, n_lon), chunks=(1, n_lead, n_lat, n_lon)
    )
    forecast = xr.Dataset(
        {
            "t2m": (
                ("time", "prediction_timedelta", "latitude", "longitude"),
                fc_data.astype("f4"),
                {"units": "K"},
            )
        },
        coords={
            "time": times[:n_init],
            "prediction_timedelta": leads,
            "latitude": lat,
            "longitude": lon,
        },
    )
    truth.to_zarr(folder / "truth.zarr", mode="w")
    forecast.to_zarr(folder / "forecast.zarr", mode="w")


def machine() -> dict:
    """CPU model, vector/matrix flags, torch version and thread counts of this machine."""
    info: dict = {"cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            info["cpu_model"] = line.split(":", 1)[1].strip()
            break
    flags = next(
        (ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines() if ln.startswith("flags")), []
    )
    info["avx512_flags"] = sorted(f for f in flags if f.startswith("avx512"))
    info["amx_flags"] = sorted(f for f in flags if f.startswith("amx"))
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = None
    info["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS")
    info["load_average"] = os.getloadavg()
    return info


def run_measured(command: list[str], cwd: Path) -> dict:
    """Run a command; its wall time and peak resident memory (sampled every 20 ms)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    child = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, child.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    return {
        "s": round(time.perf_counter() - t0, 2),
        "peak_rss_mib": round(peak / 2**20, 1),
        "returncode": proc.returncode,
        "output_tail": output[-300:] if proc.returncode else "",
    }


def bench_radar(store: str | None, n_inits: int | None, folder: Path) -> dict:
    """The README's radar scoring on the first N and 2N init times of a nowcast store."""
    gmgclim = [sys.executable, "-m", "gmgclim"]
    out: dict = {}
    if store is None:
        store = str(folder / "nowcast.zarr")
        forecast = ["forecast", "knmi-radar", "--model", "extrapolation", "--lead-steps", "12"]
        out["forecast"] = run_measured([*gmgclim, *forecast, "-o", store, "--no-progress"], folder)
    inits = xr.open_zarr(store)["time"].values
    n = n_inits or inits.size // 2
    runs = {}
    for count in (n, 2 * n):
        chosen = ",".join(str(t) for t in inits[:count])
        command = [*gmgclim, "score", store, "--truth", "knmi-radar", "--baselines"]
        command += ["persistence", "--thresholds", "0.5,1,5", "--no-progress"]
        command += ["--init-times", chosen, "-o", str(folder / f"radar_scores_{count}.nc")]
        runs[str(count)] = run_measured(command, folder)
    out["score_init_times"] = runs
    out["store"] = store
    out["n_init_times_in_store"] = int(inits.size)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inits", type=int, default=1460)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--radar-store", default=None, help="Existing nowcast store to score.")
    parser.add_argument("--radar-inits", type=int, default=None, help="N (default: half).")
    parser.add_argument("--skip-radar", action="store_true")
    parser.add_argument("--skip-gridded", action="store_true")
    args = parser.parse_args()
    dask.config.set(scheduler="threads")
    report: dict = {"machine": machine()}
    if not args.skip_radar:
        with tempfile.TemporaryDirectory() as tmp:
            report["radar_readme_commands"] = bench_radar(
                args.radar_store, args.radar_inits, Path(tmp)
            )
    if not args.skip_gridded:
        report["gridded"] = bench_gridded(args)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


def bench_gridded(args) -> dict:
    """gmgclim's score_forecast against xskillscore on a year of 6-hourly forecasts."""
    result = {
        "config": {
            "init_times": args.inits,
            "lead_times": args.leads,
            "grid": [32, 64],
            "dtype": "float32",
            "forecast_chunks": "one init time per chunk (all leads, whole field)",
            "truth_chunks": "one time per chunk",
            "scheduler": "dask threads",
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "dask": dask.__version__,
            "xarray": xr.__version__,
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_stores(folder, args.inits, args.leads)
        result["write_stores_s"] = round(time.perf_counter() - t0, 2)
        forecast = xr.open_zarr(folder / "forecast.zarr")
        truth = xr.open_zarr(folder / "truth.zarr")
        result["forecast_mib"] = round(forecast["t2m"].nbytes / 2**20, 1)

        t0 = time.perf_counter()
        clim = compute_climatology(truth, hour_of_day=False, window_days=15).compute()
        result["climatology_s"] = round(time.perf_counter() - t0, 2)

        def score_with_gmgclim():
            return score_forecast(
                forecast,
                truth,
                metrics=["rmse", "rmse_wb1", "mae", "bias", "acc"],
                climatology=clim,
            )

        runs, scores = measured_runs(args.repeat, score_with_gmgclim)
        result["gmgclim_score_forecast"] = {
            "metrics": ["rmse_wb2", "rmse_wb1", "mae", "bias", "acc"],
            "runs": runs,
        }
        rmse_gmg = scores["t2m"].sel(metric="rmse").values

        import xskillscore as xs

        def score_with_xskillscore():
            pair = align_forecast_truth(forecast, truth)
            f, o = pair.forecast["t2m"], pair.truth["t2m"]
            w = cell_area_weights(f.latitude).broadcast_like(f.isel(time=0, prediction_timedelta=0))
            space = ["latitude", "longitude"]
            rmse = np.sqrt(xs.mse(f, o, dim=space, weights=w).mean("time"))
            mae = xs.mae(f, o, dim=space, weights=w).mean("time")
            me = xs.me(f, o, dim=space, weights=w).mean("time")
            return dask.compute(rmse, mae, me)

        runs, (rmse, _, _) = measured_runs(args.repeat, score_with_xskillscore)
        result["xskillscore_same_alignment"] = {
            "metrics": ["rmse (mse per init, mean, sqrt)", "mae", "me"],
            "runs": runs,
            "max_abs_diff_rmse_vs_gmgclim": float(np.max(np.abs(rmse.values - rmse_gmg))),
        }
    return result


if __name__ == "__main__":
    main()
