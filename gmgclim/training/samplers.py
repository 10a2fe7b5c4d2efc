"""Samplers of the training loop: a resumable shuffled one for training, a plain shard for validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DistributedSampler, Sampler

__all__ = ["ResumableDistributedSampler", "ShardSampler"]


class ResumableDistributedSampler(DistributedSampler):
    """``DistributedSampler`` that can start part-way through an epoch (for exact resume).

    The order of an epoch is a function of (seed, epoch) only, so skipping the first ``start``
    samples of this rank's share reproduces what an uninterrupted run would draw next.
    """

    def __init__(self, dataset: Any, num_replicas: int, rank: int, shuffle: bool, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Draw the order of ``epoch`` and skip this rank's first ``start`` samples."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start


class ShardSampler(Sampler[int]):
    """Every ``world_size``-th sample from ``rank``, in order, without padding (validation).

    Parameters
    ----------
    n : int
        Samples in the dataset.
    rank, world_size : int
        This process and the number of processes.
    limit : int, optional
        At most this many samples for this rank.
    """

    def __init__(self, n: int, rank: int, world_size: int, limit: int | None = None):
        self.indices = list(range(rank, n, world_size))[:limit]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
