"""`build(plan) -> Experiment`: the data (loaded first, so bad files fail before any model loads), the
model from the one builder, and the tokenized splits, ready to train."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from transformers import set_seed

from ptune_exp.artifacts.transfer import backbone_shape, load_prompt
from ptune_exp.config.schema import DataConfig
from ptune_exp.model.build import BuildOptions, build_model
from ptune_exp.model.compile import compile_layers
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.pipeline.plan import Plan
from ptune_exp.pipeline.trainer import frozen_dtype
from ptune_exp.runs.provenance import data_source, model_source
from ptune_exp.tasks.custom.spec import stratified
from ptune_exp.tasks.multi.family import family_for

log = logging.getLogger("ptune_exp")


@dataclass
class Experiment:
    """A built run: the model and tokenized data, ready to train."""

    plan: Plan
    model: PromptedModel
    tokenizer: object
    raw: dict  # role -> raw examples
    data: dict  # role -> tokenized features
    family: object
    transfer: dict | None = None  # the source of the prompt's start (method.init_from)

    def facts(self) -> dict:
        """What the record says about the built run: parameter counts, split sizes, labels, and where its
        data and backbone weights came from (called before training: the weights as loaded)."""
        counts = self.model.parameter_counts()
        p = self.plan
        return {
            "provenance": {"data": data_source(p), "model": model_source(p.model, self.model.backbone)},
            "params": {**counts, "trainable_pct": round(100.0 * counts["trainable"] / counts["total"], 4)},
            "data": {role: self.family.size(split) for role, split in self.data.items()},
            "labels": list(getattr(self.plan.task, "labels", ()) or ()) or None,
            "backbone": backbone_shape(self.model.backbone.config),
            "transfer": self.transfer,
            **self.family.facts(p.task, self.data),
        }


def load_raw(p: Plan) -> dict:
    """Every split the task has, as raw examples (a multi-task run's: dicts member -> examples)."""
    return family_for(p.task).load_raw(p.task, p.data, _subset)


def model_for(p: Plan) -> tuple[PromptedModel, object]:
    """The plan's backbone + prompt + head (the head's size may depend on labels fitted from the data)."""
    head = lambda hidden: family_for(p.task).make_head(p.task, hidden, p.method_cfg.head_dropout)
    options = BuildOptions(p.data.max_seq_len, frozen_dtype(p.train), p.train.gradient_checkpointing, p.model.name)
    model, tokenizer = build_model(p.model, p.method, p.method_cfg, head, options)
    if p.train.compile:
        log.info("train.compile: compiled %d encoder layers", compile_layers(model.backbone))
    return model, tokenizer


def build(p: Plan) -> Experiment:
    set_seed(p.seed)
    family = family_for(p.task)
    raw = load_raw(p)
    p = p.with_task(family.fit(p.task, raw))
    model, tokenizer = model_for(p)
    init = p.method_cfg.init_from
    transfer = load_prompt(model, p.method, p.method_cfg, init) if init else None
    data = {
        role: family.tokenize(split, p.task, tokenizer, p.data.max_seq_len, role == "train")
        for role, split in raw.items()
    }
    exp = Experiment(p, model, tokenizer, raw, data, family, transfer)
    params = exp.facts()["params"]
    log.info(
        "%s on %s with %s: %d of %d parameters train (%.3f%%)",
        p.method.key,
        p.task.name,
        p.model.name,
        params["trainable"],
        params["total"],
        params["trainable_pct"],
    )
    return exp


def _subset(split, role: str, data: DataConfig, spec):
    limit = data.max_train_samples if role == "train" else data.max_eval_samples
    if limit and limit < len(split):
        if role == "train" and getattr(getattr(spec, "reader", None), "task", None) and spec.reader.task.stratify:
            return split.select(stratified(split["label"], limit))  # each class keeps its share
        return split.shuffle(seed=0).select(range(limit))  # same subset for every seed and method
    return split
