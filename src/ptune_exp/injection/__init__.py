"""How a method's prompt reaches a backbone: the support table, the prefix attention functions, and
DeBERTa's own injection, behind one entry point.

`prepare(model_type, method, attn, load)` does both steps of wiring a backbone for a method:

1. before loading: refuse an unsupported (architecture, method, attention) triple with the reason, and
   choose the attention implementation to load with (`ptune_sdpa`/`ptune_eager` where the prefix goes
   through transformers' attention-function registry, the stock one otherwise);
2. after loading (deep prompts only): install the architecture's own injection where it needs one
   (DeBERTa-v2/v3), then probe the model once to tag every attention layer and read its prefix shape.

It returns the loaded backbone with `prefix_shapes` filled in ((kv_heads, head_dim) per layer, or None
for methods without a deep prompt). This package never imports `ptune_exp.methods`: a method enters
only through its `key` and `prompt_site`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from ptune_exp.injection.attention import PREFIX_KWARG, LayerPrefixes, attach_prefix_attention, prefix_implementation
from ptune_exp.injection.deberta import install_deberta_prefix
from ptune_exp.injection.support import (
    ARCHITECTURES,
    ATTENTION_FUNCTION,
    DEBERTA_INJECTION,
    check_support,
    paper_order,
    render_matrix,
    support,
)

__all__ = [
    "ARCHITECTURES",
    "PREFIX_KWARG",
    "LayerPrefixes",
    "check_support",
    "paper_order",
    "prepare",
    "render_matrix",
    "support",
]


def prepare(model_type: str, method, attn: str, load: Callable, methods: Iterable = ()):
    """Check support, load the backbone through `load(attn_implementation)`, and wire its prefix attention.

    `load` returns a backbone (a dataclass with `model` and `tokenizer`); the result is that backbone
    with `prefix_shapes` set. `methods` (all registered methods) only improves a refusal's message."""
    mechanism = check_support(model_type, method, attn, methods).mechanism
    backbone = load(prefix_implementation(attn) if mechanism == ATTENTION_FUNCTION else attn)
    if method.prompt_site != "every layer":
        return backbone
    if mechanism == DEBERTA_INJECTION:
        install_deberta_prefix(backbone.model)
    return dataclasses.replace(backbone, prefix_shapes=attach_prefix_attention(backbone.model))
