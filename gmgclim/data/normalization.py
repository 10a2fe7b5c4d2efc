"""Per-channel normalisation statistics computed on the training split, with dask.

:func:`compute_stats` reduces each channel's ``(time, H, W)`` field over the training times in one
dask pass (``nanmean``/``nanstd`` in float64, so radar no-data and +-inf do not count); with a
``dask.distributed.Client`` the reduction runs on its cluster. :class:`NormalizationStats` travels in
checkpoints as a plain dict (:meth:`~NormalizationStats.to_dict`) and can be cached as JSON next to a
run (:func:`compute_or_load_stats`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.data.channels import select_channels
from gmgclim.errors import DataError, RecipeError

__all__ = ["NormalizationStats", "compute_or_load_stats", "compute_stats", "filled_input_lines"]


@dataclass
class NormalizationStats:
    """Mean and standard deviation per channel, in channel order.

    Attributes
    ----------
    channels : list of str
        Lexicon short names.
    mean, std : (C,) float64
        In each channel's units; ``std`` is the population standard deviation (ddof=0).
    climatology : (C, H, W) float64 or None
        Optional per-pixel mean over the same times (for anomaly correlation).
    diurnal : (24, C, H, W) float64 or None
        Optional per-pixel mean by UTC hour of day over the same times (NaN at hours without
        data): the climatological day-night cycle of ``data.residual: diurnal``
        (:mod:`gmgclim.data.diurnal`); it belongs to the grid it was computed on.
    meta : dict
        Provenance: time range, number of times, catalog entry.
    """

    channels: list[str]
    mean: np.ndarray
    std: np.ndarray
    climatology: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    diurnal: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64)
        self.std = np.asarray(self.std, dtype=np.float64)
        n = len(self.channels)
        if self.mean.shape != (n,) or self.std.shape != (n,):
            raise ValueError(f"mean/std must have shape ({n},) for channels {self.channels}")
        if np.any(~np.isfinite(self.std)) or np.any(self.std <= 0):
            bad = [c for c, s in zip(self.channels, self.std, strict=True) if not s > 0]
            raise ValueError(f"standard deviation must be positive and finite; bad channels {bad}")
        if self.climatology is not None:
            self.climatology = np.asarray(self.climatology, dtype=np.float64)
        if self.diurnal is not None:
            self.diurnal = np.asarray(self.diurnal, dtype=np.float64)
            if self.diurnal.ndim < 2 or self.diurnal.shape[:2] != (24, n):
                raise ValueError(
                    f"diurnal mean must have shape (24, {n}, *spatial), got {self.diurnal.shape}"
                )

    def _shape(self, ndim: int, channel_axis: int) -> tuple[int, ...]:
        shape = [1] * ndim
        shape[channel_axis] = len(self.channels)
        return tuple(shape)

    def normalize(self, x, channel_axis: int = -3):
        """``(x - mean) / std`` per channel.

        Parameters
        ----------
        x : np.ndarray or xr.DataArray
            numpy: channel axis ``channel_axis`` (default -3, i.e. ``(..., C, H, W)``);
            xarray: a ``channel`` dim whose labels are matched by name.

        Returns
        -------
        same type as ``x``; numpy float32 stays float32.
        """
        if isinstance(x, xr.DataArray):
            mean = xr.DataArray(self.mean, coords={"channel": self.channels}, dims="channel")
            std = xr.DataArray(self.std, coords={"channel": self.channels}, dims="channel")
            return ((x - mean.sel(channel=x["channel"])) / std.sel(channel=x["channel"])).astype(
                x.dtype
            )
        x = np.asarray(x)
        shape = self._shape(x.ndim, channel_axis)
        out = (x - self.mean.reshape(shape)) / self.std.reshape(shape)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)

    def denormalize(self, x, channel_axis: int = -3):
        """Inverse of :meth:`normalize`."""
        if isinstance(x, xr.DataArray):
            mean = xr.DataArray(self.mean, coords={"channel": self.channels}, dims="channel")
            std = xr.DataArray(self.std, coords={"channel": self.channels}, dims="channel")
            return (x * std.sel(channel=x["channel"]) + mean.sel(channel=x["channel"])).astype(
                x.dtype
            )
        x = np.asarray(x)
        shape = self._shape(x.ndim, channel_axis)
        out = x * self.std.reshape(shape) + self.mean.reshape(shape)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.float32, copy=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain python (lists, floats, str) for checkpoints and JSON."""
        d: dict[str, Any] = {
            "channels": list(self.channels),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "meta": dict(self.meta),
        }
        if self.climatology is not None:
            d["climatology"] = self.climatology.tolist()
        if self.diurnal is not None:  # NaN (hours without data) stays NaN in JSON and torch.save
            d["diurnal"] = self.diurnal.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NormalizationStats:
        """Inverse of :meth:`to_dict`."""
        unknown = set(d) - {"channels", "mean", "std", "meta", "climatology", "diurnal"}
        if unknown:
            raise ValueError(f"unknown normalisation keys {sorted(unknown)}")
        clim, diurnal = d.get("climatology"), d.get("diurnal")
        return cls(
            channels=list(d["channels"]),
            mean=np.asarray(d["mean"], np.float64),
            std=np.asarray(d["std"], np.float64),
            climatology=None if clim is None else np.asarray(clim, np.float64),
            meta=dict(d.get("meta", {})),
            diurnal=None if diurnal is None else np.asarray(diurnal, np.float64),
        )

    def save(self, path: str | Path) -> Path:
        """Write JSON atomically (temp file + ``os.replace``): a crash never leaves half a file."""
        import os

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> NormalizationStats:
        """Read JSON written by :meth:`save`."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"cannot read normalisation statistics {path} ({type(exc).__name__}: {exc}); "
                "expected the JSON written by gmgclim (channels, mean, std)",
                hint="delete the file to compute the statistics again, or point data.stats "
                "at a good one",
            ) from None


#: Plausible range of a channel's train-split mean, by CF units: catches degC labelled K, say.
PLAUSIBLE_MEAN_RANGE: dict[str, tuple[float, float]] = {"K": (150.0, 350.0)}


def check_physical_ranges(stats: NormalizationStats, source: str, skip: Sequence[str] = ()) -> None:
    """Raise if a channel's mean is impossible for its units (e.g. t2m in degC labelled K).

    Parameters
    ----------
    stats : NormalizationStats
        Per-channel mean in physical units.
    source : str
        The data (file or catalog entry) for the message.
    skip : sequence of str
        Channels whose fields were transformed before the statistics (not in physical units).

    Raises
    ------
    DataError
        One line naming the channel, its mean and units, the data, and the range expected.
    """
    from gmgclim.lexicon import resolve_channel

    for name, mean in zip(stats.channels, np.asarray(stats.mean, np.float64), strict=True):
        if name in skip:
            continue
        try:
            units = resolve_channel(name).units
        except (KeyError, ValueError):
            continue
        bounds = PLAUSIBLE_MEAN_RANGE.get(units)
        if bounds is None or not np.isfinite(mean):
            continue
        low, high = bounds
        if not low <= mean <= high:
            raise DataError(
                f"{source}: channel {name} has mean {mean:.4g} {units}, outside the plausible "
                f"{low:g}..{high:g} {units} (degC or another unit labelled {units}?)",
                hint=f"convert the data to {units} (e.g. add 273.15 to degC) or fix its units",
            )


def _time_sel(da: xr.DataArray, time_slice) -> xr.DataArray:
    if time_slice is None:
        return da
    sl = time_slice if isinstance(time_slice, slice) else slice(*time_slice)
    out = da.sel(time=sl)
    if out.sizes["time"] == 0:
        raise DataError(f"no data in the statistics time range {sl.start}..{sl.stop}")
    return out


def _train_fields(
    ds: xr.Dataset, channels: Sequence[str], time_slice: slice | tuple | None
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The channels over the period in float64, where they are finite, and them with +-inf -> NaN."""
    raw = _time_sel(select_channels(ds, channels), time_slice).astype(np.float64)
    # +-inf is no data, like NaN: it must neither poison the mean nor pass as a value
    finite = xr.apply_ufunc(np.isfinite, raw, dask="allowed")
    return raw, finite, raw.where(finite)


