"""What a run costs, `record["cost"]`: training step time and throughput, evaluation throughput, the run's
own peak memory, the bytes a task must store, and the device, measured while the run trains and evaluates.

- Step time: from `on_step_begin` (the batch is already loaded) to `on_step_end` (forward and backward of
  every micro-batch, clipping, optimizer step), synchronised on a GPU. The first `warmup_of(n)` steps of
  each segment (lazy set-up: optimizer state, kernels, compilation) are left out of the mean.
- Throughput: examples through the model's forward in the timed training steps per second of them; for
  evaluation, examples per second of the evaluation forwards (dev selection and the final evaluations;
  the task's scoring is not timed).
- Peak memory of this run alone. GPU: CUDA max allocated since the run's start, less what was allocated
  at its start (an earlier run's tensors in the same process). CPU: the peak of the bytes of the CPU
  tensor storages the run holds (the model's parameters and buffers, and every storage an operation
  creates while it trains and evaluates: activations, gradients, optimizer state, temporaries), each
  counted until it is freed (`LiveTensors`) — the CPU counterpart of CUDA max allocated, unmoved by
  other runs in the process, by allocator caching or by the interpreter's own memory. Not with
  `train.compile` on a CPU (`NOT_COUNTED`): the peak is null there.
- A resumed run: each segment (process) records its own sums in `segments[i]["cost"]`; the record's
  cost is their pooled means (all timed steps over all timed seconds) and the highest peak.
"""

from __future__ import annotations

import contextlib
import gc
import math
import platform
import time
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary
from transformers import TrainerCallback

KEYS = (
    "step_time_s",
    "train_examples_per_s",
    "eval_examples_per_s",
    "peak_memory_mb",
    "memory_kind",
    "stored_bytes",
    "device",
)
CUDA_KIND = "cuda_max_allocated"
CPU_KIND = "cpu_live_tensor_bytes"
# a Python dispatch mode turns torch.compile off (Dynamo skips every frame while one is on), and compiled
# code allocates out of its sight: with train.compile on a CPU the peak is not measured rather than wrong
NOT_COUNTED = "none (train.compile on a CPU)"
WARMUP_STEPS = 3
MB = 2**20


