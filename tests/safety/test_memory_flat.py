"""Memory of every command that loops over init times stays flat when the init times double (issue 15).

Each command runs in a fresh Python process (``python -c`` calling the CLI's ``main``) that reports
its own peak resident set size when it ends: ``VmHWM`` of ``/proc/self/status`` (Linux), the peak of
this process image only (``getrusage``'s ``ru_maxrss`` would carry over the peak of the forked
pytest process from before ``exec``). A command that
kept each init time's fields (as ``gmgclim score`` once did, ~0.1 GB per radar init) would grow by
about ``N x (bytes per init)`` from N to 2N init times: here 10 x 4.7 MB (forecast), 10 x 14 MB
(extrapolation) and 10 x 9.4 MB (score: forecast and persistence), above the bound. The scorer
holds one block of init times of about ``gmgclim.metrics.blocks.BLOCK_BYTES`` at a time (5 init
times here), so its memory is flat once N fills a block.

glibc's malloc raises its mmap threshold as large blocks are freed, after which the peak RSS of the
same command varies by +-20 MB from run to run; a fixed threshold (``MALLOC_MMAP_THRESHOLD_``)
returns every large block to the system and makes the peak repeat to within 1 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmgclim.testing import mock_gridded_dataset

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc"),
]

N_LAT, N_LON = 768, 768  # 2.4 MB per float32 frame
N_INITS = 10
FIRST_INIT = pd.Timestamp("2000-01-01T06")
#: Allowed growth of the peak RSS from N to 2N init times: half the smallest N-proportional leak
#: (10 more inits x 4.7 MB of forecast); measured growth: forecast 0, extrapolation 2, score 11 MB.
GROWTH_BOUND_MB = 24.0

_MEASURE = """
import json, sys
from gmgclim.cli import main
try:
    main(sys.argv[2:])
    code = 0
except SystemExit as exc:
    code = int(exc.code or 0)
with open("/proc/self/status") as fh:
    peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "peak_mb": peak_kb / 1024.0}, fh)
"""


def _peak_mb(args: list[str], tmp_path: Path, env: dict[str, str]) -> float:
    """Run ``gmgclim ARGS`` in a fresh process; its peak RSS in MB (fails on a non-zero exit)."""
    report = tmp_path / f"rss-{len(list(tmp_path.glob('rss-*')))}.json"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(report), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.is_file(), done.stderr[-2000:]
    result = json.loads(report.read_text())
    assert result["code"] == 0, done.stderr[-2000:]
    return float(result["peak_mb"])


def _inits(n: int) -> str:
    return ",".join(str(t) for t in pd.date_range(FIRST_INIT, periods=n, freq="1h"))


@pytest.fixture(scope="module")
def big_entry(tmp_path_factory) -> dict[str, str]:
    """Environment with catalog entry ``big-t2m``: hourly t2m on a 768 x 768 grid, 36 frames."""
    base = tmp_path_factory.mktemp("memory_flat")
    truth = mock_gridded_dataset(
        periods=36, freq="1h", n_lat=N_LAT, n_lon=N_LON, variables=("2m_temperature",)
    )
    truth.to_netcdf(base / "big.nc")
    catalog = base / "catalog.yaml"
    catalog.write_text(
        f"entries:\n  big-t2m:\n    driver: netcdf\n    location: {base / 'big.nc'}\n"
        "    channels: [t2m]\n"
    )
    return {
        **os.environ,
        "GMGCLIM_CATALOGS": str(catalog),
        "GMGCLIM_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MALLOC_MMAP_THRESHOLD_": "65536",  # a repeatable peak (see the module docstring)
        "MALLOC_ARENA_MAX": "2",
    }


def _assert_flat(name: str, peaks: list[float]) -> None:
    growth = peaks[1] - peaks[0]
    print(f"{name}: peak RSS {peaks[0]:.0f} MB ({N_INITS} inits) -> {peaks[1]:.0f} MB (x2)")
    assert growth < GROWTH_BOUND_MB, f"{name}: peak RSS grew {growth:.1f} MB with 2x init times"


def _forecast(trained_run: Path, out: Path, n: int, env, tmp_path) -> float:
    args = ["forecast", str(trained_run), "--dataset", "big-t2m", "--init-times", _inits(n)]
    return _peak_mb([*args, "--batch-size", "2", "-o", str(out), "--no-progress"], tmp_path, env)


def test_forecast_and_score_memory_is_flat_in_init_times(trained_run, big_entry, tmp_path):
    stores = [tmp_path / f"fc{n}.zarr" for n in (N_INITS, 2 * N_INITS)]
    peaks = [
        _forecast(trained_run, store, n, big_entry, tmp_path)
        for store, n in zip(stores, (N_INITS, 2 * N_INITS), strict=True)
    ]
    _assert_flat("gmgclim forecast", peaks)
    score_peaks = [
        _peak_mb(
            [
                *("score", str(store), "--truth", "big-t2m", "--baselines", "persistence"),
                # no acc: its climatology would need the run's train split, which big-t2m lacks
                *(
                    "--metrics",
                    "rmse,mae,bias",
                    "--no-progress",
                    "-o",
                    str(store.with_suffix(".nc")),
                ),
            ],
            tmp_path,
            big_entry,
        )
        for store in stores
    ]
    _assert_flat("gmgclim score", score_peaks)
    assert np.isfinite(score_peaks).all()


def test_extrapolation_forecast_memory_is_flat_in_init_times(big_entry, tmp_path):
    peaks = [
        _peak_mb(
            [
                *("forecast", "big-t2m", "--model", "extrapolation", "--init-times", _inits(n)),
                *("--lead-steps", "6", "--input-steps", "3", "--batch-size", "2", "--no-progress"),
                *("-o", str(tmp_path / f"nowcast{n}.zarr")),
            ],
            tmp_path,
            big_entry,
        )
        for n in (N_INITS, 2 * N_INITS)
    ]
    _assert_flat("gmgclim forecast --model extrapolation", peaks)
