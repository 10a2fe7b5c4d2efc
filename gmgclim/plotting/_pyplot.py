"""pyplot without taking over the user's backend."""

from __future__ import annotations

import os
import sys


def pyplot():
    """Return ``matplotlib.pyplot``, choosing the non-interactive Agg backend only when nobody chose.

    In a script, the CLI or a test (pyplot not yet imported, no ``MPLBACKEND``) figures are drawn
    off-screen with Agg. In Jupyter or any session that already imported pyplot, the backend is
    left alone, so inline figures keep working after a gmgclim plot.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
