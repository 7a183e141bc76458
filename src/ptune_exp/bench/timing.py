"""Timing and peak memory for `ptune-exp-bench`: medians of synchronised steps, CUDA max allocated on a GPU,
peak resident set size on a Linux CPU (reset between cases via /proc/self/clear_refs)."""

from __future__ import annotations

import gc
import os
import statistics
import time

import torch


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_peak(device):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    elif os.path.exists("/proc/self/clear_refs"):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set size


def peak_gib(device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    try:
        with open("/proc/self/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
        return kb / 2**20
    except (OSError, StopIteration):
        return None


def timed(fn, steps: int, warmup: int, device) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def first_call_s(fn, device) -> float:
    """The first call of a compiled step: tracing and code generation (reported apart from step time)."""
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def profile_to(path: str, fn, steps: int = 3, rows: int = 30) -> None:
    """torch.profiler over `steps` calls of `fn` (already warm): the ops by self time, written to `path`, so
    a step time can be explained (matmuls forward and backward, attention, elementwise, optimizer)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            fn()
    key = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# {steps} steps\n" + prof.key_averages().table(sort_by=key, row_limit=rows) + "\n")
