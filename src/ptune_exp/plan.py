"""`plan(cfg) -> Plan`: the validated run. Every step after it (data, model, trainer, record) takes the
plan, never the raw config, and everything a plan can check without a model is checked here, so a typo
costs seconds, not a model load."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from ptune_exp.config import DataConfig, MethodConfig, ModelConfig, TrainConfig
from ptune_exp.distributed import agree_on
from ptune_exp.errors import PtuneError
from ptune_exp.methods import Method, get_method
from ptune_exp.tasks import TaskSpec, family_of, get_task


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
    config: dict = dataclasses.field(default_factory=dict, compare=False)  # as composed: recorded, never read

    @property
    def run_name(self) -> str:
        return f"{self.method.key}-{self.task.name}-{self.model.name}-s{self.seed}"

    def with_task(self, task: TaskSpec) -> Plan:
        return dataclasses.replace(self, task=task)


def plan(cfg: DictConfig) -> Plan:
    method = get_method(cfg.method.name)
    method_cfg = MethodConfig.from_cfg(cfg.method)
    method.validate(method_cfg)
    spec = get_task(cfg.task.name, cfg.task.get("source"))
    task = family_of(spec).configure(spec, cfg.task)
    data = DataConfig.from_cfg(cfg.task)
    if data.max_seq_len <= 2:
        raise PtuneError(f"task.max_seq_len={data.max_seq_len} is too short")
    if data.data_dir and not os.path.isdir(data.data_dir):
        raise PtuneError(f"task.data_dir={data.data_dir} is not a directory")
    return Plan(
        method=method,
        method_cfg=method_cfg,
        task=task,
        data=data,
        model=ModelConfig.from_cfg(cfg.model),
        train=TrainConfig.from_cfg(cfg.train),
        seed=cfg.seed,
        out_dir=agree_on(_output_dir(cfg)),  # under torchrun every rank uses rank 0's directory
        overwrite=bool(cfg.get("overwrite", False)),
        config=OmegaConf.to_container(cfg, resolve=True),
    )


def _output_dir(cfg: DictConfig) -> str:
    resume = cfg.train.get("resume")
    if isinstance(resume, str) and resume:  # continue a run in its own directory
        path = os.path.normpath(resume)
        return os.path.dirname(path) if os.path.basename(path).startswith("checkpoint-") else path
    if cfg.get("output_dir"):
        return str(cfg.output_dir)
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return HydraConfig.get().runtime.output_dir
    raise PtuneError("no output directory: set output_dir=DIR (the CLI sets it from Hydra's run dir)")
