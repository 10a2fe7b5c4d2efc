"""A map-style PyTorch dataset of normalised sample windows (the only data module importing torch).

Each ``__getitem__`` selects just its window's time steps from the lazy ``(time, channel, H, W)``
array (``.isel`` then ``.values``), so memory does not grow with the length of the record. The
lazy arrays hold no open file handle of its own: xarray's file manager reopens files in each
DataLoader worker process after fork/spawn, so the dataset is safe with ``num_workers > 0`` and with
``DistributedSampler`` (each rank reads only the windows it is given). Dask-backed fields are read on
dask's synchronous scheduler (no nested thread pools), but dask costs tens of milliseconds per
window; for fast training write the data once with :func:`gmgclim.data.gridded.prepare_zarr` and open
the store without dask (``open_zarr(path, chunks=None)``): each window is then a ~1 ms zarr read.

NaN/inf policy, the same for every channel: a non-finite (NaN or +-inf) cell is no data. As a model
input it is filled with ``fill_nan`` (normalised units, 0 = the channel mean; counted per channel by
:func:`gmgclim.data.normalization.filled_input_lines`); as a target it is masked (``mask`` False,
left out of the loss and of validation scores) and never scored as the fill value, which it holds
only so that teacher forcing can feed it to the model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import torch
import xarray as xr
from dask.base import is_dask_collection

from gmgclim.data.channels import channel_field, select_channels
from gmgclim.data.context import ContextFields
from gmgclim.data.diurnal import diurnal_change, input_amplitude
from gmgclim.data.normalization import NormalizationStats
from gmgclim.data.transforms import check_transform
from gmgclim.data.transforms import forward as transform_forward
from gmgclim.data.windows import WindowIndex

__all__ = ["BASELINE_CACHE_BYTES", "WindowDataset", "select_channels"]

#: Extrapolation baselines are kept per window only while all of them fit in this many bytes.
BASELINE_CACHE_BYTES = 2**30


def _as_indexer(positions: np.ndarray) -> slice | np.ndarray:
    """A slice for evenly spaced increasing positions (cheap for dask), else the array."""
    if positions.size == 1:
        return slice(int(positions[0]), int(positions[0]) + 1)
    d = np.diff(positions)
    if d[0] > 0 and np.all(d == d[0]):
        return slice(int(positions[0]), int(positions[-1]) + 1, int(d[0]))
    return positions


#: Values of ``data.augment``.
AUGMENTS = ("none", "dihedral")
#: The sample entries with the grid on their last two axes (turned and flipped alike).
_SPATIAL_KEYS = ("inputs", "targets", "mask", "input_mask", "baseline", "context")
#: Seed stream of the augmentation (the crops use the plain (seed, epoch, sample)).
_AUGMENT_STREAM = 7


class WindowDataset(torch.utils.data.Dataset):
    """Windows of a canonical dataset as normalised float32 tensors.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset (lazy or in memory) holding the channels.
    channels : sequence of str
        Lexicon short names in tensor channel order.
    windows : WindowIndex
        From :func:`gmgclim.data.windows.build_windows` on ``ds.time``.
    stats : NormalizationStats
        Per-channel mean/std (channels must match ``channels``).
    fill_nan : float
        Value put where data are NaN or +-inf, after normalisation (0 = the channel mean).
    return_mask : bool
        Also return ``mask`` (T_out, C, H, W) and ``input_mask`` (T_in, C, H, W), bool, True where
        the target / input is finite (radar coverage); losses leave the other cells out.
    context : ContextFields, optional
        Forcings and statics of the grid; adds ``context`` (T_in + T_out, K, H, W) to each sample.
    transform : str
        Target transform applied to the raw values before normalisation
        (:mod:`gmgclim.data.transforms`; ``stats`` must be of the transformed fields).
    crop : (int, int), optional
        (h, w) of a random crop of the grid per sample; the position is drawn from
        (``seed``, epoch, sample index), so it is fresh each epoch (:meth:`set_epoch`) and
        reproducible, whatever the number of loader workers.
    seed : int
        Seed of the crop positions.
    baseline : {"none", "extrapolation", "diurnal"}
        Adds ``baseline`` (T_out, C, H, W), normalised: the optical-flow extrapolation of each
        window's inputs (:func:`gmgclim.data.advection.advected_baseline`, computed on the whole
        grid, kept per window while the cache allows (per DataLoader worker: each worker holds
        its own copy of the dataset), then cropped like the sample) for models that learn the
        correction to advection; or (``diurnal``) the last input frame plus the climatological
        diurnal change of each lead (:func:`gmgclim.data.diurnal.diurnal_change`, from
        ``stats.diurnal``, which must be of this grid).
    precipitation : sequence of bool, optional
        Per channel: a rate or amount (moved to decibels for the motion). Default: channels whose
        canonical variable names precipitation.
    diurnal_scale : callable, optional
        ``diurnal_scale(times)`` -> (M, H) seasonal scale of the diurnal anomaly per grid row
        (``data.diurnal_scaling: insolation``, :class:`gmgclim.data.diurnal.InsolationScale`).
    diurnal_amplitude : bool
        Scale each window's diurnal change by the amplitude of its own input frames
        (``data.diurnal_scaling: inputs``, :func:`gmgclim.data.diurnal.input_amplitude`).
    augment : {"none", "dihedral"}
        ``dihedral``: every spatial array of a sample is turned and flipped alike by one of the
        8 symmetries of the square (4 of them when the sample is not square), drawn from
        (``seed``, epoch, sample index) (:func:`dihedral`).

    Notes
    -----
    ``__getitem__(i)`` returns a dict: ``inputs`` (T_in, C, H, W) float32 normalised, ``targets``
    (T_out, C, H, W) float32 normalised, ``init_time`` int64 nanoseconds since 1970-01-01, with
    ``return_mask`` ``mask`` (T_out, C, H, W) and ``input_mask`` (T_in, C, H, W) bool, and with
    ``context`` the known inputs
    ``context`` (T_in + T_out, K, H, W) float32; with ``crop`` the grid ``rows`` (h,) int64 of
    the crop (for latitude weights).
    """

    def __init__(
        self,
        ds: xr.Dataset,
        channels: Sequence[str],
        windows: WindowIndex,
        stats: NormalizationStats,
        fill_nan: float = 0.0,
        return_mask: bool = False,
        context: ContextFields | None = None,
        transform: str = "none",
        crop: Sequence[int] | None = None,
        seed: int = 0,
        baseline: str = "none",
        precipitation: Sequence[bool] | None = None,
        diurnal_scale: Callable[[np.ndarray], np.ndarray] | None = None,
        augment: str = "none",
        diurnal_amplitude: bool = False,
    ):
        if list(stats.channels) != list(channels):
            raise ValueError(
                f"normalisation channels {stats.channels} differ from dataset channels {list(channels)}"
            )
        times = np.asarray(ds["time"].values, dtype="datetime64[ns]")
        if times.shape != windows.times.shape or not np.array_equal(times, windows.times):
            raise ValueError("the window index was built on a different time axis than the dataset")
        self.channels = list(channels)
        self.windows = windows
        self.stats = stats
        self.fill_nan = float(fill_nan)
        self.return_mask = return_mask
        self.context = context
        check_transform(transform)
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0
        if baseline not in ("none", "extrapolation", "diurnal"):
            raise ValueError(
                f"baseline must be 'none', 'extrapolation' or 'diurnal', got {baseline!r}"
            )
        self.baseline = baseline
        self.diurnal_scale = diurnal_scale
        self.diurnal_amplitude = bool(diurnal_amplitude)
        if augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {augment!r}")
        self.augment = augment
        if precipitation is None:
            from gmgclim.data.channels import is_precipitation_channel

            precipitation = [is_precipitation_channel(c) for c in self.channels]
        self.precipitation = [bool(p) for p in precipitation]
        self._baselines: dict[int, np.ndarray] = {}
        # One lazy Variable per channel (not an xr.concat, which would load lazily indexed
        # backend arrays): numpy- or lazily-indexed (e.g. zarr opened with chunks=None) channels
        # are read by plain indexing; dask-backed ones in one dask.compute per window.
        self._fields = [channel_field(ds, c).variable for c in self.channels]
        self._dask = any(is_dask_collection(v.data) for v in self._fields)
        # float64 arithmetic: a float32 mean of ~5e4 (geopotential) would cost ~1e-2 std units
        self._mean = stats.mean[None, :, None, None]
        self._inv_std = (1.0 / stats.std)[None, :, None, None]
        self.crop = None if crop is None else (int(crop[0]), int(crop[1]))
        grid = tuple(self._fields[0].shape[1:])
        if baseline == "diurnal" and (stats.diurnal is None or stats.diurnal.shape[2:] != grid):
            raise ValueError(
                f"baseline 'diurnal' needs statistics with the diurnal mean (24, C, *{grid}) of "
                f"this grid, got {None if stats.diurnal is None else stats.diurnal.shape}"
            )
        if self.crop is not None:
            height, width = self._fields[0].shape[1:]
            if self.crop[0] > height or self.crop[1] > width or min(self.crop) < 1:
                raise ValueError(
                    f"data.crop {list(self.crop)} does not fit the {height} x {width} grid"
                )

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def spatial_shape(self) -> tuple[int, int]:
        """(H, W)."""
        return tuple(self._fields[0].shape[1:])  # type: ignore[return-value]

    def set_epoch(self, epoch: int) -> None:
        """Draw the crop positions of ``epoch`` (call before iterating a new DataLoader)."""
        self.epoch = int(epoch)

    def crop_window(self, i: int) -> tuple[slice, slice]:
        """Rows and columns of sample ``i``'s crop in the current epoch (the whole grid if none)."""
        if self.crop is None:
            return slice(None), slice(None)
        height, width = self._fields[0].shape[1:]
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        y0 = int(rng.integers(0, height - self.crop[0] + 1))
        x0 = int(rng.integers(0, width - self.crop[1] + 1))
        return slice(y0, y0 + self.crop[0]), slice(x0, x0 + self.crop[1])

    def baseline_frames(self, i: int, inputs: np.ndarray | None = None) -> np.ndarray:
        """Extrapolation of window ``i``'s inputs on the whole grid, (T_out, C, H, W), physical.

        Kept after it is computed while all windows' baselines fit in
        :data:`BASELINE_CACHE_BYTES` (pysteps optical flow costs ~0.1-1 s per window); beyond that
        (long records) each access computes it again, so memory does not grow with the record.
        The cache belongs to this copy of the dataset: once per window with ``num_workers=0``,
        once per window and DataLoader worker otherwise (each worker has its own copy, and a
        worker that is not persistent starts again each epoch).

        ``inputs`` are window ``i``'s raw input frames ``read(input_index[i])`` (T_in, C, H, W)
        on the whole grid when the caller has already read them; else they are read here.
        """
        cached = self._baselines.get(i)
        if cached is not None:
            return cached
        from gmgclim.data.advection import advected_baseline

        if inputs is None:
            inputs = self.read(self.windows.input_index[i])
        frames = advected_baseline(inputs, self.windows.output_steps, self.precipitation)
        if frames.nbytes * len(self) <= BASELINE_CACHE_BYTES:
            self._baselines[i] = frames
        return frames

    def read(self, positions: np.ndarray, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """Raw float32 values ``(len(positions), C, H, W)`` at increasing time positions.

        ``window`` (rows, columns) reads only that part of the grid.
        """
        indexer = (_as_indexer(np.asarray(positions)), *(window or (slice(None), slice(None))))
        if self._dask:
            import dask

            with dask.config.set(scheduler="synchronous"):
                parts = dask.compute(*[v[indexer].data for v in self._fields])
        else:
            parts = [v[indexer].values for v in self._fields]
        return np.stack([np.asarray(p, dtype=np.float32) for p in parts], axis=1)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range 0..{len(self) - 1}")
        t_in = self.windows.input_steps
        positions = np.concatenate([self.windows.input_index[i], self.windows.target_index[i]])
        window = self.crop_window(i)
        raw = self.read(positions, window)
        # the raw whole-grid inputs, for the extrapolation baseline (read(positions) reads the
        # same values as read(input_index) at the input positions)
        raw_inputs = raw[:t_in] if self.crop is None else None
        if self.transform != "none":
            raw = transform_forward(self.transform, raw)
        valid = np.isfinite(raw)  # +-inf is no data, like NaN
        values = ((raw - self._mean) * self._inv_std).astype(np.float32)
        if not valid.all():
            # inputs (and targets fed back by teacher forcing) get the fill; the mask keeps the
            # loss and validation away from filled targets
            values[~valid] = self.fill_nan
        out = {
            "inputs": torch.from_numpy(np.ascontiguousarray(values[:t_in])),
            "targets": torch.from_numpy(np.ascontiguousarray(values[t_in:])),
            "init_time": torch.tensor(
                self.windows.init_times[i].astype("datetime64[ns]").astype(np.int64)
            ),
        }
        if self.return_mask:
            out["mask"] = torch.from_numpy(np.ascontiguousarray(valid[t_in:]))
            out["input_mask"] = torch.from_numpy(np.ascontiguousarray(valid[:t_in]))
        if self.baseline == "diurnal":
            assert self.stats.diurnal is not None  # checked in __init__
            scale = self.diurnal_scale
            if scale is not None and self.crop is not None:
                scale = functools.partial(_scale_rows, scale, window[0])
            diurnal = self.stats.diurnal[(slice(None), slice(None), *window)]
            amplitude = None
            if self.diurnal_amplitude:  # the swing of this window's own input days
                observed = np.where(valid[:t_in], values[:t_in], np.nan)
                amplitude = input_amplitude(
                    diurnal,
                    self.stats.std,
                    observed[None],
                    self.windows.times[self.windows.input_index[i]][None],
                )
            change = diurnal_change(
                diurnal,
                self.stats.std,
                self.windows.init_times[i : i + 1],
                self.windows.times[self.windows.target_index[i]] - self.windows.init_times[i],
                scale,
                amplitude,
            )[0]
            out["baseline"] = torch.from_numpy(values[t_in - 1] + change)
        elif self.baseline != "none":
            base = self.baseline_frames(i, raw_inputs)[(slice(None), slice(None), *window)]
            if self.transform != "none":
                base = transform_forward(self.transform, base)
            base = ((base - self._mean) * self._inv_std).astype(np.float32)
            base[~np.isfinite(base)] = self.fill_nan
            out["baseline"] = torch.from_numpy(np.ascontiguousarray(base))
        if self.crop is not None:
            out["rows"] = torch.arange(*window[0].indices(self._fields[0].shape[1]))
        if self.context is not None:
            times = self.windows.times[positions]
            out["context"] = torch.from_numpy(self.context.fields(times, window))
        if self.augment == "dihedral":
            k = self.symmetry(i, square=values.shape[-2] == values.shape[-1])
            for key in _SPATIAL_KEYS:
                if key in out:
                    out[key] = dihedral(out[key], k)
        return out

    def symmetry(self, i: int, square: bool = True) -> int:
        """Which of :func:`dihedral`'s symmetries sample ``i`` gets in the current epoch."""
        rng = np.random.default_rng([self.seed, self.epoch, int(i), _AUGMENT_STREAM])
        k = int(rng.integers(0, 8))
        return k if square else 2 * (k // 2)  # half turns and flips keep the shape


def _scale_rows(
    scale: Callable[[np.ndarray], np.ndarray], rows: slice, times: np.ndarray
) -> np.ndarray:
    """The (M, h) diurnal scale of a crop's rows from the whole grid's (M, H)."""
    return scale(times)[:, rows]


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Symmetry ``k`` (0-7) of the square on the last two axes: ``k % 4`` quarter turns
    (counter-clockwise), then the rows flipped when ``k >= 4``; even ``k`` keep the shape."""
    out = torch.rot90(x, k % 4, dims=(-2, -1)) if k % 4 else x
    if k >= 4:
        out = torch.flip(out, dims=(-2,))
    return out.contiguous()
