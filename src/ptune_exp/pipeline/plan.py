"""`plan(cfg) -> Plan`: the validated run. Every step after it (data, model, trainer, record) takes the
plan, never the raw config, and everything a plan can check without a model is checked here, so a typo
costs seconds, not a model load."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ptune_exp.artifacts.transfer import check_source, read_source
from ptune_exp.config.checks import as_plain
from ptune_exp.config.names import model_name
from ptune_exp.config.schema import (
    DataConfig,
    MethodConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    nearest,
)
from ptune_exp.errors import PtuneError
from ptune_exp.methods import Method, get_method
from ptune_exp.model.build import task_for
from ptune_exp.pipeline.distributed import agree_on
from ptune_exp.runs.rundir import output_dir
from ptune_exp.tasks import TaskSpec
from ptune_exp.tasks.custom import task_spec
from ptune_exp.tasks.multi.spec import MULTI, configure_multi


@dataclass(frozen=True)
class Plan:
    """A validated run: everything decided before any model or data is loaded."""

    method: Method
    method_cfg: MethodConfig
    task: TaskSpec  # with the family's own `task.*` options applied
    data: DataConfig  # the task's run options: files, length, subsets
    model: ModelConfig
    train: TrainConfig
    seed: int
    out_dir: str
    overwrite: bool = False
    epochs_from: str = "train.epochs"  # or method.epochs: the method's recipe set the budget
    config: dict = dataclasses.field(default_factory=dict, compare=False)  # as composed: recorded, never read

    @property
    def run_name(self) -> str:
        return f"{self.method.key}-{self.task.name}-{self.model.name}-s{self.seed}"

    def with_task(self, task: TaskSpec) -> Plan:
        return dataclasses.replace(self, task=task)


class UnresolvedValue(PtuneError):
    """A config value that does not resolve to what its key needs (an interpolation, mostly)."""


def plan(cfg: DictConfig) -> Plan:
    """The checked plan of a composed config; a value that resolves wrong (an interpolation such as
    `method.lr=${oc.env:HOME}`) is a usage error, found before the run claims its directory."""
    try:
        return _plan(cfg)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or "the config"
        first = " ".join((str(e).strip().splitlines() or [type(e).__name__])[0].split())
        raise UnresolvedValue(f"{key}: {first}; give it a value of the type it needs") from None


def _plan(cfg: DictConfig) -> Plan:
    run = RunConfig.from_cfg(cfg)
    method = get_method(cfg.method.name)
    method_cfg = MethodConfig.from_cfg(cfg.method)
    method.validate(method_cfg)
    if method_cfg.init_from:  # read and checked now: a wrong source costs seconds, not a model load
        check_source(read_source(method_cfg.init_from), method, method_cfg)
    model = ModelConfig.from_cfg({**as_plain(cfg.model), "name": model_name(cfg.model, _given())})
    task, data = configure_multi(cfg.task) if cfg.task.get("name") == MULTI else _task(cfg.task)
    task = task_for(task, method, method_cfg)  # the head and the template's placement (docs/heads.md)
    if data.data_dir and not os.path.isdir(data.data_dir):
        raise PtuneError(f"task.data_dir={data.data_dir} is not a directory")
    p = Plan(
        method=method,
        method_cfg=method_cfg,
        task=task,
        data=data,
        model=model,
        train=budget(TrainConfig.from_cfg(cfg.train), method_cfg),
        epochs_from="method.epochs" if cfg.train.get("epochs") is None else "train.epochs",
        seed=run.seed,
        out_dir=agree_on(output_dir(cfg)),  # under torchrun every rank uses rank 0's directory
        overwrite=run.overwrite,
        config=_resolved(recorded(OmegaConf.to_container(cfg, resolve=True), method_cfg), task, model.name),
    )
    check_trainer_settings(p.train)
    check_writable(p.out_dir)  # last: a plan that fails earlier creates no folder
    return p


def _task(task_cfg) -> tuple[TaskSpec, DataConfig]:
    """The task's spec (a built-in task with its family's options applied, checked by its family's schema in
    config/tasks.py; or a custom task, its data read and checked) and its data settings."""
    return task_spec(task_cfg), DataConfig.from_cfg(task_cfg)


def _given() -> list[str]:
    """The command line's overrides (none outside the CLI)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _resolved(config: dict, task: TaskSpec, model_name: str) -> dict:
    """The names as resolved go into the record: the model's (config/names.py), and a custom task's columns
    as found in its data (an export reads inputs by them)."""
    config["model"] = {**config["model"], "name": model_name}
    resolved = getattr(task.reader, "resolved", None) or {}
    fields = {k: [f for f in v if f is not None] for k, v in resolved.items() if k in ("text_fields", "choice_fields")}
    if fields:
        config["task"] = {**config["task"], **fields}
    return config


def budget(train: TrainConfig, method_cfg: MethodConfig) -> TrainConfig:
    """The run's epochs: `train.epochs` when set (it applies to every method), else the method's recipe."""
    return train if train.epochs is not None else dataclasses.replace(train, epochs=method_cfg.epochs)


def recorded(config: dict, method_cfg: MethodConfig) -> dict:
    """The composed config as recorded: `train.epochs` holds the epochs the run trained for."""
    if config.get("train", {}).get("epochs") is None:
        config["train"] = {**config.get("train", {}), "epochs": method_cfg.epochs}
    return config


def check_trainer_settings(train: TrainConfig) -> None:
    """The names the HF Trainer would reject only once the model is loaded: scheduler, reporting integration."""
    from transformers.trainer_utils import SchedulerType

    _one_of("train.lr_scheduler", train.lr_scheduler, [*(s.value for s in SchedulerType), "exponential"])
    if train.report_to in ("none", "all"):
        return
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    _one_of("train.report_to", train.report_to, ["none", "all", *INTEGRATION_TO_CALLBACK])
    if train.report_to not in get_available_reporting_integrations():
        raise PtuneError(
            f"train.report_to={train.report_to}: {train.report_to} is not installed here; "
            f"install it (pip install {train.report_to}) or pass train.report_to=none"
        )


def _one_of(key: str, value: str, choices: list[str]) -> None:
    if value not in choices:
        near = nearest(value, choices)
        hint = f"did you mean {near}? " if near else ""
        raise PtuneError(f"{key}={value}: {hint}expected one of {', '.join(choices)}")


def check_writable(out_dir: str) -> None:
    """Create the run's output dir and write a scratch file there, before any data or model loads."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise PtuneError(
            f"output dir {out_dir}: cannot write there ({e.strerror or e}); pass output_dir=DIR "
            "(or hydra.run.dir=DIR / hydra.sweep.dir=DIR) naming a writable folder"
        ) from None
