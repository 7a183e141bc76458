"""`CustomTaskConfig`: the `task.*` keys of a task declared by the user (`conf/task/custom.yaml`), checked.

A task config is a custom one when it has `data_files` or `hub_id` (keys no built-in task has). The
checks here need no data: a name that is not a built-in task's, a known family, data given one way
(files or a hub id), column and metric names that fit the family. The data's own checks are in
`read.py` and `rows.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ptune_exp.config.schema import check_name, nearest
from ptune_exp.errors import PtuneError

FAMILY_KEYS = ("classification", "tagging", "qa", "multiple_choice")
ROLES = ("train", "dev", "test")
FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "conll", "squad")
# metrics each family computes: every one may be asked for; the first is the default main metric
METRICS = {
    "classification": ("accuracy", "f1", "macro_f1", "mcc"),
    "regression": ("pearson", "spearman"),
    "tagging": ("f1", "precision", "recall"),
    "qa": ("exact_match", "f1"),
    "multiple_choice": ("accuracy",),
}
DEFAULT_METRICS = {
    "classification": ("accuracy",),
    "regression": ("pearson", "spearman"),
    "tagging": ("f1", "precision", "recall"),
    "qa": ("exact_match", "f1"),
    "multiple_choice": ("accuracy",),
}
DEFAULT_MAIN = {"qa": "f1"}  # else the first metric
FAMILY_OPTIONS = ("label_all_tokens", "doc_stride", "n_best", "max_answer_len", "max_question_len")


def is_custom(task_cfg) -> bool:
    """Whether a `task` config declares a task of the user's own (it names its data)."""
    return "data_files" in task_cfg or "hub_id" in task_cfg


