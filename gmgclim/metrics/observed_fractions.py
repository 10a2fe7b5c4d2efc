"""The observed half of the fractions skill score, computed once per truth frame.

Every truth frame is the verifying frame of many (init, lead) pairs and of every candidate scored
with it (the model, persistence, extrapolation ...): with 12 lead times a radar frame is verified
about 12 times per candidate. The FSS sums of one pair,

``num = sum v (Pf - Po)^2`` and ``den = sum v (Pf^2 + Po^2)``,

split into ``Spf2 = sum v Pf^2``, ``Spo2 = sum v Po^2`` and ``Sx = sum v Pf Po`` (``v`` the pixel
weight, 0 where the truth is missing), with ``num = Spf2 + Spo2 - 2 Sx`` and ``den = Spf2 + Spo2``.
The window count of valid pixels that both fractions divide by, the observed events' window sums
and ``Spo2`` depend on the truth frame only as long as the forecast is finite wherever the truth
is: those are kept per frame (:class:`ObservedFractions`), and each pair needs only its
forecast's window sums, computed around its forecast events. Where the forecast is missing and
the truth is not (the gap, e.g. the edge of an extrapolation nowcast), those pixels are left out
of both fractions: window sums are linear, so the pair's counts and observed sums are the
frame's minus the window sums of the gap (and of the observed events in it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gmgclim.metrics.window_sums import (
    fss_terms,
    inverse_count,
    mask_window_sums,
    masked_dots,
    relative_to,
    windows_around,
)

__all__ = ["ObservedFractions", "event_box"]


def event_box(events: np.ndarray) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1), inclusive, of the True pixels of a 2-D mask; None if none."""
    rows = np.flatnonzero(events.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(events.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@dataclasses.dataclass
class _Frame:
    """What the FSS needs of one truth frame."""

    valid: np.ndarray  # (H, W) bool: finite truth
    weight: np.ndarray | None  # (H, W) float64 pixel weights, 0 where not valid; None: uniform
    events: list[np.ndarray]  # per threshold, (H, W) bool
    counts: dict[int, np.ndarray]  # per window size > 1: valid pixels in the window
    inv_count: dict[int, np.ndarray]  # 1 / counts (0 where none)
    event_sums: dict[int, list[np.ndarray]]  # per size and threshold: observed events in it
    po2: np.ndarray  # (threshold, scale): Spo2


class ObservedFractions:
    """Observed FSS fractions per truth frame, shared by every pair and candidate verified on it.

    One cache serves one variable; :meth:`configure` sets the thresholds, window sizes and pixel
    weights (a change empties it).

    Notes
    -----
    Frames are kept by key (valid time, level) until :meth:`forget_before` drops the earlier
    ones; scoring init times in order keeps about one block's valid times in memory.
    """

    def __init__(self) -> None:
        self.thresholds = np.zeros(0)
        self.scales: list[int] = []
        self.windows: list[int] = []  # the window sizes > 1 pixel, each once, increasing
        self.weights: np.ndarray | None = None
        self._frames: dict[tuple[int, int], _Frame] = {}
        self.n_computed = 0

    def configure(
        self, thresholds: np.ndarray, scales: np.ndarray, weights: np.ndarray | None
    ) -> None:
        """Set what the fractions are for.

        Parameters
        ----------
        thresholds : np.ndarray
            (n_threshold,) event thresholds (``value >= threshold``).
        scales : np.ndarray
            (n_scale,) window widths in pixels, >= 1.
        weights : np.ndarray, optional
            (H, W) pixel weights of the sums (None: uniform).
        """
        thresholds = np.asarray(thresholds, dtype=np.float64)
        scales_list = [int(s) for s in np.asarray(scales).ravel()]
        same_weights = (weights is None and self.weights is None) or (
            weights is not None
            and self.weights is not None
            and np.array_equal(weights, self.weights)
        )
        if np.array_equal(thresholds, self.thresholds) and scales_list == self.scales:
            if same_weights:
                return
        self.thresholds, self.scales, self.weights = thresholds, scales_list, weights
        self.windows = sorted({s for s in scales_list if s > 1})
        self._frames.clear()

    def forget_before(self, valid_time: int) -> None:
        """Drop the frames of valid times (int64 ns) before ``valid_time``."""
        for key in [k for k in self._frames if k[0] < valid_time]:
            del self._frames[key]

    def frame(self, key: tuple[int, int], truth: np.ndarray) -> _Frame:
        """The observed half of the FSS of ``truth`` (H, W), computed on first use of ``key``."""
        cached = self._frames.get(key)
        if cached is None or cached.valid.shape != truth.shape:  # a grown coverage box
            cached = self._frames[key] = self._compute(truth)
            self.n_computed += 1
        return cached

    def _compute(self, truth: np.ndarray) -> _Frame:
        valid = np.isfinite(truth)
        with np.errstate(invalid="ignore"):
            events = [(truth >= thr) & valid for thr in self.thresholds]
        weight = None if self.weights is None else np.where(valid, self.weights, 0.0)
        counts: dict[int, np.ndarray] = {}
        inv_count: dict[int, np.ndarray] = {}
        event_sums: dict[int, list[np.ndarray]] = {}
        po2 = np.zeros((len(self.thresholds), len(self.scales)))
        windows = self.windows
        if windows:
            for size, sums in mask_window_sums(valid, windows).items():
                counts[size] = sums.astype(np.float64)
                inv_count[size] = inverse_count(counts[size])
            per_event = [mask_window_sums(ev, windows) for ev in events]
            for size in windows:
                event_sums[size] = [sums[size].astype(np.float64) for sums in per_event]
        for k, size in enumerate(self.scales):
            if size == 1:
                for i, ev in enumerate(events):
                    po2[i, k] = np.count_nonzero(ev) if weight is None else weight[ev].sum()
                continue
            for i, sums in enumerate(event_sums[size]):
                po = sums * inv_count[size]
                if weight is None:
                    po2[i, k] = masked_dots(po, [po], valid)[0]
                else:
                    po2[i, k] = (weight * po * po).sum()
        return _Frame(valid, weight, events, counts, inv_count, event_sums, po2)

    def sums(self, forecast: np.ndarray, frame: _Frame) -> np.ndarray:
        """(threshold, scale, 2) FSS sums of ``forecast`` (H, W) against a frame.

        Where the forecast is missing (NaN/inf) and the truth is not (the gap), those pixels
        are left out of both fractions, as where the truth is missing (:meth:`_gap_sums`).
        """
        gap = frame.valid & ~np.isfinite(forecast)
        if gap.any():
            return self._gap_sums(forecast, frame, gap)
        out = np.zeros((len(self.thresholds), len(self.scales), 2))
        with np.errstate(invalid="ignore"):
            fc_events = [(forecast >= thr) & frame.valid for thr in self.thresholds]
        for i, fe in enumerate(fc_events):
            window_terms = self._window_sums(fe, frame, i)
            for k, size in enumerate(self.scales):
                if size == 1:
                    pf2, cross = self._pixel_sums(fe, frame.events[i], frame.weight)
                else:
                    pf2, cross = window_terms[size]
                po2 = frame.po2[i, k]
                out[i, k, 0] = max(pf2 + po2 - 2.0 * cross, 0.0)
                out[i, k, 1] = pf2 + po2
        return out

    def _gap_sums(self, forecast: np.ndarray, frame: _Frame, gap: np.ndarray) -> np.ndarray:
        """The sums of a forecast missing at ``gap`` pixels (H, W bool) where the truth is valid.

        Window sums are linear: the pair's valid-pixel counts are the frame's minus those of the
        gap, and its observed event sums the frame's minus those of the observed events in the
        gap; only the forecast's events and the gap need new window sums. Both fractions are 0
        farther than a window's reach from every event, so everything is formed on the box of
        the events (either field, lowest threshold) grown by that reach.
        """
        valid = frame.valid & ~gap
        weight = None if frame.weight is None else np.where(gap, 0.0, frame.weight)
        with np.errstate(invalid="ignore"):
            fc_events = [(forecast >= thr) & valid for thr in self.thresholds]
        ob_events = [ev & valid for ev in frame.events]
        out = np.zeros((len(self.thresholds), len(self.scales), 2))
        if len(self.thresholds) == 0:
            return out
        lowest = int(np.argmin(self.thresholds))  # its events hold every other threshold's
        box = event_box(fc_events[lowest] | ob_events[lowest])
        if box is None:
            return out
        windows = self.windows
        read = windows_around(box, forecast.shape, max(windows))[0] if windows else None
        gap_sums = fc_sums = None
        gap_event_sums: dict[int, dict[int, np.ndarray]] = {}
        if read is not None:  # every window size formed once on the widest read box
            gap_sums = mask_window_sums(gap[read], windows)
            fc_sums = [mask_window_sums(fe[read], windows) for fe in fc_events]
            for i in range(len(self.thresholds)):
                gap_events = frame.events[i][read] & gap[read]
                if gap_events.any():
                    gap_event_sums[i] = mask_window_sums(gap_events, windows)
        for k, size in enumerate(self.scales):
            if size == 1:
                for i, (fe, oe) in enumerate(zip(fc_events, ob_events, strict=True)):
                    pf2, cross = self._pixel_sums(fe, oe, weight)
                    po2 = float(np.count_nonzero(oe) if weight is None else weight[oe].sum())
                    out[i, k, 0] = max(pf2 + po2 - 2.0 * cross, 0.0)
                    out[i, k, 1] = pf2 + po2
                continue
            assert read is not None and gap_sums is not None and fc_sums is not None
            region = windows_around(box, forecast.shape, size)[2]
            inner = relative_to(region, read)
            counts = frame.counts[size][region] - gap_sums[size][inner]  # float64 - uint8
            inv = inverse_count(counts)
            ok = valid[region]
            wr = None if weight is None else weight[region]
            for i in range(len(self.thresholds)):
                observed = frame.event_sums[size][i][region]
                if i in gap_event_sums:
                    observed = observed - gap_event_sums[i][size][inner]
                pf = fc_sums[i][size][inner] * inv
                out[i, k] = fss_terms(pf, observed * inv, ok, wr)
        return out

    @staticmethod
    def _pixel_sums(fe: np.ndarray, oe: np.ndarray, weight: np.ndarray | None) -> tuple:
        """``Spf2`` and ``Sx`` at the 1-pixel scale, where the fractions are the 0/1 events."""
        if weight is None:
            return float(np.count_nonzero(fe)), float(np.count_nonzero(fe & oe))
        return float(weight[fe].sum()), float(weight[fe & oe].sum())

    def _window_sums(self, fe: np.ndarray, frame: _Frame, i: int) -> dict[int, tuple]:
        """Per window size > 1: ``Spf2`` and ``Sx``, computed around the forecast's events only.

        ``Pf`` is 0 farther than the window's reach from every event, so it is formed on the
        events' box grown by that reach, from window sums read with another reach of margin
        (which gives the same values as over the whole field); every size is formed on the
        read box of the widest.
        """
        windows = self.windows
        box = event_box(fe) if windows else None
        if box is None:
            return {size: (0.0, 0.0) for size in windows}
        read = windows_around(box, fe.shape, max(windows))[0]
        sums = mask_window_sums(fe[read], windows)
        out = {}
        for size in windows:
            region = windows_around(box, fe.shape, size)[2]
            pf = sums[size][relative_to(region, read)] * frame.inv_count[size][region]
            po = frame.event_sums[size][i][region] * frame.inv_count[size][region]
            if frame.weight is None:
                valid = frame.valid[region]
                pf2, cross = masked_dots(pf, [pf, po], valid)
                out[size] = pf2, cross
            else:
                weight = frame.weight[region]
                out[size] = float((weight * pf * pf).sum()), float((weight * pf * po).sum())
        return out
