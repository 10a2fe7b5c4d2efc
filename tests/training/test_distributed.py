"""torchrun: 2 processes x batch b == 1 process x batch 2b, and a two-node launch over loopback."""

from __future__ import annotations

import subprocess

import pytest
import torch
from conftest import REPO, TORCHRUN, free_port, subprocess_env

from gmgclim.config import load_recipe
from gmgclim.training import load_checkpoint, train

pytestmark = pytest.mark.distributed

# Standard scheduled sampling, so the per-rank slices of the teacher-forcing masks are exercised.
SETTINGS = {
    "max_steps": 5,
    "checkpoint_every": 5,
    "validate_every": 5,
    "scheduled_sampling": {"kind": "standard", "eta_start": 1.0, "stop_step": 6},
}


def _assert_same_weights(a_dir, b_dir) -> None:
    a, b = load_checkpoint(a_dir).model_state, load_checkpoint(b_dir).model_state
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)


def _run(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture
def single_process_reference(tiny):
    """One process, batch 4: the run the distributed launches must reproduce."""
    return train(load_recipe(tiny("single", batch_size=4, **SETTINGS)), progress=False)


def test_two_processes_equal_one_with_double_batch(tiny, single_process_reference):
    recipe = tiny("ddp", batch_size=2, **SETTINGS)
    _run(
        [
            *TORCHRUN,
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "gmgclim",
            "train",
            str(recipe),
            "--no-progress",
        ]
    )
    run_dir = recipe.parent / "ddp"
    assert load_checkpoint(run_dir).train_state["world_size"] == 2
    assert load_checkpoint(run_dir).train_state["samples_seen"] == 20
    _assert_same_weights(single_process_reference, run_dir)


def test_two_nodes_over_loopback(tiny, single_process_reference):
    """Two `torchrun --nnodes=2` launches (one per node rank) on 127.0.0.1 train together."""
    recipe = tiny("nodes", batch_size=2, **SETTINGS)
    port = free_port()
    procs = [
        subprocess.Popen(
            [
                *TORCHRUN,
                "--nnodes=2",
                "--nproc_per_node=1",
                f"--node_rank={rank}",
                "--master_addr=127.0.0.1",
                f"--master_port={port}",
                "-m",
                "gmgclim",
                "train",
                str(recipe),
                "--no-progress",
            ],
            cwd=REPO,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-4000:]
    run_dir = recipe.parent / "nodes"
    assert load_checkpoint(run_dir).step == 5
    _assert_same_weights(single_process_reference, run_dir)
