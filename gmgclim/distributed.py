"""torchrun-aware process setup: ranks, devices, threads, and small collective helpers.

Outside torchrun everything runs as one process (rank 0 of 1) and the helpers are no-ops, so the
training loop and the forecast writer read the same either way. Training calls
:func:`setup_distributed` (device, threads and process group); inference only joins the group
(:func:`join_process_group`) and asks where it sits (:func:`rank_and_world_size`), leaving the
device and thread settings as the caller chose them. Under ``torchrun`` the process group is initialised from the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``): NCCL on CUDA, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "all_reduce_max",
    "all_reduce_sum",
    "available_cores",
    "barrier",
    "cleanup_distributed",
    "join_process_group",
    "rank_and_world_size",
    "setup_distributed",
    "threads_per_process",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes
    ----------
    rank, world_size : int
        Global rank and number of processes.
    local_rank, local_world_size : int
        Rank and number of processes on this node.
    device : torch.device
        ``cuda:<local_rank>`` or ``cpu``.
    distributed : bool
        True when a process group was initialised (torchrun with WORLD_SIZE > 1).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    distributed: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files and prints."""
        return self.rank == 0


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_process(local_world_size: int, requested: int | None = None) -> int:
    """Intra-op threads for one of ``local_world_size`` processes on this node.

    Processes on one node share its cores; oversubscribing them slows every process down (OpenMP
    threads spin while they wait), so each gets ``cores // local_world_size`` unless ``requested``
    (the recipe's ``training.threads_per_process``) says otherwise. The environment variable
    ``GMGCLIM_NUM_THREADS`` overrides both (e.g. on a machine shared with other jobs).
    """
    override = os.environ.get("GMGCLIM_NUM_THREADS")
    if override:
        return max(1, int(override))
    if requested is not None:
        return max(1, int(requested))
    return max(1, available_cores() // max(local_world_size, 1))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def setup_distributed(
    device: str = "auto", timeout_s: float = 1800.0, threads: int | None = None
) -> DistInfo:
    """Read the torchrun environment, pick the device, set threads and init the process group.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        ``auto`` uses CUDA when available.
    timeout_s : float
        Collective timeout for the process group.
    threads : int, optional
        Intra-op threads (see :func:`threads_per_process`).

    Returns
    -------
    DistInfo
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    local_world_size = _env_int("LOCAL_WORLD_SIZE", 1)
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but torch sees no CUDA device")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    torch.set_num_threads(threads_per_process(local_world_size, threads))
    distributed = world_size > 1
    join_process_group("nccl" if use_cuda else "gloo", timeout_s)
    return DistInfo(rank, world_size, local_rank, local_world_size, torch_device, distributed)


def join_process_group(backend: str | None = None, timeout_s: float | None = None) -> bool:
    """Join the torchrun process group if launched with ``WORLD_SIZE > 1`` and not joined yet.

    Reads ``RANK`` and ``WORLD_SIZE`` from the environment; sets no device and no threads.

    Parameters
    ----------
    backend : {"nccl", "gloo"}, optional
        Default: NCCL when CUDA is available, else gloo.
    timeout_s : float, optional
        Collective timeout in seconds (default: torch's).

    Returns
    -------
    bool
        True when this call initialised the group (the caller then destroys it, see
        :func:`cleanup_distributed`); False outside torchrun or when already joined.
    """
    if not dist.is_available() or dist.is_initialized() or _env_int("WORLD_SIZE", 1) <= 1:
        return False
    kwargs: dict[str, Any] = {} if timeout_s is None else {"timeout": timedelta(seconds=timeout_s)}
    dist.init_process_group(
        backend=backend or ("nccl" if torch.cuda.is_available() else "gloo"),
        rank=_env_int("RANK", 0),
        world_size=_env_int("WORLD_SIZE", 1),
        **kwargs,
    )
    return True


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of the joined process group, else ``(0, 1)``; creates no device."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def cleanup_distributed() -> None:
    """Destroy the process group if one is initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all processes, in place, and return it (no-op in one process)."""
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_max(tensor: torch.Tensor) -> torch.Tensor:
    """Maximum of ``tensor`` over all processes, in place, and return it."""
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor


def barrier() -> None:
    """Wait for every process (no-op in one process)."""
    if _active():
        dist.barrier()
