"""`run(cfg) -> record`: validate, load data, build model, train with the HF Trainer, evaluate, record.

Everything that can be checked without a model is checked first (method/task/train settings, the
data files), so a typo costs seconds, not a model load. The record (`metrics.json`) is written when
the run starts (status `running`), and again when it ends (`completed`, `failed` with the error, or
`interrupted` with a checkpoint to resume from). A run refuses a directory that holds a completed
run (unless `overwrite=true`), so a failed run never replaces a good record.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import torch
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import save_file
from transformers import set_seed

from ptune_exp.backbones import load_backbone, model_type_of
from ptune_exp.distributed import agree_on, is_main, replica_digests
from ptune_exp.errors import PtuneError
from ptune_exp.methods import Method, MethodConfig, get_method
from ptune_exp.model import PromptedModel
from ptune_exp.records import RECORD, SCHEMA, git_commit, library_versions, write_record
from ptune_exp.support import check_support, load_implementation
from ptune_exp.tasks import TaskSpec, family_of, get_task
from ptune_exp.training import (
    GracefulStop,
    NanGuard,
    PromptTrainer,
    SelectOnDev,
    TrainConfig,
    latest_checkpoint,
    strip_prefix,
)

log = logging.getLogger("ptune_exp")
WEIGHTS = "trainable.safetensors"


@dataclass(frozen=True)
class Plan:
    """A validated run: everything decided before any model or data is loaded."""

    method: Method
    method_cfg: MethodConfig
    task: TaskSpec
    train: TrainConfig
    out_dir: str


def plan(cfg: DictConfig) -> Plan:
    method = get_method(cfg.method.name)
    method_cfg = MethodConfig.from_cfg(cfg.method)
    method.validate(method_cfg)
    task = get_task(cfg.task.name, cfg.task.get("source"))
    task = family_of(task).configure(task, cfg.task)
    if cfg.task.max_seq_len <= 2:
        raise PtuneError(f"task.max_seq_len={cfg.task.max_seq_len} is too short")
    data_dir = cfg.task.get("data_dir")
    if data_dir and not os.path.isdir(data_dir):
        raise PtuneError(f"task.data_dir={data_dir} is not a directory")
    attn = cfg.model.get("attn_implementation", "sdpa")
    if attn not in ("sdpa", "eager"):
        raise PtuneError(f"model.attn_implementation={attn!r}: choose sdpa or eager")
    return Plan(method, method_cfg, task, TrainConfig.from_cfg(cfg.train), output_dir(cfg))


def output_dir(cfg: DictConfig) -> str:
    """Where the run writes; under torchrun every rank uses rank 0's directory."""
    return agree_on(_output_dir(cfg))


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