@dataclass(frozen=True)
class CustomTaskConfig:
    name: str
    family: str = "classification"
    data_files: tuple[tuple[str, str], ...] = ()  # (role, path)
    format: str | None = None
    hub_id: str | None = None
    hub_config: str | None = None
    revision: str | None = None
    splits: tuple[tuple[str, str], ...] = (("train", "train"), ("dev", "validation"))
    dev_fraction: float | None = None
    text_fields: tuple[str, ...] | None = None
    label_field: str = "label"
    tokens_field: str | None = None
    tags_field: str | None = None
    question_field: str = "question"
    context_field: str = "context"
    answers_field: str = "answers"
    id_field: str | None = None
    choice_fields: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    main_metric: str | None = None
    stratify: bool = False
    max_train_samples: int | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The splits the task has: those given, and dev when it is carved from train."""
        given = dict(self.data_files or self.splits)
        return tuple(r for r in ROLES if r in given or (r == "dev" and self.dev_fraction))

    @classmethod
    def from_cfg(cls, task_cfg, need_data: bool = True) -> CustomTaskConfig:
        """The checked declaration; `need_data=False` for an export, whose data stayed behind."""
        cfg = _plain(task_cfg)
        name = cfg.get("name")
        if name in (None, "???", ""):
            raise PtuneError("task=custom needs task.name=NAME: the name its records, run folders and tables use")
        check_name("task.name", name)
        _not_builtin(name)
        family = _family(cfg.get("family"))
        files = _pairs(cfg.get("data_files"), "task.data_files")
        hub = cfg.get("hub_id")
        if need_data:
            _one_source(name, files, hub)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: cfg[k] for k in known if cfg.get(k) is not None and k not in ("data_files", "splits")}
        values |= {"name": name, "family": family, "data_files": files}
        if cfg.get("splits") is not None:
            values["splits"] = _pairs(cfg["splits"], "task.splits")
        for key in ("text_fields", "choice_fields", "labels", "metrics"):
            if key in values:
                values[key] = _names(values[key], f"task.{key}")
        task = cls(**values)
        task.check()
        if need_data:
            check_dev(task)
        return task

    def check(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise PtuneError(f"task.format={self.format}: choose one of {', '.join(FORMATS)} (or null: by extension)")
        if self.dev_fraction is not None and not 0 < self.dev_fraction < 1:
            raise PtuneError(f"task.dev_fraction={self.dev_fraction}: expected a share of train in (0, 1)")
        if self.dev_fraction and "dev" in dict(self.data_files):
            raise PtuneError("task.dev_fraction carves dev from train; drop it, or drop task.data_files.dev")
        if self.stratify and self.family != "classification":
            raise PtuneError(f"task.stratify keeps class shares; a {self.family} task has no classes")
        if self.family == "multiple_choice" and self.labels:
            raise PtuneError("task.labels: a multiple_choice label is the index of the right choice; drop task.labels")
        if self.family == "tagging" and self.stratify:
            raise PtuneError("task.stratify applies to classification")
        self.chosen_metrics(regression=False)

    def chosen_metrics(self, regression: bool) -> tuple[tuple[str, ...], str]:
        """(metrics, main metric): the declared ones, checked against what the family computes."""
        kind = "regression" if regression else self.family
        allowed = METRICS[kind]
        if self.family == "classification" and not regression and self.metrics:
            allowed = METRICS["classification"] + METRICS["regression"]  # checked again once labels are known
        metrics = self.metrics or DEFAULT_METRICS[kind]
        for metric in metrics:
            if metric not in allowed:
                near = nearest(metric, allowed)
                hint = f"did you mean {near}? " if near else ""
                raise PtuneError(
                    f"task.metrics: {metric!r} does not fit a {kind} task; {hint}choose from {', '.join(allowed)}"
                )
        main = self.main_metric or DEFAULT_MAIN.get(kind, metrics[0])
        if main not in metrics:
            raise PtuneError(f"task.main_metric={main}: expected one of task.metrics {list(metrics)}")
        return tuple(metrics), main


def _plain(task_cfg) -> dict:
    if isinstance(task_cfg, dict):
        return dict(task_cfg)
    from omegaconf import OmegaConf

    return OmegaConf.to_container(task_cfg, resolve=True)


def _not_builtin(name: str) -> None:
    from ptune_exp.tasks.spec import TASKS

    if name in {n for n, _ in TASKS} or name == "multi":
        raise PtuneError(
            f"task.name={name} is a built-in task's name; give your task a name of its own (e.g. my_{name}), "
            f"or use task={name} for the built-in one"
        )


def _family(family) -> str:
    if family not in FAMILY_KEYS:
        near = nearest(str(family), FAMILY_KEYS)
        hint = f"did you mean {near}? " if near else ""
        raise PtuneError(f"task.family={family}: {hint}choose one of {', '.join(FAMILY_KEYS)}")
    return family


def _pairs(value, key: str) -> tuple[tuple[str, str], ...]:
    """{train: x, dev: y} -> (("train", x), ("dev", y)), nulls left out, roles checked."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise PtuneError(f"{key}={value!r:.80}: expected {{train: ..., dev: ..., test: ...}}")
    for role in value:
        if role not in ROLES:
            raise PtuneError(f"{key}.{role}: no such split; the splits are train, dev and test")
    return tuple((role, str(value[role])) for role in ROLES if value.get(role) is not None)


def _names(value, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, bool)) for v in value):
        raise PtuneError(f"{key}={value!r:.80}: expected a list of names, e.g. [a,b]")
    return tuple(str(v) for v in value)


def _one_source(name: str, files: tuple, hub) -> None:
    if not files and hub is None:
        raise PtuneError(
            f"task={name} has no data: give task.data_files.train=FILE (and .dev, .test) or task.hub_id=ID "
            "(a dataset id, or a local folder laid out like a dataset repository)"
        )
    if files and hub is not None:
        raise PtuneError("give task.data_files or task.hub_id, not both")
    if files and "train" not in dict(files):
        raise PtuneError(f"task={name}: task.data_files has no train file; add task.data_files.train=FILE")


def check_dev(task: CustomTaskConfig) -> None:
    """Dev selects the weights: a task needs a dev split, given or carved."""
    if "dev" not in task.roles:
        given = "task.data_files.dev=FILE" if task.data_files else "task.splits.dev=SPLIT"
        raise PtuneError(f"task={task.name} has no dev split: give {given}, or task.dev_fraction=0.1 to carve one")
