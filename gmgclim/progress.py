"""Progress on the console: one system (rich) for every long command, on stderr.

- :func:`status`: one plain line, the first thing a long command prints (before heavy imports);
- :class:`Stage`: a spinner for a step of unknown length (opening data, statistics, writing a
  store), with a bar over the dask tasks computed inside it;
- :class:`StepProgress`: training steps with loss, lr and throughput;
- :class:`InitTimeProgress`: init times of a forecast or a scoring;
- :class:`ByteProgress`: bytes of a download.

Every class takes ``enabled``; disabled, it does nothing. On a console that is not a terminal
(a log file, a batch job) rich draws no live bar, so these print plain lines instead: a stage
prints its start and end, a training prints a line every ``plain_every_s`` seconds.

This module imports nothing from gmgclim (any part may use it) and imports rich only when a bar
is drawn, so :func:`status` costs nothing at start-up.
"""

from __future__ import annotations

import sys
import time as _time
from typing import Any

__all__ = ["ByteProgress", "InitTimeProgress", "Stage", "StepProgress", "console", "status"]


def status(text: str) -> None:
    """Print ``gmgclim TEXT`` as one line on stderr, at once (flushed).

    Parameters
    ----------
    text : str
        What the command is doing, e.g. ``"train: recipe quickstart, opening the data ..."``.
    """
    print(f"gmgclim {text}", file=sys.stderr, flush=True)


def console() -> Any:
    """A rich console on stderr (stdout stays free for a command's results)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)  # a long path stays on one line


def _live(con: Any) -> bool:
    """Whether rich draws live bars on ``con`` (a terminal or a notebook)."""
    return bool(con.is_terminal or con.is_jupyter)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class Stage:
    """A spinner with elapsed time for one step of a command, and a bar over its dask tasks.

    Used as a context manager; on exit it prints ``DESCRIPTION: done in 1.2 s``. Dask graphs
    computed inside it on the local schedulers (``.load()``, ``dask.compute``, ``to_zarr``)
    advance the bar (tasks done of total), as ``dask.diagnostics.ProgressBar`` would.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"statistics of the train split"``.
    enabled : bool
        False: nothing is shown.
    """

    def __init__(self, description: str, enabled: bool = True):
        self.description = description
        self.enabled = enabled
        self._progress: Any = None
        self._callback: Any = None
        self._start = 0.0

    def __enter__(self) -> Stage:
        if not self.enabled:
            return self
        self._start = _time.perf_counter()
        con = console()
        if not _live(con):
            con.print(f"{self.description} ...", highlight=False)
            return self
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[tasks]}"),
            TimeElapsedColumn(),
            console=con,
            transient=True,
        )
        task = self._progress.add_task(self.description, total=None, tasks="")
        self._progress.start()
        self._callback = _dask_callback(self._progress, task)
        if self._callback is not None:
            self._callback.register()
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if not self.enabled:
            return
        if self._callback is not None:
            self._callback.unregister()
        if self._progress is not None:
            self._progress.stop()
        if exc_type is None:
            took = _seconds(_time.perf_counter() - self._start)
            console().print(f"{self.description}: done in {took}", highlight=False)


def _dask_callback(progress: Any, task: Any) -> Any:
    """A dask local-scheduler callback that shows tasks done of total on ``task`` (or None)."""
    try:
        from dask.callbacks import Callback
    except ImportError:  # dask is a dependency; without it there is nothing to count
        return None

    class _TaskCount(Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            done = len(state["finished"])
            total = done + sum(len(state[k]) for k in ("ready", "waiting", "running"))
            progress.update(task, total=total, completed=done, tasks=f"{done}/{total} tasks")

    return _TaskCount()


def _counting_bar(
    unit: str, fields: str, where: Any, bar_width: int | None = None, transient: bool = False
) -> Any:
    """A rich bar counting ``unit``: description, bar, done/total, ``fields``, elapsed, left.

    Parameters
    ----------
    unit : str
        What is counted ("steps", "init times").
    fields : str
        A rich format string of the task's own fields, shown after the count.
    where : rich.console.Console
    bar_width : int, optional
        Width of the bar (default rich's).
    transient : bool
        Remove the bar when it stops.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=bar_width),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn(fields),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=where,
        transient=transient,
    )


