"""The resumable forecast zarr writer: store template, region writes, resume checks, progress.

Any forecast (a model's, an extrapolation nowcast's) is written the same way. First the store's
metadata (the full ``time`` coordinate, empty data arrays, chunked one init time per chunk with whole
fields) is written into a temporary directory that is renamed into place; then each batch of init
times is computed and written with region writes, and its init times are marked in the
``init_written`` coordinate (bool, ``time``). An interrupted forecast resumes and skips what is
written; a re-run of a finished one writes nothing; memory stays flat in the number of init times.
A store is resumed only by the same forecast: same variables, init and lead times, shapes, and
``forecast_fingerprint`` (model weights, or method and settings). Under ``torchrun``, rank 0 creates
the metadata and each rank computes every ``world_size``-th batch.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time as _time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM
from gmgclim.data.gridded import STORE_ZARR_FORMAT
from gmgclim.distributed import barrier, rank_and_world_size
from gmgclim.errors import DataError
from gmgclim.outputs import (
    STORE_ATTR,
    check_output_path,
    remove_stale_temporaries,
    store_marker,
    temporary_name,
)
from gmgclim.progress import InitTimeProgress

__all__ = [
    "FINGERPRINT_ATTR",
    "WRITTEN_COORD",
    "ForecastWriteReport",
    "batches_of",
    "check_output_store",
    "forecast_store_template",
    "stream_to_zarr",
]

#: Coordinate (bool, ``time``) marking the init times already written to a zarr store.
WRITTEN_COORD = "init_written"
#: Global attribute naming what fills the store; a resumed store must carry the same.
FINGERPRINT_ATTR = "forecast_fingerprint"


@dataclasses.dataclass(frozen=True)
class ForecastWriteReport:
    """What a forecast writer (:func:`stream_to_zarr`) did.

    Attributes
    ----------
    store : str
        The zarr store.
    n_init_times : int
        Init times in the store.
    n_written : int
        Init times this call (this rank) forecast and wrote.
    n_skipped : int
        Init times already written before this call (resumed).
    seconds : float
        Wall time of the forecast loop (excluding metadata creation).
    notes : tuple of str
        One-line notes for the user (e.g. how many NaN/inf input cells were filled).
    """

    store: str
    n_init_times: int
    n_written: int
    n_skipped: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def init_times_per_second(self) -> float:
        """Write throughput of this call, init times per second."""
        return self.n_written / self.seconds if self.seconds > 0 else float("nan")


def batches_of(rows: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Consecutive slices of ``rows`` (n,) of at most ``batch_size`` positions each."""
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


def forecast_store_template(skeleton: xr.Dataset, fingerprint: str) -> tuple[xr.Dataset, dict]:
    """Turn a forecast Dataset with dask-backed data into a zarr template plus its encoding.

    Parameters
    ----------
    skeleton : xr.Dataset
        The forecast layout with the full ``time`` coordinate; data variables with a ``time``
        dim are dask arrays (their values are never computed), see
        :func:`gmgclim.inference.layout.empty_forecast_array`.
    fingerprint : str
        Identifies what fills the store (model weights, method + settings); a resumed store must
        have the same.

    Returns
    -------
    template : xr.Dataset
        ``skeleton`` plus the ``init_written`` coordinate and fingerprint attribute.
    encoding : dict
        float32, NaN fill, chunks of one init time and whole fields.
    """
    import dask.array as dsa

    n = skeleton.sizes[INIT_DIM]
    encoding: dict[str, dict] = {}
    for name, var in skeleton.data_vars.items():
        if INIT_DIM not in var.dims:
            continue
        chunks = tuple(1 if d == INIT_DIM else var.sizes[d] for d in var.dims)
        encoding[str(name)] = {
            "chunks": chunks,
            "dtype": "float32",
            "_FillValue": np.float32("nan"),
        }
    template = skeleton.assign_coords(
        {
            WRITTEN_COORD: xr.Variable(
                INIT_DIM,
                dsa.zeros(n, dtype=bool, chunks=1),
                {"long_name": "init time written by gmgclim forecast (resume marker)"},
            )
        }
    )
    template.attrs[FINGERPRINT_ATTR] = fingerprint
    template.attrs[STORE_ATTR] = store_marker("forecast")
    encoding[WRITTEN_COORD] = {"chunks": (1,)}
    encoding[INIT_DIM] = {"units": "seconds since 1970-01-01", "dtype": "int64"}
    return template, encoding


