"""Which floating-point precision a run computes in: ``training.precision`` resolved on this machine.

``auto`` picks bf16 autocast where the hardware computes bf16 natively (CUDA GPUs with bf16
support; CPUs with AMX-BF16 or AVX512-BF16) and fp32 elsewhere: on a CPU without those
instructions bf16 convolutions fall back to a slow reference path and run several times slower
than fp32.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

__all__ = ["cpu_bf16_flags", "resolve_precision"]

#: /proc/cpuinfo flags of CPUs that compute bf16 matrix products natively.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def cpu_bf16_flags() -> tuple[str, ...]:
    """The native-bf16 flags of this CPU (``amx_bf16``, ``avx512_bf16``); () when none or unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: ask torch's own dispatch level instead
        capability = torch.backends.cpu.get_cpu_capability()
        return ("avx512_bf16",) if capability == "AVX512" and _mkldnn_bf16() else ()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return tuple(f for f in NATIVE_BF16_FLAGS if f in flags)
    return ()


def _mkldnn_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str, device: torch.device) -> tuple[str, str]:
    """The precision to compute in, and why.

    Parameters
    ----------
    requested : {"auto", "fp32", "bf16"}
        ``training.precision``.
    device : torch.device
        The training device.

    Returns
    -------
    precision : {"fp32", "bf16"}
    reason : str
        One line for the run log, e.g. ``"precision auto -> fp32: this CPU has no
        avx512_bf16/amx_bf16"``.
    """
    if requested != "auto":
        return requested, f"precision {requested}: as the recipe says"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", f"precision auto -> bf16: {torch.cuda.get_device_name(device)} has bf16"
        return "fp32", f"precision auto -> fp32: {torch.cuda.get_device_name(device)} lacks bf16"
    if device.type == "cpu":
        flags = cpu_bf16_flags()
        if flags:
            return "bf16", f"precision auto -> bf16: this CPU has {'/'.join(flags)}"
        return "fp32", "precision auto -> fp32: this CPU has no avx512_bf16/amx_bf16"
    return "fp32", f"precision auto -> fp32: no bf16 rule for device type {device.type!r}"
