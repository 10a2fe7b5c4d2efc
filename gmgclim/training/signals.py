"""Stop training cleanly on SIGTERM/SIGINT: remember the signal, checkpoint, then raise.

The loop enters :class:`StopSignal` around its steps; after each step it reads
``stop.signal_number`` (the maximum over processes), writes ``latest.pt`` and raises
:class:`TrainingInterrupted`, which the CLI turns into exit code ``128 + signal``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from gmgclim.errors import GmgclimError

__all__ = ["StopSignal", "TrainingInterrupted"]


class TrainingInterrupted(GmgclimError):
    """SIGTERM/SIGINT stopped training after a checkpoint was written; rerun to resume.

    Attributes
    ----------
    signal_number : int
        The signal received; the CLI exits with ``128 + signal_number``.
    run_dir : Path
    step : int
    """

    def __init__(self, signal_number: int, run_dir: Path, step: int):
        name = signal.Signals(signal_number).name
        super().__init__(
            f"training stopped by {name} at step {step}; checkpoint written to {run_dir}",
            hint="run the same command again to resume from the checkpoint",
        )
        self.signal_number = signal_number
        self.run_dir = run_dir
        self.step = step


class StopSignal:
    """Remember SIGTERM/SIGINT instead of dying, so the loop can checkpoint first.

    Handlers are installed only in the main thread (``signal.signal`` refuses elsewhere) and the
    previous ones are restored on exit. ``signal_number`` is 0 until a signal arrives.
    """

    def __init__(self) -> None:
        self.signal_number = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal_number = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
