"""`task=multi`: one run over several member tasks (`task.tasks=[conll03,conll04,rte]`), one shared prompt
and one head per member. This module is the plan's side: the members' specs and data settings, checked
before anything loads, and the sampling rule (`multitask.py` trains and evaluates them).

Each member is configured as `task=<name>` would be (its `conf/task/<name>.yaml`), then the multi-task
config's shared `max_seq_len`/`max_train_samples`/`max_eval_samples` (when not null), then its own
`task.members.<name>.<key>` (e.g. `+task.members.conll03.data_dir=DIR`).

Sampling: each training batch comes from one member task, drawn with probability
p_i = n_i^(1/T) / sum_j n_j^(1/T), n_i the member's training features; `task.sampling=proportional` is
T = 1 (p_i proportional to n_i), `task.sampling=temperature` takes T = `task.temperature` (T > 1 gives
small tasks more batches than their share; T -> infinity: uniform).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from importlib.resources import files

from ptune_exp.config.schema import DataConfig, _container, check_name, nearest
from ptune_exp.errors import PtuneError
from ptune_exp.tasks.custom import task_spec
from ptune_exp.tasks.spec import Split, TaskSpec

MULTI = "multi"
SHARED = ("max_seq_len", "max_train_samples", "max_eval_samples")  # multi-level values every member takes
KEYS = {"name", "tasks", "members", "sampling", "temperature", *SHARED}
SAMPLING = ("proportional", "temperature")


@dataclass(frozen=True)
class Member:
    """One member task: its spec (its family's options applied) and data settings, shaped like a plan's
    `task`/`data` so that what reads a plan's data (provenance, digests, loading) reads a member's."""

    name: str
    task: TaskSpec
    data: DataConfig
    config: dict = dataclasses.field(default_factory=dict, compare=False)  # as `task.*` of a run of it alone


@dataclass(frozen=True)
class MultiSpec(TaskSpec):
    members: tuple[Member, ...] = ()
    sampling: str = "proportional"
    temperature: float = 1.0

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def exponent(self) -> float:
        """1/T of the sampling rule."""
        return 1.0 if self.sampling == "proportional" else 1.0 / self.temperature


def is_multi(spec) -> bool:
    return isinstance(spec, MultiSpec)


def probabilities(sizes: list[int], exponent: float) -> list[float]:
    """p_i = n_i^exponent / sum_j n_j^exponent (exponent = 1/T)."""
    weights = [n**exponent for n in sizes]
    return [w / sum(weights) for w in weights]


def configure_multi(task_cfg) -> tuple[MultiSpec, DataConfig]:
    """The multi-task spec and the run's data settings (the longest member length) from `task.*`."""
    cfg = _container(task_cfg)
    unknown = sorted(set(cfg) - KEYS)
    if unknown:
        near = nearest(unknown[0], KEYS)
        hint = f"did you mean task.{near}? " if near else ""
        raise PtuneError(
            f"task.{unknown[0]}: no such key of task=multi; {hint}a member's options go in "
            f"task.members.<task>.{unknown[0]}"
        )
    names = _names(cfg.get("tasks"))
    own = cfg.get("members") or {}
    strays = sorted(set(own) - set(names))
    if strays:
        raise PtuneError(f"task.members.{strays[0]}: not one of task.tasks={names}; add it there or drop it")
    sampling, temperature = cfg.get("sampling"), cfg.get("temperature")
    if sampling not in SAMPLING:
        raise PtuneError(f"task.sampling={sampling}: expected one of {', '.join(SAMPLING)}")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
        raise PtuneError(f"task.temperature={temperature}: expected a number > 0 (1 = proportional sampling)")
    shared = {k: cfg[k] for k in SHARED if cfg.get(k) is not None}
    members = tuple(_member(name, shared, own.get(name) or {}) for name in names)
    splits = {role: Split() for m in members for role in m.task.splits}
    spec = MultiSpec(MULTI, MULTI, MULTI, ("mean",), "mean", splits, None, "default", members, sampling, temperature)
    data = DataConfig(name=MULTI, max_seq_len=max(m.data.max_seq_len for m in members))
    return spec, data


def _names(tasks) -> list[str]:
    if not isinstance(tasks, list) or len(tasks) < 2 or not all(isinstance(t, str) for t in tasks):
        raise PtuneError(f"task.tasks={tasks}: expected a list of two or more task names, e.g. [conll03,conll04,rte]")
    for name in tasks:
        check_name("task.tasks", name)
    if len(set(tasks)) != len(tasks) or MULTI in tasks:
        raise PtuneError(f"task.tasks={tasks}: each member once, and never multi itself")
    return list(tasks)


def _member(name: str, shared: dict, own: dict) -> Member:
    path = files("ptune_exp.conf") / "task" / f"{name}.yaml"
    custom = not path.is_file() and ("data_files" in own or "hub_id" in own)  # declared in task.members.<name>
    if custom:
        path = files("ptune_exp.conf") / "task" / "custom.yaml"
    if not path.is_file():
        raise PtuneError(
            f"task.tasks: no task {name!r} (conf/task/{name}.yaml); see ptune-exp --help for the tasks, or "
            f"declare your own with task.members.{name}.data_files (docs/custom-data.md)"
        )
    from omegaconf import OmegaConf

    base = OmegaConf.to_container(OmegaConf.load(str(path)))
    allowed = set(base) | {f.name for f in dataclasses.fields(DataConfig)} | {"labels"}
    for key in own:
        if key not in allowed:
            near = nearest(key, allowed)
            hint = f"did you mean task.members.{name}.{near}?" if near else f"valid keys: {', '.join(sorted(allowed))}"
            raise PtuneError(f"task.members.{name}.{key}: no such key of task={name}; {hint}")
    merged = OmegaConf.create({**base, **shared, **own, "name": name})
    try:
        task, data = task_spec(merged), DataConfig.from_cfg(merged)
    except PtuneError as e:
        raise PtuneError(f"task.members.{name}: {e}") from None
    if data.data_dir and not os.path.isdir(data.data_dir):
        raise PtuneError(f"task.members.{name}.data_dir={data.data_dir} is not a directory")
    return Member(name, task, data, OmegaConf.to_container(merged))