def warmup_of(steps: int) -> int:
    """Steps of a segment left out of its step time: the first 3, or half of a shorter segment (one step: none)."""
    return min(WARMUP_STEPS, steps // 2)


def device_name() -> str:
    """The GPU's name, or `cpu: <the CPU's model name>`."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    model = platform.processor() or platform.machine() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    return f"cpu: {model}"


class LiveTensors(TorchDispatchMode):
    """While on: the bytes of the CPU tensor storages held (`hold`) or created by an operation, each
    counted once (views share a storage) until it is freed, and the peak of their sum."""

    def __init__(self):
        super().__init__()
        self._sizes = WeakIdKeyDictionary()
        self._refs: dict[int, weakref.ref] = {}
        self.now = self.peak = 0

    def hold(self, tensors) -> None:
        for t in tensors:
            self._count(t)

    def _count(self, t: torch.Tensor) -> None:
        if t.device.type != "cpu" or t.is_sparse or t.is_quantized:
            return
        storage = t.untyped_storage()
        if storage in self._sizes:
            return
        n = storage.nbytes()
        self._sizes[storage] = n
        self.now += n
        self.peak = max(self.peak, self.now)
        key = id(storage)
        self._refs[key] = weakref.ref(storage, lambda _, n=n, key=key: self._freed(n, key))

    def _freed(self, n: int, key: int) -> None:
        self.now -= n
        self._refs.pop(key, None)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._count(t)
        return out


def _examples(args: tuple, kwargs: dict) -> int:
    """The batch size of a forward call: the first dimension of its first tensor input."""
    first = next((v for v in [*args, *kwargs.values()] if isinstance(v, torch.Tensor) and v.dim()), None)
    return int(first.shape[0]) if first is not None else 0


class Meter(TrainerCallback):
    """The cost of one segment of a run: made at the segment's start (a GPU's peak is reset there), on
    while it trains and evaluates (`watching`), timing each step as a Trainer callback. It keeps
    `segment["cost"]` current, so each checkpoint's run.json carries the segment's cost so far."""

    def __init__(self, segment: dict, count_tensors: bool = True):
        self.segment, self.cuda = segment, torch.cuda.is_available()
        self.count_tensors = count_tensors and not self.cuda  # False: train.compile (see NOT_COUNTED)
        self.steps: list[tuple[float, int]] = []  # (seconds, training examples) of each step
        self.eval_s, self.eval_examples, self.base, self.peak = 0.0, 0, 0, 0
        self.tensors: LiveTensors | None = None
        self._step: list | None = None
        self._eval: float | None = None
        if self.cuda:
            gc.collect()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    @contextlib.contextmanager
    def watching(self, model: torch.nn.Module):
        """Time the model's forwards, and on a CPU count its tensors, while the block runs."""
        hooks = [
            model.register_forward_pre_hook(self._before, with_kwargs=True),
            model.register_forward_hook(self._after, with_kwargs=True),
        ]
        mode = contextlib.nullcontext()
        if self.count_tensors:
            self.tensors = mode = LiveTensors()
            self.tensors.hold([*model.parameters(), *model.buffers()])
        try:
            with mode:
                yield self
        finally:
            for hook in hooks:
                hook.remove()
            self.update()

    def _before(self, module, args, kwargs):
        if module.training and self._step is not None:
            self._step[1] += _examples(args, kwargs)
        elif not module.training:
            self._sync()
            self._eval = time.perf_counter()

    def _after(self, module, args, kwargs, output):
        if not module.training and self._eval is not None:
            self._sync()
            self.eval_s += time.perf_counter() - self._eval
            self.eval_examples += _examples(args, kwargs)
            self._eval = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._sync()
        self._step = [time.perf_counter(), 0]

    def on_step_end(self, args, state, control, **kwargs):
        if self._step is None:
            return
        self._sync()
        self.steps.append((time.perf_counter() - self._step[0], self._step[1]))
        self._step = None
        self.update()

    def update(self) -> None:
        """Read the peak so far and write the segment's cost into `segment["cost"]`."""
        if self.cuda:
            self.peak = max(self.peak, torch.cuda.max_memory_allocated() - self.base)
        elif self.tensors is not None:
            self.peak = max(self.peak, self.tensors.peak)
        self.segment["cost"] = self.summary()

    def summary(self) -> dict:
        """This segment's sums (what `run_cost` pools over segments)."""
        timed = self.steps[warmup_of(len(self.steps)) :]
        return {
            "steps": len(timed),
            "step_s": round(sum(s for s, _ in timed), 6),
            "train_examples": sum(n for _, n in timed),
            "eval_s": round(self.eval_s, 6),
            "eval_examples": self.eval_examples,
            "peak_memory_mb": round(self.peak / MB, 3) if self.peak else None,
            "memory_kind": CUDA_KIND if self.cuda else CPU_KIND if self.count_tensors else NOT_COUNTED,
            "device": device_name(),
        }


def _ratio(num: float, den: float) -> float | None:
    value = num / den if den > 0 else None
    return round(value, 6) if value is not None and math.isfinite(value) and value > 0 else None


def _joined(parts: list[dict], key: str) -> str | None:
    values = list(dict.fromkeys(str(p[key]) for p in parts if p.get(key)))
    return " + ".join(values) if values else None


def run_cost(segments: list[dict], stored_bytes: int | None) -> dict:
    """`record["cost"]` of a run of one or more segments: pooled step time and throughputs (the timed steps
    and evaluations of every segment), the highest segment's peak, the stored bytes of the final weights.
    A run whose segments ran on different devices names them all (`a + b`). Unmeasured: None."""
    parts = [s["cost"] for s in segments if isinstance(s, dict) and isinstance(s.get("cost"), dict)]
    total = lambda key: sum(p.get(key) or 0 for p in parts)
    peaks = [p["peak_memory_mb"] for p in parts if p.get("peak_memory_mb")]
    return {
        "step_time_s": _ratio(total("step_s"), total("steps")),
        "train_examples_per_s": _ratio(total("train_examples"), total("step_s")),
        "eval_examples_per_s": _ratio(total("eval_examples"), total("eval_s")),
        "peak_memory_mb": max(peaks) if peaks else None,
        "memory_kind": _joined(parts, "memory_kind"),
        "stored_bytes": stored_bytes if stored_bytes else None,
        "device": _joined(parts, "device"),
    }
