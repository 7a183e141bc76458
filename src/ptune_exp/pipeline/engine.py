"""Training and evaluation of a built experiment with the HF Trainer: dev selection, every labelled
split scored, predictions written next to the record, the trainable weights saved."""

from __future__ import annotations

import contextlib
import os

from safetensors.torch import save_file

from ptune_exp.artifacts.export import export_bytes
from ptune_exp.errors import PtuneError
from ptune_exp.model.compile import bucket_collator
from ptune_exp.pipeline.distributed import is_main, replica_digests
from ptune_exp.pipeline.experiment import Experiment
from ptune_exp.pipeline.multitrainer import MultiTrainer
from ptune_exp.pipeline.trainer import (
    NanGuard,
    PromptTrainer,
    SelectOnDev,
    arguments,
    epoch_decay,
    strip_prefix,
)
from ptune_exp.runs.callbacks import GracefulStop
from ptune_exp.runs.cost import Meter
from ptune_exp.storage.files import atomic_path
from ptune_exp.storage.weights import sha256_file
from ptune_exp.tasks.multi.family import MultiTask

WEIGHTS = "trainable.safetensors"


class Interrupted(PtuneError):
    """SIGINT/SIGTERM stopped the run (after saving a checkpoint, when it came during training)."""


TRAINERS = {MultiTask.key: MultiTrainer}  # a family whose runs need their own trainer; else PromptTrainer


def trainer_for(exp: Experiment, callbacks=()) -> PromptTrainer:
    p, train, family = exp.plan, exp.data.get("train"), exp.family
    n_train = 1 if train is None else family.epoch_examples(train, p.train.batch_size)
    dev = "dev" in exp.data
    collator = family.collator(exp.tokenizer)
    args = arguments(p.train, p.out_dir, p.method_cfg.lr, p.seed, n_train, p.run_name)
    return TRAINERS.get(family.key, PromptTrainer)(
        model=exp.model,
        args=args,
        train_dataset=train,
        eval_dataset=exp.data.get("dev"),
        data_collator=bucket_collator(collator) if p.train.compile else collator,
        compute_metrics=family.Scorer(p.task, exp.raw["dev"], exp.data["dev"]) if dev else None,
        callbacks=list(callbacks),
        lr_decay=epoch_decay(p.train, n_train),
        **family.trainer_options(p.task, train),
    )


def evaluate_splits(exp: Experiment, trainer, out_dir: str | None, known: dict | None = None) -> dict:
    """Metrics of every labelled non-train split; predictions written into out_dir when given.
    `known` maps a split to (scores, scorer) already computed for the current weights. A multi-task run's
    scores are `<member>/<metric>` and `mean`; `members` holds them per member."""
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
    return result | exp.family.scores(p.task, result)


def selector_for(exp: Experiment, checkpoint: str | None) -> SelectOnDev:
    """Dev selection for this run; when resuming, with the curve and best weights so far."""
    selector = SelectOnDev(exp.model, exp.plan.task.main_metric, exp.plan.train.select)
    if checkpoint:
        selector.load(checkpoint)
    return selector


def train_and_evaluate(
    exp: Experiment,
    selector: SelectOnDev,
    checkpoint: str | None = None,
    callbacks=(),
    stop: GracefulStop | None = None,
    meter: Meter | None = None,
) -> dict:
    """Train with the HF Trainer, select on dev, evaluate every labelled split, save trainable weights.
    `stop`: the run's signal handler (installed by the caller); without one, training installs its own.
    `meter`: what the run costs (runs/cost.py), measured while it trains and evaluates."""
    with meter.watching(exp.model) if meter else contextlib.nullcontext():
        result = _train_and_evaluate(exp, selector, checkpoint, [*([meter] if meter else []), *callbacks], stop)
    return result | save_weights(exp)


def _train_and_evaluate(exp: Experiment, selector: SelectOnDev, checkpoint, callbacks, stop) -> dict:
    p = exp.plan
    with contextlib.nullcontext(stop) if stop else GracefulStop() as stop:
        trainer = trainer_for(exp, [selector, NanGuard(), stop, *callbacks])
        stop.training = True
        try:
            out = trainer.train(resume_from_checkpoint=checkpoint)
        finally:
            stop.training = False
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
    selection = {"split": "dev", "metric": p.task.main_metric, "strategy": p.train.select}
    return {
        "selection": {**selection, "step": chosen["step"], "epoch": chosen["epoch"]},
        "train": {
            "steps": out.global_step,
            "loss": round(out.training_loss, 6),
            "runtime_s": round(out.metrics.get("train_runtime", 0.0), 2),
        },
        **evaluate_splits(exp, trainer, p.out_dir, known),
    }


def save_weights(exp: Experiment) -> dict:
    """Write the trainable weights (prompt, head; all weights for fft) once, with the file's sha256 (what
    eval and export verify), and say whether replicas agree."""
    state = {n: t.contiguous() for n, t in exp.model.trainable_state().items()}
    digests = replica_digests(state)
    sha256 = stored = None
    if is_main():
        path = os.path.join(exp.plan.out_dir, WEIGHTS)
        with atomic_path(path) as tmp:
            save_file(state, tmp)
        sha256 = sha256_file(path)
        stored = export_bytes(state, exp.plan.out_dir)
    replicas = {"world_size": len(digests), "weights_sha256": digests, "in_sync": len(set(digests)) == 1}
    return {"replicas": replicas, "weights": WEIGHTS, "weights_sha256": sha256, "cost": {"stored_bytes": stored}}
