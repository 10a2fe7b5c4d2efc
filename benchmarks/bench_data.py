"""Data-loader throughput and memory on a synthetic WeatherBench-1-layout store.

Generates (once, lazily by year) an hourly 32 x 64 store with 2 variables (``temperature_850``,
``geopotential_500``: one netCDF file per variable and year, ~72 MB each), then for 1 and N years
measures shuffled 12 -> 12 windows per second through a ``torch.utils.data.DataLoader`` and the peak
memory of the loader (PSS of main process + workers, i.e. RSS with shared pages counted once), for
three ways of reading:

- ``dask``:  WindowDataset straight on the lazy WB1 dataset (dask, one chunk per file);
- ``zarr``:  the same data written once by ``prepare_zarr`` (48-hour chunks) and opened without dask;
- ``eager``: everything loaded into memory first (what OpenSTL-style loaders do).

Also times building the window index of the whole record. Figures are printed, never asserted::

    python benchmarks/bench_data.py --years 1 10 --root /tmp/gmgclim-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

FIRST_YEAR = 1979
N_LAT, N_LON = 32, 64


def generate(root: Path, years: int) -> None:
    """Write missing per-year files of the synthetic store (smooth fields + noise, float32)."""
    import xarray as xr

    from gmgclim.data.gridded import equiangular_grid

    lat, lon = equiangular_grid(N_LAT, N_LON)
    spec = {
        "temperature_850": ("t", "temperature_850hPa", 850, 260.0, 15.0, "K"),
        "geopotential_500": ("z", "geopotential_500hPa", 500, 54000.0, 2500.0, "m**2 s**-2"),
    }
    rng = np.random.default_rng(0)
    for directory, (var, stem, level, base, amp, units) in spec.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        for year in range(FIRST_YEAR, FIRST_YEAR + years):
            path = root / directory / f"{stem}_{year}_5.625deg.nc"
            if path.exists():
                continue
            times = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq="h")
            phase = 2 * np.pi * np.arange(times.size)[:, None, None] / 24.0
            field = (
                base
                + amp * np.cos(np.deg2rad(lat))[None, :, None]
                + 0.1 * amp * np.sin(phase + np.deg2rad(lon)[None, None, :])
            )
            field = (field + rng.normal(0, 0.01 * amp, field.shape)).astype(np.float32)
            ds = xr.Dataset(
                {var: (("time", "lat", "lon"), field, {"units": units})},
                coords={"time": times.values, "lat": lat, "lon": lon, "level": np.int32(level)},
            )
            ds.to_netcdf(path)
            print(f"  wrote {path.name}", file=sys.stderr)


def _rss_sampler(stop: threading.Event, peak: list[float]) -> None:
    import psutil

    # PSS (proportional set size): pages shared between the main process and its forked
    # workers are counted once, not once per process as a sum of RSS would
    me = psutil.Process()
    while not stop.is_set():
        total = me.memory_full_info().pss
        for child in me.children(recursive=True):
            try:
                total += child.memory_full_info().pss
            except psutil.Error:
                pass
        peak[0] = max(peak[0], total)
        time.sleep(0.05)


def measure(root: Path, years: int, mode: str, batches: int, workers: int, batch_size: int) -> dict:
    """One measurement (run in a fresh process so that peak RSS is its own)."""
    import torch

    from gmgclim.data.gridded import open_zarr, prepare_zarr
    from gmgclim.data.normalization import NormalizationStats
    from gmgclim.data.torch_dataset import WindowDataset
    from gmgclim.data.weatherbench import open_weatherbench1
    from gmgclim.data.windows import build_windows

    channels = ["t850", "z500"]
    stop, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_rss_sampler, args=(stop, peak), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    years_list = range(FIRST_YEAR, FIRST_YEAR + years)
    if mode == "zarr":
        ds = open_zarr(str(root.parent / f"prepared_{years}y.zarr"), dask=False)
    else:
        ds = open_weatherbench1(root, channels=channels, years=years_list)
    if mode == "prepare":
        store = root.parent / f"prepared_{years}y.zarr"
        if not store.exists():
            prepare_zarr(ds, store, time_chunk=48)
        stop.set()
        return {"prepare_s": round(time.perf_counter() - t0, 1)}
    if mode == "eager":
        ds = ds.load()
    open_s = time.perf_counter() - t0
    tw = time.perf_counter()
    windows = build_windows(ds["time"].values, 12, 12, "1h")
    index_s = time.perf_counter() - tw
    stats = NormalizationStats(channels, [260.0, 54000.0], [15.0, 2500.0])
    data = WindowDataset(ds, channels, windows, stats)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(0),
    )
    it = iter(loader)
    next(it)  # worker start-up is not counted
    t1 = time.perf_counter()
    n = 0
    for _ in range(batches):
        batch = next(it)
        n += batch["inputs"].shape[0]
    elapsed = time.perf_counter() - t1
    del it
    stop.set()
    sampler.join()
    return {
        "mode": mode,
        "years": years,
        "windows_total": len(windows),
        "index_s": round(index_s, 3),
        "open_s": round(open_s, 2),
        "windows_per_s": round(n / elapsed, 1),
        "peak_rss_mb": round(peak[0] / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--root", type=Path, default=Path("/tmp/gmgclim-bench/wb1"))
    parser.add_argument("--modes", nargs="+", default=["dask", "zarr", "eager"])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("MODE", "YEARS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        mode, years = args.one[0], int(args.one[1])
        print(
            json.dumps(measure(args.root, years, mode, args.batches, args.workers, args.batch_size))
        )
        return

    from gmgclim.data.windows import build_windows

    print(f"gmgclim data benchmark: WB1 layout 32x64 hourly, 2 variables, {os.cpu_count()} cores")
    t = time.perf_counter()
    generate(args.root, max(args.years))
    print(f"store ready in {time.perf_counter() - t:.0f} s under {args.root}")
    times = pd.date_range("1979-01-01", "2018-12-31 23:00", freq="h").values
    t = time.perf_counter()
    w = build_windows(times, 12, 12, "1h")
    print(
        f"window index, 40 years hourly 12->12: {len(w)} windows in {time.perf_counter() - t:.3f} s"
    )
    print(
        f"{'mode':<6} {'years':>5} {'windows':>9} {'open s':>7} {'index s':>8} "
        f"{'windows/s':>10} {'peak PSS MB':>12}  notes"
    )
    prepare_s = {}
    for mode in args.modes:
        for years in args.years:
            if mode == "zarr":
                cmd = [
                    sys.executable,
                    __file__,
                    "--root",
                    str(args.root),
                    "--one",
                    "prepare",
                    str(years),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                prepare_s[years] = json.loads(out.stdout.strip().splitlines()[-1])["prepare_s"]
            cmd = [
                sys.executable,
                __file__,
                "--root",
                str(args.root),
                "--batches",
                str(args.batches),
                "--batch-size",
                str(args.batch_size),
                "--workers",
                str(args.workers),
                "--one",
                mode,
                str(years),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{mode:<6} {years:>5}  failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            notes = (
                f"prepare_zarr {prepare_s[years]} s (once, separate process)"
                if mode == "zarr"
                else ""
            )
            print(
                f"{r['mode']:<6} {r['years']:>5} {r['windows_total']:>9} {r['open_s']:>7} "
                f"{r['index_s']:>8} {r['windows_per_s']:>10} {r['peak_rss_mb']:>12}  {notes}"
            )
    print(
        f"(shuffled DataLoader, batch {args.batch_size}, {args.workers} workers, "
        f"{args.batches} batches timed after the first)"
    )


if __name__ == "__main__":
    main()
