"""Per-row prompts: one forward through a shared frozen backbone whose rows belong to different tasks.

Training gives a whole batch one prompt (`methods/prompts.py`). Here every row carries its own task's:

- deep prompts (`prefix`, `ptv2`): `RowPrefixes` holds each layer's prefix keys/values per row,
  (batch, kv_heads, P_max, head_dim), every row's prefix padded to the longest one in the batch, and
  `keep` (batch, P_max) marks the real prefix columns; the attention functions of `injection/` prepend
  them as usual (`LayerPrefixes.extend`), and the padded mask masks the padding columns out (a row
  without a deep prompt has all of its prefix columns masked);
- input prompts (`pt`): every row's prompt vectors go right after its first token, as `InputPrompt`
  puts them; rows with shorter (or no) prompts are padded at the end, so each row's real tokens keep
  the positions they have in a single-task forward. `strip` takes the virtual positions out again;
- template-placed prompts (`ptv1`; `pt` with a verbalizer): the row's own input ids, written through
  its task's template, hold the slot token (the pad token under an attention mask of 1) where its
  virtual tokens go; their word embeddings are replaced by the task's rows in order, as
  `TemplatePrompt` does. Nothing moves, so these rows mix with the others in the same forward.

Rows are grouped by task (each group contiguous); `RowPrompt` is one task's prompt, computed once at
load time (the export's weights do not change while serving).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ptune_exp.injection.attention import LAYER_ATTR, PREFIX_KWARG, LayerPrefixes


@dataclass(frozen=True)
class RowPrompt:
    """One task's prompt, ready to use: deep prefix keys/values (1, kv_heads, P, head_dim) per layer, or
    input prompt vectors (P, width) after the first token, or template-placed rows (P, width) at the
    input's `slot_id` positions, or none (a task without a prompt)."""

    deep: LayerPrefixes | None = None
    words: torch.Tensor | None = None
    slots: torch.Tensor | None = None
    slot_id: int = -1

    @classmethod
    @torch.no_grad()
    def of(cls, prompt) -> RowPrompt:
        """The prompt module of a loaded PromptedModel (DeepPrompt, InputPrompt or NoPrompt), in eval mode."""
        if hasattr(prompt, "layer_prefixes"):
            return cls(deep=prompt.layer_prefixes(1))
        if hasattr(prompt, "slot_id"):  # TemplatePrompt
            return cls(slots=prompt.encoder().detach(), slot_id=prompt.slot_id)
        if hasattr(prompt, "encoder"):
            return cls(words=prompt.encoder().detach())
        return cls()


class RowPrefixes(LayerPrefixes):
    """Prefix keys/values that differ from row to row, padded to the longest prefix (`keep`: real columns)."""

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor], keep: torch.Tensor):
        super().__init__(keys, values)
        self.keep = keep
        self._none_mask: dict[tuple[int, bool], torch.Tensor] = {}

    def extend(self, module, key, value, mask):
        layer = getattr(module, LAYER_ATTR, None)
        if layer is None:
            raise RuntimeError(f"{type(module).__name__} was not tagged by attach_prefix_attention()")
        k, v = self.keys[layer].to(key.dtype), self.values[layer].to(value.dtype)
        return torch.cat([k, key], dim=2), torch.cat([v, value], dim=2), self._row_mask(module, mask, key)

    def _row_mask(self, module, mask, key):
        """The mask with the prefix columns in front: `keep` for them, the stock mask (or 'attend') for the rest."""
        if mask is None:  # no padding among the real tokens; the prefix padding still needs a mask
            additive = "eager" in str(getattr(getattr(module, "config", None), "_attn_implementation", ""))
            cache_key = (key.shape[2], additive)
            if cache_key not in self._none_mask:
                attend = self.keep.new_ones(self.keep.shape[0], key.shape[2])
                keep = torch.cat([self.keep, attend], dim=1)[:, None, None, :]
                self._none_mask[cache_key] = _additive(keep, key.dtype) if additive else keep
            return self._none_mask[cache_key]
        if mask is not self._mask_in:
            cols = self.keep[:, None, None, :].expand(*mask.shape[:-1], self.keep.shape[1])
            cols = cols if mask.dtype == torch.bool else _additive(cols, mask.dtype)
            self._mask_in, self._mask_out = mask, torch.cat([cols, mask], dim=-1)
        return self._mask_out


