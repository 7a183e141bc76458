"""`train.compile=true`: regional compilation of the backbone's repeated layers.

Each encoder layer's `forward` is compiled with `torch.compile` (the layers share one code object, so
the compiled graph is reused across layers: compile time is one layer's, not the model's). The prefix
attention (`injection/attention.py`) runs inside the compiled region. Two details keep it there:

- a forward pre-hook on each layer (outside the compiled region) hands the layer only its own prefix
  keys/values (`OneLayerPrefix`), so the graph reads no layer index (an int attribute would specialise
  the graph per layer and recompile 24 times on roberta-large);
- `OneLayerPrefix.extend` mutates nothing, which activation checkpointing inside the graph requires.

Shapes: the collators pad to a multiple of `BUCKET` tokens when they can (`bucket_collator`), so a run
sees a few sequence lengths; torch's automatic dynamic shapes make the second distinct shape compile
one shape-generic graph, after which no shape recompiles. DeBERTa-v2's own prefix injection reads the
prefix from a context variable that the compiler cannot follow, so compiling it is refused.
"""

from __future__ import annotations

import torch
from torch import nn

from ptune_exp.errors import PtuneError
from ptune_exp.injection.attention import LAYER_ATTR, PREFIX_KWARG, pad_mask
from ptune_exp.injection.deberta import PrefixDebertaV2Layer

BUCKET = 32  # sequence lengths are padded to a multiple of this when compiling
BACKEND = "inductor"  # torch.compile's default; the tests use "aot_eager" (same graphs, no C++ build)
RECOMPILE_LIMIT = 64  # graphs per layer code: train/eval x mask/no mask x first layer/others x shapes


class OneLayerPrefix:
    """One layer's prefix keys/values (1 or batch, kv_heads, P, head_dim), as the attention function takes it."""

    def __init__(self, key: torch.Tensor, value: torch.Tensor):
        self.key, self.value = key, value

    def extend(self, module, key, value, mask):
        batch, length = key.shape[0], self.key.shape[-2]
        k = self.key.to(key.dtype).expand(batch, -1, -1, -1)
        v = self.value.to(value.dtype).expand(batch, -1, -1, -1)
        return torch.cat([k, key], dim=2), torch.cat([v, value], dim=2), pad_mask(mask, length)


def repeated_layers(backbone: nn.Module) -> nn.ModuleList:
    """The longest list of same-typed modules in `backbone` (BERT's `encoder.layer`, ...)."""
    lists = [
        m for m in backbone.modules() if isinstance(m, nn.ModuleList) and len(m) > 0 and len({type(x) for x in m}) == 1
    ]
    if not lists:
        raise PtuneError(f"{type(backbone).__name__} has no repeated layers to compile; use train.compile=false")
    return max(lists, key=len)


def _layer_index(layer: nn.Module) -> int | None:
    """The prefix index of the attention module inside `layer` (tagged at build time), None without prefix."""
    tags = [getattr(m, LAYER_ATTR) for m in layer.modules() if hasattr(m, LAYER_ATTR)]
    if len(tags) > 1:
        raise PtuneError(
            f"{type(layer).__name__} holds {len(tags)} prefixed attention modules; use train.compile=false"
        )
    return tags[0] if tags else None


def _hand_own_prefix(index: int):
    def hook(module, args, kwargs):
        prefixes = kwargs.get(PREFIX_KWARG)
        if prefixes is not None and not isinstance(prefixes, OneLayerPrefix):
            kwargs[PREFIX_KWARG] = OneLayerPrefix(prefixes.keys[index], prefixes.values[index])
        return args, kwargs

    return hook


def compile_layers(backbone: nn.Module, backend: str | object | None = None) -> int:
    """Compile every repeated layer of `backbone` in place (state-dict names unchanged); returns how many."""
    layers = repeated_layers(backbone)
    if isinstance(layers[0], PrefixDebertaV2Layer):
        raise PtuneError(
            "train.compile=true: DeBERTa-v2's prefix injection passes the prefix through a context variable "
            "that torch.compile cannot trace; use train.compile=false (or method=fft/pt) on DeBERTa"
        )
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    for layer in layers:
        index = _layer_index(layer)
        if index is not None:
            layer.register_forward_pre_hook(_hand_own_prefix(index), with_kwargs=True)
        layer.forward = torch.compile(layer.forward, backend=backend or BACKEND)
    return len(layers)


def bucket_collator(collator, multiple: int = BUCKET):
    """Make `collator` pad to a multiple of `multiple` tokens where it (or its `.pad` collator) has
    transformers' `pad_to_multiple_of`; others keep their lengths (shapes then go dynamic once)."""
    for target in (collator, getattr(collator, "pad", None)):
        if hasattr(target, "pad_to_multiple_of"):
            target.pad_to_multiple_of = multiple
    return collator