def run(cfg: DictConfig, callbacks=()) -> dict:
    """Plan, build, train, evaluate and record one run; `callbacks` are extra TrainerCallbacks."""
    p = plan(cfg)
    checkpoint = _resume_checkpoint(cfg, p)
    started = time.time()
    record = _new_record(cfg, p)
    record["resumed_from"] = checkpoint
    _write(p.out_dir, record)
    try:
        record.update(train_and_evaluate(cfg, build(cfg, p, record), record, checkpoint, callbacks))
        record["status"] = "completed"
    except BaseException as e:  # Ctrl-C and errors alike: the record says so, then the error goes on
        record["status"] = "interrupted" if isinstance(e, Interrupted) else "failed"
        record["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        record["wall_time_s"] = round(time.time() - started, 2)
        record["finished_at"] = _now()
        _write(p.out_dir, record)
    if not p.train.keep_checkpoints and is_main():
        for folder in glob.glob(os.path.join(p.out_dir, "checkpoint-*")):
            shutil.rmtree(folder, ignore_errors=True)
    return record


def _write(out_dir: str, record: dict) -> None:
    if is_main():  # one record per run, whatever the number of processes
        write_record(out_dir, record)


class Interrupted(PtuneError):
    """SIGINT/SIGTERM stopped training after saving a checkpoint."""


def _resume_checkpoint(cfg: DictConfig, p: Plan) -> str | None:
    """The checkpoint to continue from (train.resume), after checking it belongs to this config;
    otherwise refuse to overwrite a completed run's record."""
    previous = os.path.join(p.out_dir, RECORD)
    old = None
    if os.path.isfile(previous):
        with open(previous, encoding="utf-8") as f:
            old = json.load(f)
    if not p.train.resume:
        if old and old.get("status") == "completed" and not cfg.get("overwrite", False):
            raise PtuneError(
                f"{p.out_dir} already holds a completed run; choose another output dir, "
                "or pass overwrite=true to replace it"
            )
        return None
    checkpoint = latest_checkpoint(p.out_dir)
    if checkpoint is None:
        raise PtuneError(
            f"train.resume: no checkpoint-* in {p.out_dir}. Pass train.resume=<run dir> of the "
            "interrupted run (or its checkpoint dir), or drop train.resume to start fresh."
        )
    if old is not None:
        keys = ("method", "task", "model", "seed", "method_config")
        new = {
            "method": p.method.key,
            "task": p.task.name,
            "model": cfg.model.name,
            "seed": cfg.seed,
            "method_config": dataclasses.asdict(p.method_cfg),
        }
        differ = [k for k in keys if old.get(k) != new[k]]
        if differ:
            raise PtuneError(
                f"train.resume: {checkpoint} was trained with different {differ} "
                f"({ {k: old.get(k) for k in differ} }); pass the same overrides as the interrupted run"
            )
    return checkpoint


@dataclass
class Experiment:
    """A built run: the model and tokenized data, ready to train."""

    plan: Plan
    model: PromptedModel
    tokenizer: object
    raw: dict  # role -> raw examples
    data: dict  # role -> tokenized features
    family: object


def load_raw(cfg: DictConfig, p: Plan) -> dict:
    """Every split the task has, as raw examples; unlabelled evaluation splits are dropped."""
    family = family_of(p.task)
    data_dir = cfg.task.get("data_dir")
    raw = {role: family.load_split(p.task, role, data_dir) for role in p.task.splits}
    return {
        role: _subset(split, cfg.task, role)
        for role, split in raw.items()
        if role == "train" or family.is_labelled(split)
    }


def build_model(cfg: DictConfig, p: Plan) -> tuple[PromptedModel, object]:
    """Backbone + the method's prompt + the family's head; returns the model and its tokenizer."""
    attn = cfg.model.get("attn_implementation", "sdpa")
    model_type = model_type_of(cfg.model)
    check_support(model_type, p.method.key, attn)  # a refused pair stops before any weights load
    backbone = load_backbone(cfg.model, load_implementation(model_type, p.method.key, attn))
    _check_length(cfg, p, backbone)
    prompt = p.method.build_prompt(p.method_cfg, backbone)
    head = family_of(p.task).make_head(p.task, backbone.hidden_size, p.method_cfg.head_dropout)
    model = PromptedModel(backbone.model, prompt, head, p.method.trains_backbone)
    if not p.method.trains_backbone and p.train.frozen_dtype() == torch.bfloat16:
        model.backbone.to(torch.bfloat16)  # no fp32 copy of weights nobody updates; autocast computes in bf16 anyway
    if p.train.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return model, backbone.tokenizer


def build(cfg: DictConfig, p: Plan, record: dict | None = None) -> Experiment:
    """Load data (first: bad files fail before any model loads), then the model; tokenize."""
    set_seed(cfg.seed)
    family = family_of(p.task)
    raw = load_raw(cfg, p)
    p = dataclasses.replace(p, task=family.fit(p.task, raw))
    model, tokenizer = build_model(cfg, p)
    data = {
        role: family.tokenize(split, p.task, tokenizer, cfg.task.max_seq_len, role == "train")
        for role, split in raw.items()
    }
    counts = model.parameter_counts()
    if record is not None:
        record["params"] = {**counts, "trainable_pct": round(100.0 * counts["trainable"] / counts["total"], 4)}
        record["data"] = {role: len(split) for role, split in data.items()}
        record["labels"] = list(getattr(p.task, "labels", ()) or ()) or None
    log.info(
        "%s on %s with %s: %d of %d parameters train (%.3f%%)",
        p.method.key,
        p.task.name,
        cfg.model.name,
        counts["trainable"],
        counts["total"],
        100.0 * counts["trainable"] / counts["total"],
    )
    return Experiment(p, model, tokenizer, raw, data, family)


def trainer_for(cfg: DictConfig, exp: Experiment, callbacks=()) -> PromptTrainer:
    p = exp.plan
    n_train = len(exp.data["train"]) if "train" in exp.data else 1
    return PromptTrainer(
        model=exp.model,
        args=p.train.arguments(p.out_dir, p.method_cfg.lr, cfg.seed, n_train, _run_name(cfg)),
        train_dataset=exp.data.get("train"),
        eval_dataset=exp.data.get("dev"),
        data_collator=exp.family.collator(exp.tokenizer),
        compute_metrics=exp.family.Scorer(p.task, exp.raw["dev"], exp.data["dev"]) if "dev" in exp.data else None,
        callbacks=list(callbacks),
    )


def evaluate_splits(exp: Experiment, trainer, out_dir: str | None, known: dict | None = None) -> dict:
    """Metrics of every labelled non-train split; predictions written into out_dir when given.
    `known` maps a split to (scores, scorer) already computed for the current weights."""
    p, result = exp.plan, {"test": None}
    for role in exp.data:
        if role == "train":
            continue
        if known and role in known:
            scores, scorer = known[role]
        else:
            trainer.compute_metrics = scorer = exp.family.Scorer(p.task, exp.raw[role], exp.data[role])
            scores = strip_prefix(trainer.evaluate(exp.data[role], metric_key_prefix=role), role)
        if out_dir is not None and is_main():
            path = exp.family.write_predictions(
                p.task, scorer.predictions, os.path.join(out_dir, f"predictions_{role}")
            )
            result.setdefault("predictions", {})[role] = os.path.basename(path)
        if role in ("dev", "test"):
            result[role] = scores
        else:
            result.setdefault("extra", {})[role] = scores
    return result


def train_and_evaluate(
    cfg: DictConfig, exp: Experiment, record: dict, checkpoint: str | None = None, callbacks=()
) -> dict:
    """Train with the HF Trainer, select on dev, evaluate every labelled split, save trainable weights."""
    p, model = exp.plan, exp.model
    selector = SelectOnDev(model, p.task.main_metric, p.train.select)
    if checkpoint:
        selector.load(checkpoint)
    record["curve"] = selector.curve  # the same list: a failure mid-run still records the curve so far
    with GracefulStop() as stop:
        trainer = trainer_for(cfg, exp, [selector, NanGuard(), stop, *callbacks])
        out = trainer.train(resume_from_checkpoint=checkpoint)
    if stop.signal is not None:
        raise Interrupted(
            f"stopped by signal {stop.signal} at step {trainer.state.global_step}; a checkpoint is in {p.out_dir}. "
            f"Continue with the same overrides plus train.resume={p.out_dir}"
        )
    trainer.remove_callback(selector)  # the evaluations below are reports, not selection
    dev_scorer = trainer.compute_metrics
    chosen = selector.restore()
    # the selected weights are those of the last dev evaluation: its scores and predictions stand
    last = chosen["step"] == selector.curve[-1]["step"] and getattr(dev_scorer, "predictions", None) is not None
    known = {"dev": (chosen["dev"], dev_scorer)} if last else None
    result = {
        "selection": {
            "split": "dev",
            "metric": p.task.main_metric,
            "strategy": p.train.select,
            "step": chosen["step"],
            "epoch": chosen["epoch"],
        },
        "train": {
            "steps": out.global_step,
            "loss": round(out.training_loss, 6),
            "runtime_s": round(out.metrics.get("train_runtime", 0.0), 2),
        },
        **evaluate_splits(exp, trainer, p.out_dir, known),
    }
    state = {n: t.contiguous() for n, t in model.trainable_state().items()}
    digests = replica_digests(state)
    result["replicas"] = {"world_size": len(digests), "weights_sha256": digests, "in_sync": len(set(digests)) == 1}
    if is_main():
        save_file(state, os.path.join(p.out_dir, WEIGHTS))
    result["weights"] = WEIGHTS
    return result


def _check_length(cfg: DictConfig, p: Plan, backbone) -> None:
    """pt's virtual tokens occupy positions; the whole sequence must fit the position embeddings."""
    limit = backbone.max_positions
    extra = p.method_cfg.prefix_len if p.method.prompt_site == "input" else 0
    if limit is not None and cfg.task.max_seq_len + extra > limit:
        raise PtuneError(
            f"task.max_seq_len={cfg.task.max_seq_len}"
            + (f" + method.prefix_len={extra}" if extra else "")
            + f" exceeds the {limit} positions of {cfg.model.name}; lower task.max_seq_len"
            + (" or method.prefix_len" if extra else "")
        )


def _subset(split, task_cfg: DictConfig, role: str):
    limit = task_cfg.get("max_train_samples") if role == "train" else task_cfg.get("max_eval_samples")
    if limit and limit < len(split):
        return split.shuffle(seed=0).select(range(limit))  # same subset for every seed and method
    return split


def _run_name(cfg: DictConfig) -> str:
    return f"{cfg.method.name}-{cfg.task.name}-{cfg.model.name}-s{cfg.seed}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _new_record(cfg: DictConfig, p: Plan) -> dict:
    return {
        "schema": SCHEMA,
        "status": "running",
        "error": None,
        "method": p.method.key,
        "method_title": p.method.title,
        "method_config": dataclasses.asdict(p.method_cfg),
        "table1": {
            "prompt_site": p.method.prompt_site,
            "deep": p.method.prompt_site == "every layer",
            "reparam": p.method_cfg.reparam,
            "no_verbalizer": True,
        },
        "task": p.task.name,
        "task_source": p.task.source,
        "benchmark": p.task.benchmark,
        "family": p.task.family,
        "metrics": list(p.task.metrics),
        "main_metric": p.task.main_metric,
        "model": cfg.model.name,
        "seed": cfg.seed,
        "output_dir": os.path.abspath(p.out_dir),
        "started_at": _now(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "versions": library_versions(),
        "git_commit": git_commit(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
