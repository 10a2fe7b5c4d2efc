"""One pass over a forecast in init-time blocks, with the truth frames each block needs.

:func:`gmgclim.metrics.score.score_forecast` scores a forecast block by block: each block is a few
init times with all their lead times, loaded into memory with the truth frames at their valid
times; the per-block statistics (per-init spatial means, contingency counts, FSS sums) are kept or
added up, and the scores are formed once at the end. Memory is bounded by the block size
(:data:`BLOCK_BYTES`), not by the number of init times.

Consecutive blocks share most of their valid times (init ``i`` at lead ``2`` is init ``i + 1`` at
lead ``1``), so :class:`TruthFrames` keeps the frames the next block needs and reads only the new
ones: every truth frame is read once.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM
from gmgclim.metrics.observed_fractions import event_box

#: Forecast bytes (all variables and lead times) loaded per block.
BLOCK_BYTES = 48 * 2**20


def bytes_per_init(forecast: xr.Dataset) -> int:
    """Bytes of one init time of a forecast (all variables, lead times and grid points)."""
    total = 0
    for v in forecast.data_vars.values():
        if INIT_DIM in v.dims:
            total += v.dtype.itemsize * int(np.prod([v.sizes[d] for d in v.dims if d != INIT_DIM]))
    return max(total, 1)


def init_blocks(n_init: int, per_init_bytes: int, block_bytes: int | None = None) -> list[slice]:
    """Consecutive init-time slices of about ``block_bytes`` each.

    Parameters
    ----------
    n_init : int
        Init times in the forecast.
    per_init_bytes : int
        Bytes of one init time (see :func:`bytes_per_init`).
    block_bytes : int, optional
        Target block size; default :data:`BLOCK_BYTES`.

    Returns
    -------
    list of slice
        Covering ``range(n_init)`` in order, at least one init time each.
    """
    size = max(1, int((block_bytes or BLOCK_BYTES) // max(per_init_bytes, 1)))
    return [slice(start, min(start + size, n_init)) for start in range(0, n_init, size)]


class TruthFrames:
    """The truth frames of one block in memory, keeping those the next block needs.

    Parameters
    ----------
    truth : xr.Dataset
        On valid time, lazy or in memory.
    """

    def __init__(self, truth: xr.Dataset):
        self.truth = truth
        self._positions = np.zeros(0, dtype=np.int64)
        self._frames: xr.Dataset | None = None
        self.n_read = 0

    def get(self, positions: np.ndarray) -> xr.Dataset:
        """The frames at ``positions`` (sorted, unique, >= 0), loaded; reads only the new ones."""
        positions = np.asarray(positions, dtype=np.int64)
        kept = np.isin(self._positions, positions)
        new = positions[~np.isin(positions, self._positions)]
        parts = []
        if self._frames is not None and kept.any():
            parts.append(self._frames.isel({INIT_DIM: np.flatnonzero(kept)}))
        if new.size:
            parts.append(self.truth.isel({INIT_DIM: new}).load())
            self.n_read += int(new.size)
        order = np.argsort(np.concatenate([self._positions[kept], new]))
        frames = parts[0] if len(parts) == 1 else xr.concat(parts, dim=INIT_DIM)
        frames = frames.isel({INIT_DIM: order})
        self._positions, self._frames = positions, frames
        return frames


def unverified_like(forecast: xr.DataArray) -> xr.DataArray:
    """An all-NaN truth for a block whose valid times the truth does not cover."""
    return xr.full_like(forecast, np.nan, dtype=np.result_type(forecast.dtype, np.float32))


class CoveredBox:
    """The smallest box of grid cells holding every finite truth value seen so far.

    NaN-aware scores skip the cells where the truth is missing, so cutting the forecast and the
    truth to this box changes no score (FSS windows outside it hold no valid pixel, as the zero
    padding of a window sum assumes) while the work shrinks to the covered part of the grid: a
    radar composite covers about a third of its rectangle. The box only grows, so the shapes of
    consecutive blocks agree while the coverage does not change.

    Parameters
    ----------
    dims : tuple of str
        The two spatial dims.
    """

    def __init__(self, dims: tuple[str, str]):
        self.dims = dims
        self.box: dict[str, slice] | None = None

    def update(self, truth: xr.Dataset) -> dict[str, slice] | None:
        """Grow the box by the finite cells of ``truth`` (any variable and frame); the box."""
        finite = None
        for da in truth.data_vars.values():
            if set(self.dims) <= set(da.dims):
                other = [d for d in da.dims if d not in self.dims]
                hit = cast(xr.DataArray, np.isfinite(da)).any(other).transpose(*self.dims).values
                finite = hit if finite is None else finite | hit
        if finite is None:
            return self.box
        box = event_box(finite)
        if box is None:
            return self.box
        lo, hi = [box[0], box[2]], [box[1] + 1, box[3] + 1]
        if self.box is not None:
            old = [self.box[d] for d in self.dims]
            lo = [min(a, s.start) for a, s in zip(lo, old, strict=True)]
            hi = [max(b, s.stop) for b, s in zip(hi, old, strict=True)]
        self.box = {d: slice(a, b) for d, a, b in zip(self.dims, lo, hi, strict=True)}
        return self.box
