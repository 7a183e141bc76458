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

from ptune_exp.config.checks import checked
from ptune_exp.config.tasks import DataConfig, MultiConfig
from ptune_exp.errors import PtuneError
from ptune_exp.tasks.custom import is_custom, task_spec
from ptune_exp.tasks.families import family_of
from ptune_exp.tasks.spec import Split, TaskSpec, get_task

MULTI = "multi"


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
    """The multi-task spec and the run's data settings (the longest member length) from `task.*`,
    checked by its schema (config/tasks.py MultiConfig) and each member's by its own."""
    options = task_cfg if isinstance(task_cfg, MultiConfig) else checked(MultiConfig, task_cfg, "task", "of task=multi")
    shared = options.shared()
    members = tuple(_member(name, shared, options.members.get(name) or {}) for name in options.tasks)
    splits = {role: Split() for m in members for role in m.task.splits}
    how = (options.sampling, options.temperature)
    spec = MultiSpec(MULTI, MULTI, MULTI, ("mean",), "mean", splits, None, "default", members, *how)
    data = DataConfig(name=MULTI, max_seq_len=max(m.data.max_seq_len for m in members))
    return spec, data


def preset(name: str) -> dict:
    """`conf/task/<name>.yaml`'s own values (its schema's defaults come from the schema)."""
    path = files("ptune_exp.conf") / "task" / f"{name}.yaml"
    if not path.is_file():
        raise PtuneError(
            f"task.tasks: no task {name!r} (conf/task/{name}.yaml); see ptune-exp --help for the tasks, or "
            f"declare your own with task.members.{name}.data_files (docs/custom-data.md)"
        )
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(OmegaConf.load(str(path)))
    return {k: v for k, v in values.items() if k != "defaults"}


def _member(name: str, shared: dict, own: dict) -> Member:
    if is_custom(own) and not (files("ptune_exp.conf") / "task" / f"{name}.yaml").is_file():
        return _custom_member(name, shared, own)
    base = preset(name)
    spec = get_task(name, own.get("source", base.get("source")))
    family = family_of(spec)
    prefix = f"task.members.{name}"
    try:
        options = checked(family.schema(spec), {**base, **shared, **own, "name": name}, prefix, f"of task={name}")
        task, data = family.configure(spec, options), DataConfig.of(options)
    except PtuneError as e:  # a range or a family's check says `task.<key>`: name the member
        raise PtuneError(str(e) if str(e).startswith(prefix) else f"{prefix}: {e}") from None
    if data.data_dir and not os.path.isdir(data.data_dir):
        raise PtuneError(f"{prefix}.data_dir={data.data_dir} is not a directory")
    return Member(name, task, data, dataclasses.asdict(options))


def _custom_member(name: str, shared: dict, own: dict) -> Member:
    """A member declared in `task.members.<name>` as a task of the user's own (docs/custom-data.md)."""
    from omegaconf import OmegaConf

    merged = {**preset("custom"), **shared, **own, "name": name}
    try:
        task, data = task_spec(OmegaConf.create(merged)), DataConfig.from_cfg(merged)
    except PtuneError as e:
        raise PtuneError(f"task.members.{name}: {e}") from None
    return Member(name, task, data, merged)
