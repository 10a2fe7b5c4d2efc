"""A rich progress bar over init times, shared by the forecast writers and ``gmgclim score``."""

from __future__ import annotations

import time as _time

__all__ = ["InitTimeProgress"]


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
        self._progress = None
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("init times"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                transient=transient,
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
