"""Training throughput: samples/s and the share of step time spent waiting for data.

Runs the real trainer (``gmgclim train`` through the CLI, under ``torchrun`` for several processes)
for a few steps of each configuration and reads ``metrics.csv`` (``samples_per_s`` and
``data_wait_share`` are logged every step here; the first steps are dropped as warm-up).

Configurations
--------------
- ``quickstart``: recipes/quickstart.yaml as shipped (bundled ERA5 UK sample).
- ``weatherbench_t850``: recipes/weatherbench_t850.yaml (GMG reference config, 31 M parameters,
  32 x 64, 4 -> 20 frames) on a mock WeatherBench 1 tree written by ``gmgclim.testing`` (the real data
  is not bundled), fp32 on CPU, batch 1 per process; a step takes minutes on a 2-core CPU, so
  ``--wb-steps`` is small and ``--configs quickstart`` skips it.

Prints a table (``--output FILE`` also writes it to a file).
Usage: ``python benchmarks/bench_train.py [--steps N] [--procs 1 2] [--configs quickstart ...]``
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def _common(steps: int) -> list[str]:
    return [
        f"training.max_steps={steps}",
        "training.warmup_steps=0",
        "training.log_every=1",
        f"training.checkpoint_every={steps}",
        f"training.validate_every={steps}",
        "training.validate_batches=1",
        "training.early_stopping_patience=null",
    ]


def _configs(
    tmp: Path, steps: int, wb_steps: int
) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    from gmgclim.testing import write_mock_weatherbench1

    wb_root = tmp / "data" / "weatherbench1" / "5.625deg"
    if not wb_root.exists():
        write_mock_weatherbench1(
            wb_root,
            directories=("temperature_850",),
            years=(2015, 2016),
            freq="6h",
            n_lat=32,
            n_lon=64,
        )
    return {
        "quickstart": ("recipes/quickstart.yaml", _common(steps), {}),
        "weatherbench_t850": (
            "recipes/weatherbench_t850.yaml",
            [
                *_common(wb_steps),
                "training.batch_size=1",
                "training.precision=fp32",
                "training.device=cpu",
                "training.num_workers=1",
                "data.splits.train.start=2015-01-01",
                "data.splits.train.end=2015-12-31",
                "data.splits.valid.start=2016-01-01",
                "data.splits.valid.end=2016-06-30",
                "data.splits.test=null",
            ],
            {"GMGCLIM_DATA": str(tmp / "data")},
        ),
    }


def _run(
    name: str, recipe: str, overrides: list[str], env_extra: dict, procs: int, tmp: Path
) -> dict:
    run_dir = tmp / f"{name}-{procs}p"
    args = ["train", recipe, "--no-progress", f"--set=output.dir={run_dir}"]
    args += [f"--set={o}" for o in overrides]
    if procs == 1:
        command = [sys.executable, "-m", "gmgclim", *args]
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={procs}",
            "-m",
            "gmgclim",
            *args,
        ]
    env = {**os.environ, **env_extra, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{name} with {procs} processes failed:\n{result.stderr[-3000:]}")
    rows: dict[int, dict[str, float]] = {}
    with open(run_dir / "metrics.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "train":
                rows.setdefault(int(row["step"]), {})[row["metric"]] = float(row["value"])
    steps = sorted(rows)
    kept = steps[min(2 if len(steps) > 3 else 1, len(steps) - 1) :]  # drop warm-up steps
    seconds = sum(1.0 / rows[s]["samples_per_s"] for s in kept)  # one global batch per step
    samples = len(kept)
    per_step = seconds / samples
    wait = sum(rows[s]["data_wait_share"] / rows[s]["samples_per_s"] for s in kept) / seconds
    import yaml

    batch = yaml.safe_load((run_dir / "recipe.yaml").read_text())["training"]["batch_size"] * procs
    return {
        "config": name,
        "procs": procs,
        "global_batch": batch,
        "samples_per_s": batch / per_step,
        "step_s": per_step,
        "data_wait_share": wait,
        "wall_s": wall,
        "steps": len(kept),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="steps per quickstart run")
    parser.add_argument(
        "--wb-steps", type=int, default=3, help="steps per WeatherBench run (minutes each on CPU)"
    )
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--configs", nargs="+", default=["quickstart", "weatherbench_t850"])
    parser.add_argument("--output", default=None, help="also write the table to this file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        configs = _configs(tmp, args.steps, args.wb_steps)
        for name in args.configs:
            recipe, overrides, env = configs[name]
            for procs in args.procs:
                results.append(_run(name, recipe, overrides, env, procs, tmp))
                r = results[-1]
                print(
                    f"{r['config']:<18} procs={r['procs']} batch={r['global_batch']:<3} "
                    f"{r['samples_per_s']:8.2f} samples/s  {r['step_s']:7.3f} s/step  "
                    f"data wait {100 * r['data_wait_share']:5.1f} %",
                    flush=True,
                )
    load = os.getloadavg()
    header = (
        f"bench_train: {platform.node()} {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU fp32, {args.steps} (quickstart) / {args.wb_steps} (WeatherBench) steps per run, "
        f"first 1-2 dropped as warm-up, load average {load[0]:.1f} "
        f"at the end, GMGCLIM_NUM_THREADS={os.environ.get('GMGCLIM_NUM_THREADS', 'unset')}"
    )
    lines = [header, "config              procs  global_batch  samples/s  s/step  data_wait_%"]
    for r in results:
        lines.append(
            f"{r['config']:<19} {r['procs']:>5}  {r['global_batch']:>12}  {r['samples_per_s']:9.2f}  "
            f"{r['step_s']:6.3f}  {100 * r['data_wait_share']:11.1f}"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