class StepProgress:
    """Training steps: a bar with steps done of total, time left, and the latest loss and lr.

    Parameters
    ----------
    total : int
        Optimiser steps of the whole run.
    initial : int
        Steps already done (a resumed run).
    description : str
        Label in front of the bar.
    enabled : bool
        False: nothing is shown.
    plain_every_s : float
        Off a terminal: seconds between plain progress lines.
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        description: str = "train",
        enabled: bool = True,
        plain_every_s: float = 30.0,
    ):
        self.enabled = enabled
        self.total = total
        self.done = initial
        self.description = description
        self.plain_every_s = plain_every_s
        self._info = ""
        self._progress: Any = None
        self._last_plain = -float("inf")
        if not enabled:
            return
        self._console = console()
        if not _live(self._console):
            return
        # a narrow bar leaves room for loss, lr and throughput on a narrow terminal
        self._progress = _counting_bar("steps", "{task.fields[info]}", self._console, bar_width=24)
        self._task = self._progress.add_task(description, total=total, completed=initial, info="")
        self._progress.start()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more optimiser steps as done."""
        if not self.enabled:
            return
        self.done += n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)
        elif _time.perf_counter() - self._last_plain >= self.plain_every_s or (
            self.done >= self.total
        ):
            self._plain_line()

    def show(self, **values: str) -> None:
        """Show ``name value`` pairs after the bar (e.g. ``loss="0.1234"``)."""
        if not self.enabled:
            return
        self._info = "  ".join(f"{name} {value}" for name, value in values.items())
        if self._progress is not None:
            self._progress.update(self._task, info=self._info)

    def describe(self, description: str) -> None:
        """Change the label in front of the bar (``"validate"`` while validating)."""
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def log(self, line: str) -> None:
        """Print a line above the bar (a validation result)."""
        if self.enabled:
            self._console.print(line, highlight=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _plain_line(self) -> None:
        self._last_plain = _time.perf_counter()
        self._console.print(
            f"{self.description}: step {self.done}/{self.total}  {self._info}".rstrip(),
            highlight=False,
        )


class InitTimeProgress:
    """A rich progress bar over init times (done of total, rate, time left), or nothing.

    A writer calls ``advance(n)`` after each ``n`` init times; a scorer passes the bar itself as
    the ``progress(done, total)`` callback of :func:`gmgclim.evaluation.score_store`. Close it
    with :meth:`close`, or use it as a context manager.

    Parameters
    ----------
    description : str
        Label in front of the bar.
    enabled : bool
        False (or a ``total`` of 0): no bar, every call does nothing.
    total : int, optional
        Init times to do; None: unknown until the first ``progress(done, total)`` call.
    transient : bool
        Remove the bar from the terminal when it closes.
    """

    def __init__(
        self,
        description: str,
        enabled: bool = True,
        total: int | None = None,
        transient: bool = False,
    ):
        self.enabled = enabled and total != 0
        self._progress: Any = None
        if self.enabled:
            self._progress = _counting_bar(
                "init times", "{task.fields[rate]}", console(), transient=transient
            )
            self._task = self._progress.add_task(description, total=total, rate="")
            self._start = _time.perf_counter()
            self._done = 0
            self._progress.start()

    def advance(self, n: int) -> None:
        """Count ``n`` more init times as done."""
        if self._progress is None:
            return
        self._done += n
        rate = self._done / max(_time.perf_counter() - self._start, 1e-9)
        self._progress.update(self._task, advance=n, rate=f"{rate:.2f}/s")

    def __call__(self, done: int, total: int) -> None:
        """``done`` of ``total`` init times are done (the ``progress`` callback of scoring)."""
        if self._progress is None:
            return
        self._progress.update(self._task, total=total)
        self.advance(done - self._done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __enter__(self) -> InitTimeProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ByteProgress:
    """Bytes of a download: size done of total, speed, time left; a context manager.

    Parameters
    ----------
    description : str
        Label in front of the bar (the file).
    total : int, optional
        Bytes to fetch (the ``Content-Length``); None when the server does not say.
    enabled : bool
        False: nothing is shown.
    """

    def __init__(self, description: str, total: int | None = None, enabled: bool = True):
        self._progress: Any = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console(),
        )
        self._task = self._progress.add_task(description, total=total)
        self._progress.start()

    def advance(self, n_bytes: int) -> None:
        """Count ``n_bytes`` more bytes as fetched."""
        if self._progress is not None:
            self._progress.update(self._task, advance=n_bytes)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
