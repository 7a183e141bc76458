"""The HF Trainer as this project configures it (`conf/train/*.yaml` -> TrainingArguments), the trainer subclass
that saves only trainable weights, and its callbacks: dev-set model selection and a NaN guard."""

from __future__ import annotations

import json
import math
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ptune_exp.config.schema import TrainConfig
from ptune_exp.errors import PtuneError, TrainingDiverged
from ptune_exp.storage.files import write_json


def mixed_precision(train: TrainConfig) -> tuple[bool, bool]:
    """(bf16, fp16) for this machine: auto = bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU.
    bf16 on a CPU is CPU autocast (fast where the CPU has AVX-512 BF16 or AMX)."""
    cuda = torch.cuda.is_available()
    if train.precision == "fp16" and not cuda:
        raise PtuneError("train.precision=fp16 needs a GPU; use train.precision=bf16 or fp32 on a CPU")
    if train.precision == "auto":
        if not cuda:
            return False, False
        return (True, False) if torch.cuda.is_bf16_supported() else (False, True)
    return train.precision == "bf16", train.precision == "fp16"


def frozen_dtype(train: TrainConfig) -> torch.dtype:
    """The dtype a frozen backbone is held in: bf16 only when training runs in bf16 autocast (or when asked)."""
    bf16 = mixed_precision(train)[0]
    if train.frozen_backbone_dtype == "bf16" and not bf16:
        raise PtuneError(
            "train.frozen_backbone_dtype=bf16 needs bf16 training (train.precision=bf16, or auto on a "
            "GPU that has it); use fp32 or auto"
        )
    wanted = train.frozen_backbone_dtype == "bf16" or (train.frozen_backbone_dtype == "auto" and bf16)
    return torch.bfloat16 if wanted else torch.float32