# ----------------------------------------------------------------------------------------------
# The store: create, check, open
# ----------------------------------------------------------------------------------------------


def _is_local(store: str) -> bool:
    return "://" not in store


def _store_exists(store: str) -> bool:
    if _is_local(store):
        return (Path(store) / ".zgroup").exists() or (Path(store) / "zarr.json").exists()
    import fsspec

    mapper = fsspec.get_mapper(store)
    return ".zgroup" in mapper or "zarr.json" in mapper


def _create_store(template: xr.Dataset, encoding: dict, store: str) -> None:
    """Write metadata (and coords) only; into a temp dir renamed into place for local stores."""
    if not _is_local(store):
        template.to_zarr(
            store,
            mode="w",
            compute=False,
            encoding=encoding,
            zarr_format=STORE_ZARR_FORMAT,
            consolidated=True,
        )
        return
    target = Path(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target, uuid.uuid4().hex[:8])
    try:
        template.to_zarr(
            str(tmp),
            mode="w",
            compute=False,
            encoding=encoding,
            zarr_format=STORE_ZARR_FORMAT,
            consolidated=True,
        )
        if target.exists():
            # only a gmgclim forecast store or an empty directory gets here (check_output_store)
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_output_store(store: str | os.PathLike, resume: bool = True) -> bool:
    """Refuse a forecast output path that is not a gmgclim forecast store; drop stale temp dirs.

    Parameters
    ----------
    store : str or path-like
        Local directory or fsspec URL (URLs are not checked).
    resume : bool
        False when the caller will replace an existing store (only in the message).

    Returns
    -------
    bool
        True when ``store`` is an existing gmgclim forecast store.

    Raises
    ------
    OutputPathError
        ``store`` is a file, the current directory, a run directory or anything else gmgclim did
        not write as a forecast store.
    """
    ours = check_output_path(store, "forecast", "output", overwrite=not resume)
    remove_stale_temporaries(store)
    return ours


def _check_existing(existing: xr.Dataset, template: xr.Dataset, store: str) -> None:
    """Raise if a store to resume does not hold the same forecast as the template."""
    hint = "pass resume=False (CLI: --overwrite) to start the store again"

    def differ(what: str, have: Any, want: Any) -> DataError:
        return DataError(f"{store}: {what} differ from this forecast: {have} vs {want}", hint=hint)

    if set(existing.data_vars) != set(template.data_vars):
        raise differ("variables", sorted(existing.data_vars), sorted(template.data_vars))
    for coord in (INIT_DIM, LEAD_DIM):
        have, want = existing[coord].values, template[coord].values
        if have.shape != want.shape or not np.array_equal(have, want):
            raise differ(f"{coord} values", f"{have.size} values", f"{want.size} values")
    if WRITTEN_COORD not in existing.coords:
        raise DataError(f"{store} is not a gmgclim forecast store (no {WRITTEN_COORD})", hint=hint)
    for name, var in template.data_vars.items():
        if existing[name].shape != var.shape:
            raise differ(f"shapes of {name}", existing[name].shape, var.shape)
    have_print, want_print = existing.attrs.get(FINGERPRINT_ATTR), template.attrs[FINGERPRINT_ATTR]
    if have_print != want_print:
        raise differ("model or method (fingerprint)", have_print, want_print)


def _open_store(store: str) -> xr.Dataset:
    return xr.open_zarr(store, consolidated=True, decode_timedelta=True)


# ----------------------------------------------------------------------------------------------
# Region writes and progress
# ----------------------------------------------------------------------------------------------


