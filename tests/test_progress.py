"""gmgclim.progress: one rich progress system, plain lines off a terminal, a quick first line.

The first-line test starts each long command as a user would (``python -m gmgclim ...``) and reads
its stdout and stderr as they arrive: the first line must come within 2 s, before torch, xarray
or the data are loaded. The commands are stopped once that line has come (or it is late).
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import dask.array as da
import pytest

from gmgclim.progress import ByteProgress, InitTimeProgress, Stage, StepProgress, status

FIRST_LINE_S = 2.0


def test_status_is_one_flushed_line_on_stderr(capsys):
    status("train: opening the data ...")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "gmgclim train: opening the data ...\n"


def test_stage_off_a_terminal_prints_start_and_end_on_stderr(capsys):
    with Stage("statistics of the train split"):
        total = da.ones((40, 40), chunks=10).sum().compute()
    assert total == 1600
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "statistics of the train split ..."
    assert lines[1].startswith("statistics of the train split: done in ")


def test_stage_reports_nothing_when_it_fails_or_is_disabled(capsys):
    with pytest.raises(RuntimeError), Stage("opening 'x'"):
        raise RuntimeError("boom")
    with Stage("hidden", enabled=False):
        pass
    assert capsys.readouterr().err == "opening 'x' ...\n"


def test_stage_counts_the_dask_tasks_it_computes():
    """The callback a live Stage registers sees every task of a compute (done of total)."""
    from gmgclim.progress import _dask_callback

    updates: list[dict] = []

    class Recorder:
        def update(self, task, **fields):
            updates.append(fields)

    callback = _dask_callback(Recorder(), task=0)
    with callback:
        da.ones((40, 40), chunks=10).sum().compute(scheduler="synchronous")
    assert updates, "no task was counted"
    last = updates[-1]
    assert last["completed"] == last["total"] > 16  # 16 chunks, then the reduction tree
    assert last["tasks"] == f"{last['total']}/{last['total']} tasks"


def test_step_progress_off_a_terminal_prints_plain_lines(capsys):
    bar = StepProgress(total=4, initial=1, plain_every_s=3600)
    bar.show(loss="0.1234", lr="1.00e-03")
    for _ in range(3):
        bar.advance()
    bar.log("step 4: valid loss 0.2")
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    # the first step prints at once, the rest wait for plain_every_s, the last step always prints
    assert lines == [
        "train: step 2/4  loss 0.1234  lr 1.00e-03",
        "train: step 4/4  loss 0.1234  lr 1.00e-03",
        "step 4: valid loss 0.2",
    ]


def test_disabled_bars_print_nothing(capsys):
    bar = StepProgress(total=3, enabled=False)
    bar.show(loss="1")
    bar.advance()
    bar.log("nothing")
    bar.describe("validate")
    bar.close()
    with InitTimeProgress("forecast", enabled=False, total=3) as init_bar:
        init_bar.advance(2)
        init_bar(3, 3)
    with ByteProgress("file.zip", 10, enabled=False) as byte_bar:
        byte_bar.advance(10)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_no_tqdm_left():
    """One progress system: nothing in gmgclim imports tqdm (rich draws every bar)."""
    package = Path(__file__).resolve().parents[1] / "gmgclim"
    users = [p.name for p in package.rglob("*.py") if "tqdm" in p.read_text()]
    assert users == []


def _first_line(args: list[str], cwd: Path, limit_s: float = 30.0) -> tuple[float, str]:
    """Seconds until ``python -m gmgclim ARGS`` prints its first line (stdout or stderr), and it."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gmgclim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    selector = selectors.DefaultSelector()
    for stream in (proc.stdout, proc.stderr):
        selector.register(stream, selectors.EVENT_READ)
    received = b""
    try:
        while b"\n" not in received and time.perf_counter() - start < limit_s:
            for key, _ in selector.select(timeout=0.02):
                chunk = os.read(key.fileobj.fileno(), 4096)  # type: ignore[union-attr]
                received += chunk
                if not chunk:
                    selector.unregister(key.fileobj)
            if proc.poll() is not None and not selector.get_map():
                break
        seconds = time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        selector.close()
    return seconds, received.decode(errors="replace").split("\n", 1)[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "quickstart", "--set", "output.dir={tmp}/run"], "gmgclim train: "),
        (["forecast", "{tmp}/run", "-o", "{tmp}/f.zarr"], "gmgclim forecast: "),
        (["score", "{tmp}/f.zarr", "-o", "{tmp}/s.nc"], "gmgclim score: "),
        (["data", "prepare", "era5-uk-t2m", "--to", "{tmp}/p.zarr"], "gmgclim data prepare: "),
        (["demo", "--run-dir", "{tmp}/demo"], "[1/6] gmgclim train "),
    ],
    ids=["train", "forecast", "score", "data-prepare", "demo"],
)
def test_first_line_within_two_seconds(args, expected, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    seconds, line = _first_line(args, cwd=tmp_path)
    assert line.startswith(expected), line
    assert seconds < FIRST_LINE_S, f"first line of gmgclim {args[0]} after {seconds:.2f} s: {line}"
