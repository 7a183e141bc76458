"""Deep prompts on DeBERTa-v2/v3, whose disentangled attention never reaches the attention-function registry.

`install_deberta_prefix(model)` changes one loaded `DebertaV2Model` instance (never the class, never
another model) so that the `ptune_prefix` kwarg of `attention.py` works on it as on BERT:

- the model takes `ptune_prefix` (a `LayerPrefixes`) and exposes it to its layers for that forward only
  (a forward pre-hook sets a context variable, a forward hook clears it, also on error);
- each layer takes the prefix from that context *before* gradient checkpointing wraps the call, as an
  explicit keyword argument, so the recomputation in the backward pass sees the same prefix again;
- each attention module prepends its layer's prefix keys/values (`LayerPrefixes.extend`, which also
  pads the mask) and gives the prefix columns **zero relative-position bias**: the disentangled
  (c2p/p2c) terms are computed for the real tokens exactly as the stock module does and padded with
  zeros for the prefix columns (the reference implementation's behaviour). Prefix logits are
  q·k/√(d·scale_factor), scaled like every other content logit. Real tokens keep their positions.

Without a prefix (none passed) the stock forward runs unchanged; with a zero-length prefix the extra
columns are empty, so the output equals the stock model's bit for bit.
"""

from __future__ import annotations

from contextvars import ContextVar

import torch
from torch import nn
from transformers.models.deberta_v2.modeling_deberta_v2 import (
    DebertaV2Layer,
    DebertaV2Model,
    DisentangledSelfAttention,
    scaled_size_sqrt,
)

from ptune_exp.errors import PtuneError
from ptune_exp.injection.attention import PREFIX_KWARG, LayerPrefixes

# The prefixes of the forward (or checkpoint recomputation) now running; None outside one.
_ACTIVE: ContextVar[LayerPrefixes | None] = ContextVar("ptune_deberta_prefix", default=None)
_INSTALLED = "_ptune_deberta_prefix"


class PrefixDebertaV2Layer(DebertaV2Layer):
    """A DebertaV2Layer that carries the forward's prefixes as an argument of its own call."""

    def __call__(self, *args, **kwargs):
        # Runs before the checkpoint wrapper in `forward`, so the prefix is bound into the checkpointed call.
        kwargs.setdefault(PREFIX_KWARG, _ACTIVE.get())
        return super().__call__(*args, **kwargs)

    def forward(self, *args, **kwargs):
        token = _ACTIVE.set(kwargs.pop(PREFIX_KWARG, None))
        try:
            return super().forward(*args, **kwargs)
        finally:
            _ACTIVE.reset(token)


class PrefixDisentangledSelfAttention(DisentangledSelfAttention):
    """DeBERTa-v2 attention that prepends the active layer prefix, with zero relative bias for it."""

    def forward(
        self,
        hidden_states,
        attention_mask,
        output_attentions=False,
        query_states=None,
        relative_pos=None,
        rel_embeddings=None,
    ):
        prefixes = _ACTIVE.get()
        if prefixes is None:
            return super().forward(
                hidden_states,
                attention_mask,
                output_attentions,
                query_states=query_states,
                relative_pos=relative_pos,
                rel_embeddings=rel_embeddings,
            )
        if query_states is None:
            query_states = hidden_states
        heads = self.num_attention_heads
        query = self.transpose_for_scores(self.query_proj(query_states), heads)  # (batch*heads, n, d)
        key = self.transpose_for_scores(self.key_proj(hidden_states), heads)
        value = self.transpose_for_scores(self.value_proj(hidden_states), heads)
        scale_factor = 1 + ("c2p" in self.pos_att_type) + ("p2c" in self.pos_att_type)
        rel_att = None
        if self.relative_attention:  # the real tokens' disentangled bias, exactly as the stock module
            rel_att = self.disentangled_attention_bias(
                query, key, relative_pos, self.pos_dropout(rel_embeddings), scale_factor
            )
        key, value, mask = _extend(self, prefixes, key, value, attention_mask.bool())
        probs = self._probabilities(query, key, mask, rel_att, scale_factor)
        context = torch.bmm(probs.view(-1, probs.size(-2), probs.size(-1)), value)
        context = context.view(-1, heads, context.size(-2), context.size(-1)).permute(0, 2, 1, 3).contiguous()
        context = context.view(*context.size()[:-2], -1)
        return (context, probs if output_attentions else None)

    def _probabilities(self, query, key, mask, rel_att, scale_factor):
        """Softmax over [prefix | real] keys: content logits for all, the relative bias for real keys only."""
        scale = scaled_size_sqrt(query, scale_factor)
        scores = torch.bmm(query, key.transpose(-1, -2) / scale.to(dtype=query.dtype))
        if rel_att is not None:  # zero bias for the prefix columns
            scores = scores + nn.functional.pad(rel_att, (key.shape[1] - rel_att.shape[-1], 0))
        scores = scores.view(-1, self.num_attention_heads, scores.size(-2), scores.size(-1))
        scores = scores.masked_fill(~mask, torch.finfo(query.dtype).min)
        return self.dropout(nn.functional.softmax(scores, dim=-1))


def _extend(module, prefixes: LayerPrefixes, key, value, mask):
    """Prefix keys/values in front of DeBERTa's (batch*heads, n, d) layout; the bool mask gets 'attend' columns."""
    heads = module.num_attention_heads
    as_4d = lambda t: t.view(-1, heads, t.size(-2), t.size(-1))
    key, value, mask = prefixes.extend(module, as_4d(key), as_4d(value), mask)
    return key.reshape(-1, key.size(-2), key.size(-1)), value.reshape(-1, value.size(-2), value.size(-1)), mask


def _enter(model, args, kwargs):
    _ACTIVE.set(kwargs.pop(PREFIX_KWARG, None))
    return args, kwargs


def _leave(model, args, output):
    _ACTIVE.set(None)


def install_deberta_prefix(model: nn.Module) -> None:
    """Let this DeBERTa-v2/v3 model instance take `ptune_prefix`; idempotent. Other instances stay stock."""
    if getattr(model, _INSTALLED, False):
        return
    if not isinstance(model, DebertaV2Model):
        raise PtuneError(f"the DeBERTa-v2 prefix injection needs a DebertaV2Model, got {type(model).__name__}")
    for module in model.modules():
        if type(module) is DebertaV2Layer:
            module.__class__ = PrefixDebertaV2Layer
        elif type(module) is DisentangledSelfAttention:
            module.__class__ = PrefixDisentangledSelfAttention
    model.register_forward_pre_hook(_enter, with_kwargs=True)
    model.register_forward_hook(_leave, always_call=True)
    setattr(model, _INSTALLED, True)
