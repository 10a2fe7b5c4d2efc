"""A map-style PyTorch dataset of normalised sample windows (the only data module importing torch).

Each ``__getitem__`` selects just its window's time steps from the lazy ``(time, channel, H, W)``
array (``.isel`` then ``.values``), so memory does not grow with the length of the record. The
lazy array holds no open file handle of its own: xarray's file manager reopens files in each
DataLoader worker process after fork/spawn, so the dataset is safe with ``num_workers > 0`` and with
``DistributedSampler`` (each rank reads only the windows it is given). Reads run on dask's
synchronous scheduler inside workers, avoiding nested thread pools.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from gmgclim.data.channels import select_channels
from gmgclim.data.normalization import NormalizationStats
from gmgclim.data.windows import WindowIndex

__all__ = ["WindowDataset", "select_channels"]


def _as_indexer(positions: np.ndarray) -> slice | np.ndarray:
    """A slice for evenly spaced increasing positions (cheap for dask), else the array."""
    if positions.size == 1:
        return slice(int(positions[0]), int(positions[0]) + 1)
    d = np.diff(positions)
    if d[0] > 0 and np.all(d == d[0]):
        return slice(int(positions[0]), int(positions[-1]) + 1, int(d[0]))
    return positions


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
        Value put where data are NaN, after normalisation (0 = the channel mean).
    return_mask : bool
        Also return ``mask`` (T_out, C, H, W) bool, True where the target is valid (radar coverage).

    Notes
    -----
    ``__getitem__(i)`` returns a dict: ``inputs`` (T_in, C, H, W) float32 normalised, ``targets``
    (T_out, C, H, W) float32 normalised, ``init_time`` int64 nanoseconds since 1970-01-01, and with
    ``return_mask`` ``mask`` (T_out, C, H, W) bool.
    """

    def __init__(
        self,
        ds: xr.Dataset,
        channels: Sequence[str],
        windows: WindowIndex,
        stats: NormalizationStats,
        fill_nan: float = 0.0,
        return_mask: bool = False,
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
        self.fields = select_channels(ds, channels).variable  # lazy Variable: cheap to pickle
        self._mean = stats.mean.astype(np.float32)[None, :, None, None]
        self._inv_std = (1.0 / stats.std).astype(np.float32)[None, :, None, None]

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def spatial_shape(self) -> tuple[int, int]:
        """(H, W)."""
        return tuple(self.fields.shape[2:])  # type: ignore[return-value]

    def read(self, positions: np.ndarray) -> np.ndarray:
        """Read ``(len(positions), C, H, W)`` raw float32 values at time positions (increasing)."""
        import dask

        block = self.fields[_as_indexer(np.asarray(positions))]
        with dask.config.set(scheduler="synchronous"):
            return np.asarray(block.values, dtype=np.float32)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range 0..{len(self) - 1}")
        t_in = self.windows.input_steps
        positions = np.concatenate([self.windows.input_index[i], self.windows.target_index[i]])
        raw = self.read(positions)
        valid = ~np.isnan(raw)
        values = (raw - self._mean) * self._inv_std
        if not valid.all():
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
        return out
