"""Deep prompts without a KV cache: an attention function that prepends each layer's prefix.

transformers routes every attention call through `ALL_ATTENTION_FUNCTIONS[config._attn_implementation]`
and passes the model's forward kwargs down to it. We register `ptune_sdpa` and `ptune_eager`: they
take the per-layer prefix keys/values from the `ptune_prefix` kwarg, prepend them to the layer's
keys/values, pad the mask with "attend" columns, and call the stock sdpa/eager function.

Compared with the `cache`/`past_key_values` route this has no per-forward mutation, survives gradient
checkpointing (the prefix rides along as a kwarg), and leaves position ids alone: **real tokens keep
their positions; the prefix has none** (it exists only as keys/values). That is the position policy
of `prefix` and `ptv2`.

Layer indices come from a probe forward at build time that tags each attention module in call
order, so the mechanism works for any architecture whose attention goes through the registry, and
refuses (rather than trains a no-op) any whose attention does not.
"""

from __future__ import annotations

import sys
from functools import cache

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, bidirectional_mask_function, eager_mask, sdpa_mask

from ptune_exp.errors import PtuneError

PREFIX_KWARG = "ptune_prefix"
LAYER_ATTR = "_ptune_layer"
BASE_IMPLEMENTATIONS = ("sdpa", "eager")


class LayerPrefixes:
    """The prefix keys/values of every layer for one forward pass, each (1, kv_heads, P, head_dim).

    Built once per step and broadcast over the batch with `expand` (no per-example copies). The mask
    padded for the prefix is memoised, so all layers share one padded mask.
    """

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor]):
        self.keys, self.values = keys, values
        self._mask_in: torch.Tensor | None = None
        self._mask_out: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return self.keys[0].shape[-2]

    def extend(self, module: nn.Module, key, value, mask):
        layer = getattr(module, LAYER_ATTR, None)
        if layer is None:
            raise RuntimeError(f"{type(module).__name__} was not tagged by attach_prefix_attention()")
        batch = key.shape[0]
        k = self.keys[layer].to(key.dtype).expand(batch, -1, -1, -1)
        v = self.values[layer].to(value.dtype).expand(batch, -1, -1, -1)
        return torch.cat([k, key], dim=2), torch.cat([v, value], dim=2), self._pad(mask)

    def _pad(self, mask):
        if mask is not None and mask is not self._mask_in:
            self._mask_in, self._mask_out = mask, pad_mask(mask, self.length)
        return None if mask is None else self._mask_out


def pad_mask(mask: torch.Tensor | None, length: int) -> torch.Tensor | None:
    """`mask` with `length` "attend" columns in front (for the prefix keys); None stays None (no padding in
    the batch: SDPA runs maskless, the prefix is always attended)."""
    if mask is None:
        return None
    shape = (*mask.shape[:-1], length)
    attend = mask.new_ones(shape) if mask.dtype == torch.bool else mask.new_zeros(shape)
    return torch.cat([attend, mask], dim=-1)


@cache
def _model_eager(module_type: type):
    """The architecture's own eager attention function (e.g. modeling_bert.eager_attention_forward)."""
    fn = getattr(sys.modules[module_type.__module__], "eager_attention_forward", None)
    if fn is None:
        raise PtuneError(f"{module_type.__name__} has no eager attention function; use model.attn_implementation=sdpa")
    return fn


def _with_prefix(base: str):
    def attention(module, query, key, value, attention_mask, **kwargs):
        prefixes = kwargs.pop(PREFIX_KWARG, None)
        if prefixes is not None:
            key, value, attention_mask = prefixes.extend(module, key, value, attention_mask)
        fn = sdpa_attention_forward if base == "sdpa" else _model_eager(type(module))
        return fn(module, query, key, value, attention_mask, **kwargs)

    attention.__name__ = f"ptune_{base}_attention"
    return attention


