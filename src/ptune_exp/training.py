"""The training engine: the HF Trainer, configured from `conf/train/*.yaml`, plus two callbacks:
dev-set model selection (keeping only the trainable weights of the selected step) and a NaN guard."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from omegaconf import DictConfig, OmegaConf
from transformers import TrainerCallback, TrainingArguments

from ptune_exp.errors import PtuneError, TrainingDiverged


@dataclass(frozen=True)
class TrainConfig:
    """The validated form of `conf/train/<name>.yaml` (`train.*` on the command line)."""

    epochs: float = 3
    max_steps: int = -1           # > 0 overrides epochs
    batch_size: int = 32
    eval_batch_size: int = 64
    grad_accum: int = 1
    lr_scheduler: str = "linear"
    warmup: float = 0.0           # steps, or a fraction of all steps when < 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: str = "auto"       # auto | fp32 | bf16 | fp16
    gradient_checkpointing: bool = False
    eval_steps: int | None = None  # default: once per epoch (and always at the last step)
    select: str = "best"          # best | last : which dev evaluation's weights are the result
    logging_steps: int = 20
    num_workers: int = 0
    report_to: str = "none"
    progress: bool = True

    @classmethod
    def from_cfg(cls, cfg: DictConfig) -> "TrainConfig":
        data = OmegaConf.to_container(cfg, resolve=True)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise PtuneError(f"unknown key(s) in the train config: {unknown}; valid keys: {sorted(names)}")
        t = cls(**data)
        checks = [
            (t.batch_size > 0 and t.eval_batch_size > 0, "train.batch_size and train.eval_batch_size must be > 0"),
            (t.max_steps > 0 or t.epochs > 0, "set train.epochs > 0 or train.max_steps > 0"),
            (t.grad_accum >= 1, "train.grad_accum must be >= 1"),
            (t.precision in ("auto", "fp32", "bf16", "fp16"), "train.precision must be auto, fp32, bf16 or fp16"),
            (t.select in ("best", "last"), "train.select must be best (best dev evaluation) or last"),
            (t.warmup >= 0 and t.weight_decay >= 0, "train.warmup and train.weight_decay must be >= 0"),
            (t.eval_steps is None or t.eval_steps > 0, "train.eval_steps must be > 0 (or null: once per epoch)"),
        ]
        for ok, message in checks:
            if not ok:
                raise PtuneError(message)
        return t

    def mixed_precision(self) -> tuple[bool, bool]:
        """(bf16, fp16) for this machine: auto = bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU."""
        cuda = torch.cuda.is_available()
        if self.precision in ("bf16", "fp16") and not cuda:
            raise PtuneError(f"train.precision={self.precision} needs a GPU; use train.precision=auto on a CPU")
        if self.precision == "auto":
            if not cuda:
                return False, False
            return (True, False) if torch.cuda.is_bf16_supported() else (False, True)
        return self.precision == "bf16", self.precision == "fp16"

    def steps_per_epoch(self, n_train: int) -> int:
        return max(1, math.ceil(n_train / self.batch_size) // self.grad_accum)

    def arguments(self, out_dir: str, lr: float, seed: int, n_train: int, run_name: str) -> TrainingArguments:
        bf16, fp16 = self.mixed_precision()
        eval_steps = self.eval_steps or self.steps_per_epoch(n_train)
        if self.max_steps > 0:
            eval_steps = min(eval_steps, self.max_steps)
        return TrainingArguments(
            output_dir=out_dir, run_name=run_name, seed=seed, learning_rate=lr,
            per_device_train_batch_size=self.batch_size, per_device_eval_batch_size=self.eval_batch_size,
            num_train_epochs=self.epochs, max_steps=self.max_steps, gradient_accumulation_steps=self.grad_accum,
            lr_scheduler_type=self.lr_scheduler, warmup_steps=self.warmup, weight_decay=self.weight_decay,
            max_grad_norm=self.max_grad_norm, bf16=bf16, fp16=fp16, use_cpu=not torch.cuda.is_available(),
            eval_strategy="steps", eval_steps=eval_steps, save_strategy="no",
            logging_strategy="steps", logging_steps=self.logging_steps, logging_nan_inf_filter=False,
            report_to=[] if self.report_to == "none" else [self.report_to], disable_tqdm=not self.progress,
            dataloader_num_workers=self.num_workers, remove_unused_columns=False, label_names=["labels"],
        )


_BOOKKEEPING = {"runtime", "samples_per_second", "steps_per_second", "loss"}


def strip_prefix(metrics: dict, prefix: str) -> dict:
    """The Trainer's `{prefix}_{name}` metrics as `{name: value}`, without timing and loss entries."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in metrics.items() if k.startswith(prefix + "_") and k[n:] not in _BOOKKEEPING}


class SelectOnDev(TrainerCallback):
    """Evaluate at every `eval_steps` and at the last step; keep the trainable weights of the best
    (or last) dev evaluation in memory, and the dev curve for the record."""

    def __init__(self, model, metric: str, strategy: str):
        self.model, self.metric, self.strategy = model, metric, strategy
        self.curve: list[dict] = []
        self.best_value: float | None = None
        self.best_point: dict | None = None
        self.best_state: dict | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = True

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        dev = strip_prefix(metrics or {}, "eval")
        point = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), "dev": dev}
        self.curve.append(point)
        value = dev.get(self.metric)
        if value is None:
            raise PtuneError(f"dev evaluation returned no {self.metric!r}: got {sorted(dev)}")
        if self.strategy == "last" or self.best_value is None or value > self.best_value:
            self.best_value, self.best_point = value, point
            self.best_state = {n: t.detach().to("cpu", copy=True) for n, t in self.model.trainable_state().items()}

    def restore(self) -> dict | None:
        """Load the selected weights back into the model; returns the selected curve point."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state, strict=False)
        return self.best_point


class NanGuard(TrainerCallback):
    """Stop at the first non-finite training loss instead of training on garbage."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrainingDiverged(
                f"training loss became {loss} at step {state.global_step}; lower method.lr, "
                "raise train.max_grad_norm clipping, or use train.precision=fp32"
            )
