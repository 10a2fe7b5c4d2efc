"""Fault injection: a forecast killed with SIGKILL mid-write resumes to a bit-identical store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from safety_helpers import REPO


def _written(store: Path) -> int:
    marker = store / "init_written"
    if not marker.is_dir():
        return 0
    return sum(1 for p in marker.iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_forecast_killed_mid_write_resumes_bit_identically(cli, run_copy, tmp_path):
    reference = tmp_path / "reference.zarr"
    args = ["--split", "valid", "--batch-size", "1", "--no-progress"]
    assert cli("forecast", str(run_copy), "-o", str(reference), *args)[0] == 0
    n_inits = xr.open_zarr(reference).sizes["time"]
    assert n_inits >= 6

    store = tmp_path / "killed.zarr"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", GMGCLIM_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gmgclim", "forecast", str(run_copy), "-o", str(store), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _written(store) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = xr.open_zarr(store)["init_written"].values
    assert 0 < done.sum() < n_inits, "the kill came too late to test a resume"

    code, out, err = cli("forecast", str(run_copy), "-o", str(store), *args)
    assert code == 0, err
    assert f"{int(done.sum())} already there" in out
    got, want = xr.open_zarr(store).load(), xr.open_zarr(reference).load()
    for name in want.data_vars:
        np.testing.assert_array_equal(got[name].values, want[name].values)
        assert got[name].values.tobytes() == want[name].values.tobytes()
    assert got["init_written"].values.all()
    assert not list(tmp_path.glob(".killed.zarr.tmp-*"))
