"""Window sums of a field: the neighbourhood counts of the fractions skill score."""

from __future__ import annotations

import numpy as np

__all__ = [
    "fss_terms",
    "inverse_count",
    "mask_window_sums",
    "masked_dots",
    "relative_to",
    "window_sum",
    "windows_around",
]


def window_sum(values: np.ndarray, size: int) -> np.ndarray:
    """Sum over a ``size`` x ``size`` window centred on each pixel of the last two axes.

    The window of pixel ``i`` covers ``i - size // 2`` to ``i - size // 2 + size - 1`` (as
    ``scipy.ndimage.uniform_filter``); outside the grid counts as zero. Boolean input (event and
    validity masks) with windows up to 15 pixels is summed exactly in uint8 by shifted adds
    (:func:`mask_window_sums`, 6-25x faster than ``uniform_filter`` on radar fields); anything
    else by ``uniform_filter``'s separable running sums (about 4x faster than summed-area
    tables), with sums of boolean input rounded to the integers they are.

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
    values = np.asarray(values)
    is_bool = values.dtype == bool
    if is_bool and size * size <= np.iinfo(np.uint8).max:
        return mask_window_sums(values, [size])[size].astype(np.float64)
    from scipy import ndimage

    a = np.asarray(values, dtype=np.float64)
    if size == 1:
        return a.copy()
    sizes = (1,) * (a.ndim - 2) + (size, size)
    out = ndimage.uniform_filter(a, size=sizes, mode="constant", cval=0.0)
    out *= size * size
    if is_bool:
        np.rint(out, out=out)
    return out


def mask_window_sums(masks: np.ndarray, sizes) -> dict[int, np.ndarray]:
    """Window sums of boolean masks at several window sizes at once, sharing the work.

    Sizes up to 15 pixels are summed exactly in uint8 by shifted adds; an odd size that is an
    odd multiple ``m`` of a smaller odd size already formed is the sum of ``m`` shifted copies
    of that one (9 from 3: 2 adds per axis instead of 8). Larger sizes go to
    :func:`window_sum`. Windows are placed as in :func:`window_sum`.

    Parameters
    ----------
    masks : np.ndarray
        bool, shape (..., H, W): several masks stacked on the leading axes are summed together.
    sizes : iterable of int
        Window widths in pixels, >= 1.

    Returns
    -------
    dict of int to np.ndarray
        Per size, shape (..., H, W): exact counts, uint8 for sizes up to 15 (mind uint8
        arithmetic: subtract them from float64 arrays, not from each other), float64 beyond.
    """
    masks = np.asarray(masks, dtype=bool)
    wanted = sorted({int(s) for s in sizes})
    if wanted and wanted[0] < 1:
        raise ValueError(f"window size must be >= 1 pixel, got {wanted[0]}")
    small = [s for s in wanted if s * s <= np.iinfo(np.uint8).max]
    out = {s: window_sum(masks, s) for s in wanted if s not in small}
    if not small:
        return out
    # composed windows read their parts up to a reach beyond the grid: zeros padded there
    pad = max(small) // 2
    h, w = masks.shape[-2:]
    padded = np.pad(masks, [(0, 0)] * (masks.ndim - 2) + [(pad, pad), (pad, pad)])
    sums: dict[int, np.ndarray] = {}
    for size in small:
        bases = [t for t in sums if 1 < t < size and _composes(size, t)]
        if bases:
            base = max(bases)
            reach = (size // base) // 2
            sums[size] = _shifted_sums(sums[base].copy(), reach, reach, base)
        else:
            sums[size] = _small_mask_sum(padded, size)
        out[size] = sums[size][..., pad : pad + h, pad : pad + w]
    return out


def _composes(size: int, base: int) -> bool:
    """A ``size`` window is ``size // base`` whole ``base`` windows side by side, centred."""
    return size % 2 == 1 and base % 2 == 1 and size % base == 0 and (size // base) % 2 == 1


def _small_mask_sum(mask: np.ndarray, size: int) -> np.ndarray:
    """Exact uint8 window sums of a bool (..., H, W) mask, ``size`` ** 2 <= 255."""
    before = size // 2  # window reach towards lower indices, as uniform_filter's origin 0
    return _shifted_sums(mask.astype(np.uint8), before, size - 1 - before, 1)


def _shifted_sums(out: np.ndarray, before: int, after: int, stride: int) -> np.ndarray:
    """Separable sums of ``out`` shifted by ``-before .. after`` strides on both axes, in place.

    Each axis: ``out[i] = sum_k src[i + k * stride]`` for ``k`` in ``-before .. after`` (terms
    outside the grid are zero), with ``src`` the array before that axis' pass.
    """
    for axis in (-2, -1):
        src = out.copy()
        for k in range(1, before + 1):
            _shifted_add(out, src, k * stride, axis)
        for k in range(1, after + 1):
            _shifted_add(out, src, -k * stride, axis)
    return out


def _shifted_add(out: np.ndarray, src: np.ndarray, shift: int, axis: int) -> None:
    """``out[i] += src[i - shift]`` along ``axis`` (-2 or -1) where ``i - shift`` is in range."""
    n = out.shape[axis]
    if abs(shift) >= n:
        return
    to = slice(shift, n) if shift > 0 else slice(0, n + shift)
    frm = slice(0, n - shift) if shift > 0 else slice(-shift, n)
    if axis == -2:
        out[..., to, :] += src[..., frm, :]
    else:
        out[..., to] += src[..., frm]


def windows_around(
    box: tuple[int, int, int, int], shape: tuple[int, ...], size: int
) -> tuple[tuple[slice, slice], tuple[slice, slice], tuple[slice, slice]]:
    """Slices to form window sums on ``box`` (inclusive rows/cols) grown by a window's reach.

    Returns ``(read, inner, region)``: the window sums of ``field[read]`` at ``[inner]`` are
    those of the whole field at ``[region]`` (the read slice has another reach of margin).
    """
    h, w = shape[-2], shape[-1]
    reach = size // 2
    r0, r1 = max(box[0] - reach, 0), min(box[1] + reach, h - 1)
    c0, c1 = max(box[2] - reach, 0), min(box[3] + reach, w - 1)
    i0, i1 = max(r0 - reach, 0), min(r1 + reach, h - 1)
    j0, j1 = max(c0 - reach, 0), min(c1 + reach, w - 1)
    read = (slice(i0, i1 + 1), slice(j0, j1 + 1))
    inner = (slice(r0 - i0, r1 - i0 + 1), slice(c0 - j0, c1 - j0 + 1))
    region = (slice(r0, r1 + 1), slice(c0, c1 + 1))
    return read, inner, region


def relative_to(region: tuple[slice, slice], read: tuple[slice, slice]) -> tuple[slice, slice]:
    """``region`` (whole-grid slices) as slices of an array read at ``read``, which holds it."""
    return tuple(
        slice(r.start - q.start, r.stop - q.start) for r, q in zip(region, read, strict=True)
    )  # type: ignore[return-value]


def fss_terms(
    pf: np.ndarray, po: np.ndarray, valid: np.ndarray, weight: np.ndarray | None
) -> tuple[float, float]:
    """The two FSS sums ``sum v (Pf - Po)^2`` and ``sum v (Pf^2 + Po^2)`` over valid pixels.

    Unweighted, the fields are zeroed off the valid pixels and the sums are dot products (several
    times faster than ``np.sum(..., where=valid)``).

    Parameters
    ----------
    pf, po : np.ndarray
        (h, w) float64 forecast and observed fractions on a region (both are overwritten).
    valid : np.ndarray
        (h, w) bool: pixels that count (others may hold fractions but add nothing).
    weight : np.ndarray, optional
        (h, w) pixel weights, 0 where not valid (None: 1 on valid pixels).
    """
    if weight is None:
        diff = pf - po
        for a in (diff, pf, po):
            np.multiply(a, valid, out=a)
        return _dot(diff, diff), _dot(pf, pf) + _dot(po, po)
    both = pf * pf
    both += po * po
    pf -= po
    pf *= pf
    return float((weight * pf).sum()), float((weight * both).sum())


def masked_dots(a: np.ndarray, others: list[np.ndarray], valid: np.ndarray) -> list[float]:
    """``sum(a * b)`` over the ``valid`` pixels for each ``b`` of ``others``.

    ``a`` (float64, a temporary) is zeroed off the valid pixels once, in place; the ``b`` may be
    ``a`` itself.
    """
    np.multiply(a, valid, out=a)
    return [_dot(a, b) for b in others]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop: np.dot would call a multi-threaded BLAS inside our thread pool
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


def inverse_count(count: np.ndarray) -> np.ndarray:
    """``1 / count`` where ``count`` > 0, else 0 (window counts of valid pixels, float64)."""
    return np.divide(1.0, count, out=np.zeros_like(count), where=count > 0)