def steps_per_epoch(train: TrainConfig, n_train: int) -> int:
    return max(1, math.ceil(n_train / train.batch_size) // train.grad_accum)


def arguments(train: TrainConfig, out_dir: str, lr: float, seed: int, n_train: int, run_name: str) -> TrainingArguments:
    bf16, fp16 = mixed_precision(train)
    eval_steps = train.eval_steps or steps_per_epoch(train, n_train)
    if train.max_steps > 0:
        eval_steps = min(eval_steps, train.max_steps)
    save_steps = train.save_steps or eval_steps
    return TrainingArguments(
        output_dir=out_dir,
        run_name=run_name,
        seed=seed,
        learning_rate=lr,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.eval_batch_size,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        gradient_accumulation_steps=train.grad_accum,
        lr_scheduler_type="constant" if train.lr_scheduler == "exponential" else train.lr_scheduler,
        warmup_steps=train.warmup,
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        bf16=bf16,
        fp16=fp16,
        use_cpu=not torch.cuda.is_available(),
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=2,  # the newest may be cut short (a full disk): resume falls back to the other
        logging_strategy="steps",
        logging_steps=train.logging_steps,
        logging_nan_inf_filter=False,
        report_to=[] if train.report_to == "none" else [train.report_to],
        disable_tqdm=not train.progress,
        dataloader_num_workers=train.num_workers,
        remove_unused_columns=False,
        label_names=["labels"],
        ddp_find_unused_parameters=False,  # frozen weights are excluded from DDP; every prompt row is used
        fsdp=train.fsdp,
        deepspeed=train.deepspeed,
    )


_BOOKKEEPING = {"runtime", "samples_per_second", "steps_per_second", "loss", "model_preparation_time"}


def strip_prefix(metrics: dict, prefix: str) -> dict:
    """The Trainer's `{prefix}_{name}` metrics as `{name: value}`, without timing and loss entries."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in metrics.items() if k.startswith(prefix + "_") and k[n:] not in _BOOKKEEPING}


def inference_arguments(out_dir: str, batch_size: int = 64) -> TrainingArguments:
    """TrainingArguments for prediction only (no training, no evaluation schedule)."""
    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=out_dir,
        per_device_eval_batch_size=batch_size,
        report_to=[],
        use_cpu=not cuda,
        bf16_full_eval=cuda and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
        label_names=["labels"],
        save_strategy="no",
    )


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

    def on_save(self, args, state, control, **kwargs):
        """Put the selection state into the checkpoint, so a resumed run selects as if never stopped."""
        folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if not args.should_save or not os.path.isdir(folder):
            return
        saved = {"curve": self.curve, "best_value": self.best_value, "best_point": self.best_point}
        write_json(os.path.join(folder, "selection.json"), saved, indent=None)
        if self.best_state is not None:
            save_file(
                {n: t.contiguous() for n, t in self.best_state.items()}, os.path.join(folder, "selection.safetensors")
            )

    def load(self, checkpoint: str) -> None:
        path = os.path.join(checkpoint, "selection.json")
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        self.curve[:] = saved["curve"]
        self.best_value, self.best_point = saved["best_value"], saved["best_point"]
        weights = os.path.join(checkpoint, "selection.safetensors")
        self.best_state = load_file(weights) if os.path.isfile(weights) else None

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
                "keep gradient clipping on (train.max_grad_norm=1.0), or use train.precision=fp32"
            )


class EpochDecay:
    """`train.lr_scheduler=exponential`: the lr times gamma^(completed epochs), after the Trainer's linear
    warmup when one is set; the official NER/QA/SRL scripts decay by 0.95 per epoch. A class, not a
    lambda, so the scheduler's state (saved in checkpoints) can hold it."""

    def __init__(self, gamma: float, steps_per_epoch: int, warmup_steps: int = 0):
        self.gamma, self.steps_per_epoch, self.warmup_steps = gamma, steps_per_epoch, warmup_steps

    def __call__(self, step: int) -> float:
        ramp = step / self.warmup_steps if step < self.warmup_steps else 1.0
        return ramp * self.gamma ** (step // self.steps_per_epoch)


def epoch_decay(train: TrainConfig, n_train: int) -> EpochDecay | None:
    """The exponential schedule of a run, or None for the Trainer's own schedulers."""
    if train.lr_scheduler != "exponential":
        return None
    return EpochDecay(train.lr_gamma, steps_per_epoch(train, n_train))


class PromptTrainer(Trainer):
    """The HF Trainer, checkpointing only what trains: `model.safetensors` in a checkpoint holds the
    prompt/prefix (and MLP) and head, never a copy of a frozen backbone. Optimizer, scheduler, RNG and
    step are the Trainer's own files (loaded with `weights_only=True`). `lr_decay`: an `EpochDecay`
    schedule instead of the Trainer's `lr_scheduler_type`."""

    def __init__(self, *args, lr_decay: EpochDecay | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lr_decay = lr_decay

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_decay is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        self.lr_decay.warmup_steps = self.args.get_warmup_steps(num_training_steps)
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, self.lr_decay)
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if not self.args.should_save:
            return
        output_dir = output_dir or self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        model = self.accelerator.unwrap_model(self.model, keep_torch_compile=False)
        tensors = {n: t.contiguous() for n, t in model.trainable_state().items()}
        save_file(tensors, os.path.join(output_dir, "model.safetensors"), metadata={"format": "pt"})

    def _run_epoch(self, *args, **kwargs):
        """No step past the end: resumed from the final checkpoint (a run killed after it, before its
        record), the Trainer would otherwise train one step more than train.max_steps."""
        if self.state.max_steps > 0 and self.state.global_step >= self.state.max_steps:
            self.control.should_training_stop = True
            return None
        return super()._run_epoch(*args, **kwargs)

    def _issue_warnings_after_load(self, load_result) -> None:
        if load_result.unexpected_keys:  # missing keys are the frozen backbone, by design
            raise PtuneError(f"checkpoint holds weights this model does not have: {load_result.unexpected_keys[:5]}")