def _additive(keep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill(~keep, torch.finfo(dtype).min)


def row_prefixes(prompts: list[RowPrompt], counts: list[int]) -> RowPrefixes | None:
    """The deep prefixes of a batch whose groups of `counts[i]` rows use `prompts[i]`; None if no group has one."""
    deep = [p.deep for p in prompts]
    lengths = [d.length if d is not None else 0 for d in deep]
    longest = max(lengths, default=0)
    if longest == 0:
        return None
    model = next(d for d in deep if d is not None)

    def rows(tensors: list[torch.Tensor], layer: int) -> torch.Tensor:
        shape = model.keys[layer].shape
        parts = []
        for d, tensor, n in zip(deep, tensors, counts):
            t = tensor[layer] if d is not None else model.keys[layer].new_zeros(1, shape[1], 0, shape[3])
            t = torch.nn.functional.pad(t, (0, 0, 0, longest - t.shape[2]))
            parts.append(t.expand(n, -1, -1, -1))
        return torch.cat(parts)

    layers = range(len(model.keys))
    keys = [rows([d.keys if d is not None else None for d in deep], i) for i in layers]
    values = [rows([d.values if d is not None else None for d in deep], i) for i in layers]
    columns = torch.arange(longest, device=model.keys[0].device)
    keep = torch.cat([(columns < p).expand(n, -1) for p, n in zip(lengths, counts)])
    return RowPrefixes(keys, values, keep)


def mixed_inputs(backbone, prompts: list[RowPrompt], counts: list[int], input_ids, attention_mask, token_type_ids):
    """The backbone's inputs for a batch of groups (`counts[i]` rows using `prompts[i]`), and the index
    that `strip` needs (None when no row has an input prompt)."""
    inputs, index = _input_prompts(backbone, prompts, counts, input_ids, attention_mask, token_type_ids)
    prefixes = row_prefixes(prompts, counts)
    if prefixes is not None:
        inputs[PREFIX_KWARG] = prefixes
    return inputs, index


def _input_prompts(backbone, prompts, counts, input_ids, attention_mask, token_type_ids):
    plain = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        plain["token_type_ids"] = token_type_ids
    lengths = [p.words.shape[0] if p.words is not None else 0 for p in prompts]
    longest = max(lengths, default=0)
    templated = any(p.slots is not None for p in prompts)
    if longest == 0 and not templated:
        return plain, None
    words = backbone.get_input_embeddings()(input_ids)
    if templated:
        words = _fill_slots(words, prompts, counts, input_ids, attention_mask)
    if longest == 0:
        return {**{k: v for k, v in plain.items() if k != "input_ids"}, "inputs_embeds": words}, None
    batch, length = input_ids.shape
    shift = torch.cat([torch.full((n,), p, device=words.device) for p, n in zip(lengths, counts)])
    positions = torch.arange(length, device=words.device).expand(batch, -1)
    index = positions + shift[:, None] * (positions > 0)  # where each real token goes: after the row's prompt
    # as long as the longest row with its prompt (never more positions than some row needs); padding
    # tokens go to one extra column that is cut off
    total = int((attention_mask.sum(1) + shift).max())
    target = torch.where(attention_mask.bool(), index, total)
    embeds, mask = _place(words, target, total), _place(attention_mask, target, total)
    start = 0
    for prompt, n in zip(prompts, counts):
        if prompt.words is not None:
            embeds[start : start + n, 1 : 1 + prompt.words.shape[0]] = prompt.words.to(words.dtype)
            mask[start : start + n, 1 : 1 + prompt.words.shape[0]] = 1
        start += n
    inputs = {"inputs_embeds": embeds, "attention_mask": mask}
    if token_type_ids is not None:
        inputs["token_type_ids"] = _place(token_type_ids, target, total)
    return inputs, index.clamp(max=total - 1)


def _fill_slots(words, prompts, counts, input_ids, attention_mask) -> torch.Tensor:
    """The word embeddings with each template-placed group's rows at its slot positions, in order."""
    out, start = words.clone(), 0
    for prompt, n in zip(prompts, counts):
        if prompt.slots is not None:
            rows, ids = prompt.slots.to(words.dtype), input_ids[start : start + n]
            slots = (ids == prompt.slot_id) & attention_mask[start : start + n].bool()
            order = (slots.long().cumsum(1) - 1).clamp(0, rows.shape[0] - 1)
            out[start : start + n] = torch.where(slots[..., None], rows[order], words[start : start + n])
        start += n
    return out


def _place(t: torch.Tensor, target: torch.Tensor, total: int) -> torch.Tensor:
    """`t` (batch, length, ...) moved to columns `target` of zeros (batch, total + 1, ...), the last column cut."""
    out = t.new_zeros(t.shape[0], total + 1, *t.shape[2:])
    index = target if t.dim() == 2 else target[..., None].expand_as(t)
    return out.scatter(1, index, t)[:, :total]


def strip(hidden: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """The encoder output at the real tokens' positions (the input prompts' positions taken out); padding
    positions get some row's last column (a head never reads them)."""
    if index is None:
        return hidden
    return hidden.gather(1, index[..., None].expand(-1, -1, hidden.shape[-1]))