def prefix_implementation(base: str) -> str:
    """The registered name wrapping a stock implementation (`sdpa` -> `ptune_sdpa`)."""
    if base not in BASE_IMPLEMENTATIONS:
        raise PtuneError(f"model.attn_implementation={base!r}: deep prompts support {list(BASE_IMPLEMENTATIONS)}")
    return f"ptune_{base}"


def _padding_mask(stock, additive: bool):
    """The cheapest mask an encoder needs: None without padding, else (batch, 1, 1, keys), broadcast over
    heads and queries (the stock masks are (batch, 1, queries, keys)). Anything but a plain bidirectional
    padding mask goes to the stock function."""

    def mask(**kwargs):
        padding = kwargs.get("attention_mask")
        plain = (
            kwargs.get("mask_function") is bidirectional_mask_function
            and padding is not None
            and padding.dim() == 2
            and not kwargs.get("q_offset")
            and not kwargs.get("kv_offset")
            and padding.shape[-1] == kwargs["kv_length"]
        )
        if not plain:
            return stock(**kwargs)
        if kwargs.get("allow_is_bidirectional_skip") and bool(padding.all()):
            return None
        keep = padding[:, None, None, :].bool()
        if not additive:
            return keep
        dtype = kwargs.get("dtype", torch.float32)
        return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill(~keep, torch.finfo(dtype).min)

    return mask


for _base, _mask, _additive in (("sdpa", sdpa_mask, False), ("eager", eager_mask, True)):
    AttentionInterface.register(prefix_implementation(_base), _with_prefix(_base))
    AttentionMaskInterface.register(prefix_implementation(_base), _padding_mask(_mask, _additive))


class _Recorder(LayerPrefixes):
    """Stands in for real prefixes during the probe: notes which modules attend, changes nothing."""

    def __init__(self):
        super().__init__([], [])
        self.calls: list[tuple[nn.Module, int, int]] = []

    def extend(self, module, key, value, mask):
        self.calls.append((module, key.shape[1], key.shape[-1]))
        return key, value, mask


@torch.no_grad()
def attach_prefix_attention(model: nn.Module) -> list[tuple[int, int]]:
    """Tag the attention modules of `model` with their layer index; return (kv_heads, head_dim) per layer.

    Raises PtuneError when the architecture's attention does not reach the prefix mechanism, shares
    one attention module across layers, or ignores the prefix.
    """
    arch = type(model).__name__
    was_training = model.training
    model.eval()
    try:
        ids = torch.arange(4, 8, device=model.device).unsqueeze(0)  # any few ordinary token ids
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        recorder = _Recorder()
        plain = model(**batch, **{PREFIX_KWARG: recorder}).last_hidden_state
        modules = [m for m, _, _ in recorder.calls]
        if not modules:
            raise PtuneError(
                f"{arch} does not route attention through transformers' attention-function registry, "
                "so a deep prompt (prefix/ptv2) would be silently ignored. Use method=fft or method=pt, "
                "or another backbone (see README: support matrix)."
            )
        if len({id(m) for m in modules}) != len(modules):
            raise PtuneError(
                f"{arch} reuses one attention module across layers; per-layer prefixes are not supported there."
            )
        for i, m in enumerate(modules):
            setattr(m, LAYER_ATTR, i)
        shapes = [(h, d) for _, h, d in recorder.calls]
        dtype = plain.dtype
        keys = [torch.randn(1, h, 2, d, dtype=dtype, device=model.device) for h, d in shapes]
        values = [torch.randn(1, h, 2, d, dtype=dtype, device=model.device) for h, d in shapes]
        prompted = model(**batch, **{PREFIX_KWARG: LayerPrefixes(keys, values)}).last_hidden_state
        if torch.allclose(plain, prompted):
            raise PtuneError(f"{arch} ignores the prefix keys/values: a deep prompt would train a no-op here.")
        return shapes
    finally:
        model.train(was_training)