def _compute(todo: list[Any], client=None) -> Sequence[Any]:
    """Compute lazy arrays together: on ``client``'s cluster, else dask's local scheduler."""
    if client is not None:
        return client.gather(client.compute(todo))
    if any(hasattr(a, "dask") for a in todo):
        import dask

        return dask.compute(*todo)
    return todo


def _no_finite_values(
    ds: xr.Dataset, channels: Sequence[str], has_values: np.ndarray, times: np.ndarray
) -> None:
    """Raise the DataError of channels with no finite value in the statistics period, if any."""
    if np.all(has_values):
        return
    entry = ds.attrs.get("gmgclim_catalog_entry", "")
    bad = [c for c, ok in zip(channels, has_values, strict=True) if not ok]
    raise DataError(
        f"{f'catalog entry {entry!r}: ' if entry else ''}channels {bad} have no finite "
        f"values (all NaN or +-inf) in the statistics period {str(times[0])[:19]} .. "
        f"{str(times[-1])[:19]}",
        hint="check the data (gmgclim data check ENTRY) or move data.splits.train",
    )


def compute_stats(
    ds: xr.Dataset,
    channels: Sequence[str],
    time_slice: slice | tuple | None = None,
    client=None,
    climatology: bool = False,
    diurnal: bool = False,
) -> NormalizationStats:
    """Per-channel mean and std over the given times (the training split), NaN and +-inf ignored.

    The same pass counts each channel's non-finite (NaN or +-inf) cells: they are the input cells
    the window datasets fill with ``data.fill_nan``, reported by :func:`filled_input_lines` from
    ``meta["nonfinite_cells"]`` and ``meta["cells"]``.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset, numpy- or dask-backed.
    channels : sequence of str
        Lexicon short names, in tensor order.
    time_slice : slice or (start, end), optional
        Training period, inclusive labels.
    client : dask.distributed.Client, optional
        Run the reduction on this cluster instead of the local scheduler.
    climatology : bool
        Also compute the per-pixel mean ``(C, H, W)``.
    diurnal : bool
        Also compute the per-pixel mean by UTC hour of day ``(24, C, H, W)`` in the same pass
        (:func:`gmgclim.data.diurnal.diurnal_mean`).

    Returns
    -------
    NormalizationStats

    Raises
    ------
    DataError
        A channel has no finite value in the period (all NaN or +-inf).
    """
    raw, finite, fields = _train_fields(ds, channels, time_slice)
    spatial = raw.dims[2:]
    reduce_dims = ("time", *spatial)
    # shift by a first-frame mean so that E[(x-s)^2] - (E[x]-s)^2 keeps float64 precision even
    # for fields like geopotential (~5e4 m2 s-2 with small spread); one frame is cheap to read
    shift = np.nan_to_num(np.asarray(fields.isel(time=0).mean(spatial, skipna=True).values))
    shift_da = xr.DataArray(shift, dims="channel")
    mean = fields.mean(reduce_dims, skipna=True)
    sq = ((fields - shift_da) ** 2).mean(reduce_dims, skipna=True)
    todo = [mean.data, sq.data, (~finite).sum(reduce_dims).data]
    if climatology:
        todo.append(fields.mean("time", skipna=True).data)
    if diurnal:
        from gmgclim.data.diurnal import diurnal_mean

        todo.append(diurnal_mean(fields).data)
    results = _compute(todo, client)
    mean_v = np.asarray(results[0], np.float64)
    # E[x^2] - E[x]^2 in float64; clamp round-off below zero
    var = np.maximum(np.asarray(results[1], np.float64) - (mean_v - shift) ** 2, 0.0)
    times = np.asarray(fields["time"].values)
    entry = ds.attrs.get("gmgclim_catalog_entry", "")
    meta = {
        "time_start": str(times[0]),
        "time_end": str(times[-1]),
        "n_times": int(times.size),
        "catalog_entry": entry,
        "nonfinite_cells": [int(n) for n in np.asarray(results[2]).ravel()],
        "cells": int(np.prod([raw.sizes[d] for d in reduce_dims])),
    }
    _no_finite_values(ds, channels, np.isfinite(mean_v), times)
    return NormalizationStats(
        list(channels),
        mean_v,
        np.sqrt(var),
        climatology=np.asarray(results[3], np.float64) if climatology else None,
        meta=meta,
        diurnal=np.asarray(results[-1], np.float64) if diurnal else None,
    )


