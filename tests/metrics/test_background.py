"""The ordered background queue that overlaps categorical scoring with reading the next block."""

import threading
import time

import pytest

from gmgclim.metrics.background import OrderedBackground


def test_results_are_delivered_in_order_on_the_calling_thread():
    delivered = []
    caller = threading.get_ident()
    with OrderedBackground(max_pending=3) as queue:
        for n in range(6):
            # later jobs finish sooner: the order must still be the submission order
            queue.submit(
                lambda n=n: (time.sleep(0.02 * (6 - n) / 6), n)[1],
                lambda value: delivered.append((value, threading.get_ident())),
            )
    assert [value for value, _ in delivered] == list(range(6))
    assert {thread for _, thread in delivered} == {caller}


def test_submit_waits_when_more_than_max_pending_are_queued():
    release = threading.Event()
    delivered = []
    queue = OrderedBackground(max_pending=2)
    queue.submit(lambda: release.wait(5) and 1, delivered.append)
    queue.submit(lambda: 2, delivered.append)
    assert delivered == []  # two pending: nothing had to be delivered yet
    threading.Timer(0.05, release.set).start()
    queue.submit(lambda: 3, delivered.append)  # a third: the oldest is delivered first
    assert delivered == [1]
    queue.drain()
    assert delivered == [1, 2, 3]
    queue.__exit__(None, None, None)


def test_a_failing_job_raises_on_the_calling_thread():
    with pytest.raises(ValueError, match="bad block"):
        with OrderedBackground(max_pending=1) as queue:
            queue.submit(lambda: (_ for _ in ()).throw(ValueError("bad block")), print)
            queue.submit(lambda: 1, print)
