"""The benchmark's backbones: named shapes with random weights, all-MiniLM-L6-v2 from its package (the digest its
preset pins), or a hub id / folder; and the presets of `conf/` read as plain YAML (no Hydra on a bare GPU box)."""

from __future__ import annotations

import copy
import os

import torch
import yaml

from ptune_exp.model.backbones import package_model_dir
from ptune_exp.model.dropout import set_dropout

# name -> (model_type, hidden, layers, heads, intermediate, vocab, max positions)
SHAPES = {
    "roberta-large-shape": ("roberta", 1024, 24, 16, 4096, 50265, 514),
    "roberta-base-shape": ("roberta", 768, 12, 12, 3072, 50265, 514),
    "bert-large-shape": ("bert", 1024, 24, 16, 4096, 28996, 512),
    "bert-base-shape": ("bert", 768, 12, 12, 3072, 28996, 512),
    "minilm-shape": ("bert", 384, 6, 12, 1536, 30522, 512),
    "tiny-shape": ("bert", 32, 2, 4, 64, 1000, 512),
}
CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")


def preset(group: str, name: str) -> dict:
    """`conf/<group>/<name>.yaml` as plain YAML (no Hydra here): the presets the runs use, not a copy."""
    with open(os.path.join(CONF, group, f"{name}.yaml"), encoding="utf-8") as f:
        return {k: v for k, v in yaml.safe_load(f).items() if k != "defaults"}


def minilm_dir() -> str:
    """all-MiniLM-L6-v2 from its PyPI package, checked against the digest `conf/model/minilm.yaml` pins."""
    model = preset("model", "minilm")
    return package_model_dir(model["package"], model["sha256"])


def load(model: str, attn: str, dropout: float | None = None):
    """The model (`dropout`: its hidden and attention dropout, None = its own); a named shape is built once
    per setting and copied (random init of a large shape takes seconds; the cached copy stays in CPU memory,
    so a CPU's peak-RSS column includes it)."""
    if model not in SHAPES:
        return _load(model, attn, dropout)
    if (model, attn, dropout) not in _LOADED:
        _LOADED[(model, attn, dropout)] = _load(model, attn, dropout)
    built, path = _LOADED[(model, attn, dropout)]
    return copy.deepcopy(built), path


_LOADED: dict[tuple[str, str], tuple] = {}


def _load(model: str, attn: str, dropout: float | None):
    from transformers import AutoConfig, AutoModel

    if model in SHAPES:
        kind, hidden, layers, heads, inter, vocab, positions = SHAPES[model]
        config = AutoConfig.for_model(
            kind,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=inter,
            vocab_size=vocab,
            max_position_embeddings=positions,
            **({"pad_token_id": 1} if kind == "roberta" else {}),
        )
        torch.manual_seed(0)
        return AutoModel.from_config(set_dropout(config, dropout, dropout), attn_implementation=attn), None
    path = minilm_dir() if model == "minilm" else model
    config = set_dropout(AutoConfig.from_pretrained(path, trust_remote_code=False), dropout, dropout)
    model = AutoModel.from_pretrained(
        path, config=config, attn_implementation=attn, use_safetensors=True, trust_remote_code=False
    )
    return model, path


def model_type(model: str) -> str:
    if model in SHAPES:
        return SHAPES[model][0]
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(minilm_dir() if model == "minilm" else model, trust_remote_code=False).model_type
