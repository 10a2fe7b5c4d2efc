"""Process setup outside torchrun, thread budgeting, and the resumable sampler."""

from __future__ import annotations

import torch

from gmgclim.distributed import (
    all_reduce_sum,
    available_cores,
    setup_distributed,
    threads_per_process,
)
from gmgclim.training.loop import ResumableDistributedSampler


def test_single_process_without_torchrun(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GMGCLIM_NUM_THREADS", "1")
    info = setup_distributed("cpu")
    assert (info.rank, info.world_size, info.distributed, info.is_main) == (0, 1, False, True)
    assert info.device == torch.device("cpu")
    assert torch.get_num_threads() == 1
    x = torch.tensor([2.0])
    assert all_reduce_sum(x).item() == 2.0  # no process group: unchanged


def test_threads_split_cores_between_local_processes(monkeypatch):
    monkeypatch.delenv("GMGCLIM_NUM_THREADS", raising=False)
    cores = available_cores()
    assert threads_per_process(1) == cores
    assert threads_per_process(2) == max(1, cores // 2)
    assert threads_per_process(4 * cores) == 1
    assert threads_per_process(2, requested=1) == 1
    monkeypatch.setenv("GMGCLIM_NUM_THREADS", "3")
    assert threads_per_process(2) == 3
    assert threads_per_process(2, requested=1) == 3


def test_sampler_resumes_mid_epoch():
    data = list(range(10))
    full = [list(ResumableDistributedSampler(data, 2, r, shuffle=True, seed=5)) for r in range(2)]
    for rank in range(2):
        sampler = ResumableDistributedSampler(data, 2, rank, shuffle=True, seed=5)
        sampler.set_position(epoch=0, start=2)
        assert list(sampler) == full[rank][2:]
        assert len(sampler) == 3
    # the order is a function of (seed, epoch): another epoch reshuffles
    sampler = ResumableDistributedSampler(data, 1, 0, shuffle=True, seed=5)
    sampler.set_position(epoch=1, start=0)
    epoch1 = list(sampler)
    sampler.set_position(epoch=0, start=0)
    assert sorted(epoch1) == data and epoch1 != list(sampler)
