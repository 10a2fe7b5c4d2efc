"""Under torchrun every rank writes its own init times into one store (gloo, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np, torch
    from gmgclim.inference import Forecaster, write_forecast_zarr
    from gmgclim.testing import mock_gridded_dataset

    class Shift(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.offset = torch.nn.Parameter(torch.tensor(0.5))
            self.seen = []
        def forward(self, inputs, targets=None, teacher_forcing_mask=None):
            k = torch.arange(1, 4, dtype=inputs.dtype).view(1, -1, 1, 1, 1)
            return inputs[:, -1:] + k * self.offset

    store, out = sys.argv[1], sys.argv[2]
    ds = mock_gridded_dataset(periods=40, n_lat=8, n_lon=16)
    model = Shift()
    f = Forecaster(model, ["t2m"], 2, 3, "6h", [280.0], [2.0])
    report = write_forecast_zarr(f, ds, store, batch_size=4, progress=False)
    rank = int(os.environ["RANK"])
    with open(f"{out}/rank{rank}.json", "w") as fh:
        json.dump({"written": report.n_written, "total": report.n_init_times}, fh)
    """
)


@pytest.mark.distributed
def test_torchrun_ranks_share_the_init_times(tmp_path: Path):
    script = tmp_path / "write.py"
    script.write_text(SCRIPT)
    store = tmp_path / "fc.zarr"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(script), str(store), str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    total = reports[0]["total"]
    assert total == 39  # 40 times, 2 input frames each, no split
    # 10 batches of 4 (the last of 3) dealt round-robin: 20 + 19 init times
    assert sorted(r["written"] for r in reports) == [19, 20]
    fc = xr.open_zarr(store)
    assert bool(fc["init_written"].all())
    from gmgclim.testing import mock_gridded_dataset

    ds = mock_gridded_dataset(periods=40, n_lat=8, n_lon=16)
    want = ds["2m_temperature"].values[1:] + 3 * 0.5 * 2.0  # last input + lead 3 * offset * std
    np.testing.assert_allclose(fc["2m_temperature"].values[:, 2], want, rtol=1e-6)
