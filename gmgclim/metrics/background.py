"""Jobs run one at a time on a background thread, their results taken in submission order.

Scoring a block has a part that spreads over threads (the FSS window sums) and parts that run
on the calling thread (reading the next block, deterministic statistics, contingency tables).
Queuing the FSS of a block here lets the calling thread go on with the next candidate or block
while it runs, so both kinds of work keep the cores busy. The results are handed to their
callbacks on the calling thread, in the order the jobs were submitted, so sums accumulate in
the same order (and to the same bits) as when run inline.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["OrderedBackground"]


class OrderedBackground:
    """A one-thread queue of jobs whose results are delivered in order, at most ``max_pending``
    ahead of the caller.

    Parameters
    ----------
    max_pending : int
        Jobs submitted and not yet delivered, at most; :meth:`submit` waits for the oldest
        beyond that (it bounds the memory the queued jobs hold).

    Examples
    --------
    >>> totals = []
    >>> with OrderedBackground(max_pending=2) as queue:
    ...     for n in range(4):
    ...         queue.submit(lambda n=n: n * n, totals.append)
    >>> totals
    [0, 1, 4, 9]
    """

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max(int(max_pending), 1)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gmgclim-scores")
        self._pending: collections.deque[tuple[Future, Callable[[Any], None]]] = collections.deque()

    def submit(self, job: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Queue ``job()``; ``done(result)`` is called on this thread when it is delivered."""
        self._pending.append((self._pool.submit(job), done))
        while len(self._pending) > self.max_pending:
            self._deliver_oldest()

    def drain(self) -> None:
        """Wait for every queued job and deliver its result."""
        while self._pending:
            self._deliver_oldest()

    def _deliver_oldest(self) -> None:
        future, done = self._pending.popleft()
        done(future.result())  # a job's exception is raised here, on the calling thread

    def __enter__(self) -> OrderedBackground:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.drain()
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