def filled_input_lines(stats: NormalizationStats, fill_nan: float = 0.0) -> list[str]:
    """One line per channel with NaN/+-inf cells in the statistics period (the train split).

    Those cells are filled with ``fill_nan`` (normalised units: 0 is the channel mean) where they
    are model inputs, and masked where they are targets of the loss; the lines say how many.

    Parameters
    ----------
    stats : NormalizationStats
        Computed by :func:`compute_stats` (``meta`` holds the counts; statistics read from an
        older file without them give no lines).
    fill_nan : float
        ``data.fill_nan``, named in the lines.

    Returns
    -------
    list of str
        E.g. ``"filled 1,024 NaN/inf input cells (3.12 %) in channel precip of the train split
        2019-03-01 .. 2019-03-02 with data.fill_nan 0 (the channel mean); as targets they are
        masked, never scored"``; empty when every cell is finite.
    """
    counts = stats.meta.get("nonfinite_cells")
    cells = int(stats.meta.get("cells") or 0)
    if not counts or cells <= 0 or len(counts) != len(stats.channels):
        return []
    period = f"{stats.meta.get('time_start', '?')[:19]} .. {stats.meta.get('time_end', '?')[:19]}"
    fill = f"{fill_nan:g}" + (" (the channel mean)" if fill_nan == 0 else " (normalised)")
    return [
        f"filled {int(n):,} NaN/inf input cells ({100.0 * n / cells:.2f} %) in channel {name} of "
        f"the train split {period} with data.fill_nan {fill}; as targets they are masked, "
        "never scored"
        for name, n in zip(stats.channels, counts, strict=True)
        if n
    ]