def _contiguous_runs(rows: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Split sorted positions into runs (start, stop, positions-in-batch)."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    out = []
    for part in np.split(np.arange(len(rows)), breaks):
        out.append((int(rows[part[0]]), int(rows[part[-1]]) + 1, part))
    return out


class _RegionWriter:
    """Region writes of whole init-time chunks into a store made by :func:`_create_store`.

    Writes go straight to the zarr arrays (the same bytes ``to_zarr(region=...)`` writes: float32,
    no scale/offset, NaN fill) because the store's metadata never changes after creation; this
    avoids xarray re-reading the metadata on every call, which dominated small writes.
    """

    def __init__(self, template: xr.Dataset, store: str):
        import zarr

        group = zarr.open_group(store, mode="r+", zarr_format=STORE_ZARR_FORMAT)
        self.dims = {str(n): template[n].dims for n in template.data_vars}
        self.arrays: dict[str, zarr.Array] = {}
        for name in self.dims:
            array = group[name]
            assert isinstance(array, zarr.Array), f"{name} is not an array in the store"
            self.arrays[name] = array
        marker = group[WRITTEN_COORD]
        assert isinstance(marker, zarr.Array)
        self.marker = marker

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Write ``values`` ({variable: (len(rows), ...)}) at positions ``rows`` of ``time``."""
        runs = _contiguous_runs(rows)
        for name, value in values.items():
            if self.dims[name][0] != INIT_DIM:
                raise ValueError(
                    f"variable {name} does not lead with {INIT_DIM}: {self.dims[name]}"
                )
            array = self.arrays[name]
            for start, stop, part in runs:
                array[start:stop] = np.ascontiguousarray(value[part], dtype=np.float32)
        # the marker goes last: a crash between the two leaves the init time to be redone
        for start, stop, _ in runs:
            self.marker[start:stop] = np.ones(stop - start, dtype=bool)


# ----------------------------------------------------------------------------------------------
# The writer
# ----------------------------------------------------------------------------------------------


def stream_to_zarr(
    template: xr.Dataset,
    encoding: dict,
    store: str | os.PathLike,
    compute_batch: Callable[[np.ndarray], dict[str, np.ndarray]],
    batch_size: int = 8,
    resume: bool = True,
    progress: bool = True,
    description: str = "forecast",
) -> ForecastWriteReport:
    """Fill a forecast zarr store batch by batch with region writes, resumably.

    Parameters
    ----------
    template, encoding
        From :func:`forecast_store_template`.
    store : str or path-like
        Local directory or fsspec URL.
    compute_batch : callable
        ``compute_batch(rows)`` with ``rows`` (B,) positions along ``time`` returns
        ``{variable: float32 array (B, *other dims of the variable)}``.
    batch_size : int
        Init times per ``compute_batch`` call and region write.
    resume : bool
        Keep what an existing store of the same forecast holds (else start it again).
    progress : bool
        Progress bar on rank 0.
    description : str
        Progress bar label.

    Returns
    -------
    ForecastWriteReport
    """
    store = os.fspath(store)
    rank, world = rank_and_world_size()
    if rank == 0:
        ours = check_output_store(store, resume)
        if ours and _store_exists(store) and resume:
            _check_existing(_open_store(store), template, store)
        else:
            _create_store(template, encoding, store)
    barrier()
    written = _open_store(store)[WRITTEN_COORD].values.astype(bool)
    # every rank must split the same pending list: nobody writes before all have read it
    barrier()
    pending = np.flatnonzero(~written)
    batches = batches_of(pending, batch_size)[rank::world]
    n_mine = int(sum(len(b) for b in batches))
    bar = InitTimeProgress(
        f"{description} -> {Path(store).name}", progress and rank == 0, total=n_mine
    )
    writer = _RegionWriter(template, store)
    start = _time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # one write in flight while the next batch is computed: memory stays ~two batches
            in_flight: tuple[Future, int] | None = None
            for rows in batches:
                values = compute_batch(rows)
                if in_flight is not None:
                    in_flight[0].result()
                    bar.advance(in_flight[1])
                in_flight = (pool.submit(writer.write, rows, values), len(rows))
                del values
            if in_flight is not None:
                in_flight[0].result()
                bar.advance(in_flight[1])
    finally:
        bar.close()
    seconds = _time.perf_counter() - start
    barrier()
    return ForecastWriteReport(
        store=store,
        n_init_times=int(template.sizes[INIT_DIM]),
        n_written=n_mine,
        n_skipped=int(written.sum()),
        seconds=seconds,
    )