def _diurnal_stats(
    ds: xr.Dataset, channels: Sequence[str], time_slice: slice | tuple | None, client=None
) -> np.ndarray:
    """The diurnal mean alone, as ``compute_stats(..., diurnal=True).diurnal`` gives it.

    Raises
    ------
    DataError
        As :func:`compute_stats`: a channel has no finite value in the period (its diurnal mean
        is NaN at every hour and pixel).
    """
    from gmgclim.data.diurnal import diurnal_mean

    _, _, fields = _train_fields(ds, channels, time_slice)
    (result,) = _compute([diurnal_mean(fields).data], client)
    diurnal = np.asarray(result, np.float64)
    has_values = np.asarray(~np.isnan(diurnal).all(axis=(0, *range(2, diurnal.ndim))))
    _no_finite_values(ds, channels, has_values, np.asarray(fields["time"].values))
    return diurnal


def compute_or_load_stats(
    ds: xr.Dataset,
    channels: Sequence[str],
    time_slice: slice | tuple | None,
    cache_path: str | Path | None,
    client=None,
    climatology: bool = False,
    diurnal: bool = False,
    *,
    reuse: Sequence[str | Path] = (),
    write: bool = True,
    source: str = "statistics",
) -> NormalizationStats:
    """Read cached statistics when they match the channels and period, else compute and cache them.

    Parameters
    ----------
    ds, channels, time_slice, client, climatology, diurnal
        As in :func:`compute_stats`. A ``reuse`` file without the diurnal mean gets it computed
        (over ``time_slice``) and added in memory.
    cache_path : str or Path, optional
        JSON file, typically ``RUN_DIR/normalization.json``; reused only when its channels, period
        and climatology match, else recomputed and overwritten.
    reuse : sequence of str or Path
        JSON files taken as they are, checked before ``cache_path``, the first existing one wins:
        a recipe's ``data.stats`` and a run's own cache on resume (the training loop). Their
        period is not checked; their channels must equal ``channels``. Those that do not exist
        receive the computed statistics.
    write : bool
        Write computed statistics to ``reuse`` and ``cache_path`` (False on all but the main
        process of a distributed run).
    source : str
        Named in errors (the recipe file).

    Returns
    -------
    NormalizationStats
        Per-channel mean and std (C,) in physical units.

    Raises
    ------
    RecipeError
        A ``reuse`` file holds statistics of other channels.
    """
    for reuse_path in map(Path, reuse):
        if reuse_path.is_file():
            stats = NormalizationStats.load(reuse_path)
            if list(stats.channels) != list(channels):
                raise RecipeError(
                    f"{source}: statistics in {reuse_path} are for channels {list(stats.channels)}, "
                    f"not data.channels {list(channels)}"
                )
            if diurnal and stats.diurnal is None:
                stats.diurnal = _diurnal_stats(ds, channels, time_slice, client)
            return stats
    path = None if cache_path is None else Path(cache_path)
    if path is not None and path.is_file():
        sel = _time_sel(
            ds[["time"]].assign({"_": ("time", np.zeros(ds.sizes["time"]))})["_"], time_slice
        )
        times = np.asarray(sel["time"].values)
        cached = NormalizationStats.load(path)
        meta = cached.meta
        if (
            cached.channels == list(channels)
            and meta.get("time_start") == str(times[0])
            and meta.get("time_end") == str(times[-1])
            and meta.get("n_times") == int(times.size)
            and (cached.climatology is not None or not climatology)
            and (cached.diurnal is not None or not diurnal)
        ):
            return cached
    stats = compute_stats(
        ds, channels, time_slice, client=client, climatology=climatology, diurnal=diurnal
    )
    if write:
        for target in [*map(Path, reuse), *([path] if path is not None else [])]:
            stats.save(target)
    return stats
