"""The one prompt mechanism every method shares.

`PromptEncoder` makes `prefix_len` trainable rows of some width, either directly (flat) or through
the reparameterisation MLP (embedding -> linear -> tanh -> linear). A method then decides where the
rows go:

- `NoPrompt`    (fft): nowhere.
- `TemplatePrompt` (ptv1; pt with a verbalizer): at the places the task's template reserved in the
  input (placeholder tokens, see `tasks/families/templates.py`); nothing to strip.
- `InputPrompt` (pt): into the input embedding sequence, right after the first ([CLS]/<s>) token,
  so a [CLS] head still reads the real [CLS]; `strip` removes the virtual positions from the
  output again, so token-level logits line up with the input tokens. The virtual tokens take
  positions 1..P and shift the real tokens after [CLS] by P (they are tokens, like any other).
- `DeepPrompt`  (prefix, ptv2): split into per-layer keys/values that every attention layer
  prepends (see `ptune_exp/injection/attention.py`); positions are not shifted.
"""

from __future__ import annotations

import torch
from torch import nn

from ptune_exp.injection.attention import PREFIX_KWARG, LayerPrefixes


class PromptEncoder(nn.Module):
    """`prefix_len` rows of `width` trainable values, flat or reparameterised by an MLP.

    New tensors start the way the official implementation's do: its prefix is an `nn.Embedding` made
    inside the backbone's `from_pretrained`, so the backbone's `_init_weights` draws it from
    N(0, `initializer_range`) and gives the MLP's linear layers N(0, `initializer_range`) weights and zero
    biases. `init_std` is that `initializer_range`; `init` gives the flat rows instead (pt: vocabulary
    embeddings)."""

    def __init__(
        self,
        prefix_len: int,
        width: int,
        reparam: bool,
        reparam_hidden: int,
        embed_dim: int,
        init: torch.Tensor | None = None,
        init_std: float = 0.02,
    ):
        super().__init__()
        self.prefix_len, self.width, self.reparam = prefix_len, width, reparam
        if reparam:
            self.embedding = nn.Embedding(prefix_len, embed_dim)
            self.mlp = nn.Sequential(nn.Linear(embed_dim, reparam_hidden), nn.Tanh(), nn.Linear(reparam_hidden, width))
            for weight in (self.embedding.weight, self.mlp[0].weight, self.mlp[2].weight):
                nn.init.normal_(weight, std=init_std)
            nn.init.zeros_(self.mlp[0].bias)
            nn.init.zeros_(self.mlp[2].bias)
        else:
            rows = init.clone() if init is not None else torch.randn(prefix_len, width) * init_std
            self.rows = nn.Parameter(rows)

    def forward(self) -> torch.Tensor:
        return self.mlp(self.embedding.weight) if self.reparam else self.rows


ENCODER = "prompt.encoder."  # where a PromptedModel keeps its PromptEncoder's tensors


@torch.no_grad()
def fold_state(state: dict[str, torch.Tensor], prefix: str = ENCODER) -> dict[str, torch.Tensor]:
    """A state dict with the encoder's MLP (embedding -> linear -> tanh -> linear) replaced by the flat
    `rows` it produces: the MLP is only needed while training. States without an MLP come back as they are."""
    if prefix + "mlp.0.weight" not in state:  # flat rows, or ptv1's encoder (kept whole: it is small)
        return dict(state)
    t = {k[len(prefix) :]: v.float() for k, v in state.items() if k.startswith(prefix)}
    hidden = torch.tanh(t["embedding.weight"] @ t["mlp.0.weight"].T + t["mlp.0.bias"])
    out = {k: v for k, v in state.items() if not k.startswith(prefix)}
    out[prefix + "rows"] = (hidden @ t["mlp.2.weight"].T + t["mlp.2.bias"]).contiguous()
    return out


def _plain_inputs(input_ids, attention_mask, token_type_ids) -> dict:
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        inputs["token_type_ids"] = token_type_ids
    return inputs


class NoPrompt(nn.Module):
    prefix_len = 0

    def backbone_inputs(self, backbone, input_ids, attention_mask, token_type_ids) -> dict:
        return _plain_inputs(input_ids, attention_mask, token_type_ids)

    def strip(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden


class InputPrompt(nn.Module):
    """Prompt tuning (v1): trainable vectors inserted after [CLS] in the word-embedding sequence."""

    def __init__(self, encoder: PromptEncoder, dropout: float):
        super().__init__()
        self.encoder, self.dropout = encoder, nn.Dropout(dropout)

    @property
    def prefix_len(self) -> int:
        return self.encoder.prefix_len

    def backbone_inputs(self, backbone, input_ids, attention_mask, token_type_ids) -> dict:
        # Word embeddings only: the backbone adds positions/types/LayerNorm once, to the whole sequence.
        words = backbone.get_input_embeddings()(input_ids)
        batch, p = words.shape[0], self.prefix_len
        prompt = _per_example_dropout(self.dropout, self.encoder().unsqueeze(0), batch).to(words.dtype)
        prompt = prompt.expand(batch, -1, -1)
        inputs = {
            "inputs_embeds": torch.cat([words[:, :1], prompt, words[:, 1:]], dim=1),
            "attention_mask": _insert(attention_mask, attention_mask.new_ones(batch, p)),
        }
        if token_type_ids is not None:
            inputs["token_type_ids"] = _insert(token_type_ids, token_type_ids.new_zeros(batch, p))
        return inputs

    def strip(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.cat([hidden[:, :1], hidden[:, 1 + self.prefix_len :]], dim=1)


class TemplatePrompt(nn.Module):
    """Virtual tokens written where the task's template put them: the input holds `slot_id` (the pad token
    under an attention mask of 1) at each virtual position, `prefix_len` per example, and their word
    embeddings are replaced by the encoder's rows in order. The positions are real input positions."""

    def __init__(self, encoder: nn.Module, dropout: float, slot_id: int):
        super().__init__()
        self.encoder, self.dropout, self.slot_id = encoder, nn.Dropout(dropout), slot_id

    @property
    def prefix_len(self) -> int:
        return self.encoder.prefix_len

    def backbone_inputs(self, backbone, input_ids, attention_mask, token_type_ids) -> dict:
        words = backbone.get_input_embeddings()(input_ids)
        batch = words.shape[0]
        rows = _per_example_dropout(self.dropout, self.encoder().unsqueeze(0), batch).to(words.dtype)
        rows = rows.expand(batch, -1, -1)
        slots = (input_ids == self.slot_id) & attention_mask.bool()
        order = (slots.long().cumsum(1) - 1).clamp(0, self.prefix_len - 1)
        placed = rows.gather(1, order.unsqueeze(-1).expand(-1, -1, rows.shape[-1]))
        inputs = _plain_inputs(input_ids, attention_mask, token_type_ids)
        del inputs["input_ids"]
        inputs["inputs_embeds"] = torch.where(slots.unsqueeze(-1), placed, words)
        return inputs

    def strip(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden


def _per_example_dropout(dropout: nn.Dropout, rows: torch.Tensor, batch: int) -> torch.Tensor:
    """`rows` (1, P, width) with one dropout mask per example, (batch, P, width), while training with
    dropout; unchanged (1, P, width) otherwise, to be broadcast over the batch."""
    if not (dropout.training and dropout.p > 0):
        return rows
    return dropout(rows.expand(batch, -1, -1))


def _insert(seq: torch.Tensor, virtual: torch.Tensor) -> torch.Tensor:
    return torch.cat([seq[:, :1], virtual, seq[:, 1:]], dim=1)


class DeepPrompt(nn.Module):
    """Prefix keys/values for every attention layer (prefix tuning, P-Tuning v2)."""

    def __init__(self, encoder: PromptEncoder, shapes: list[tuple[int, int]], dropout: float):
        super().__init__()
        self.encoder, self.shapes, self.dropout = encoder, list(shapes), nn.Dropout(dropout)
        self.widths = [2 * h * d for h, d in shapes]
        assert sum(self.widths) == encoder.width

    @property
    def prefix_len(self) -> int:
        return self.encoder.prefix_len

    def layer_prefixes(self, batch: int = 1) -> LayerPrefixes:
        """Every layer's keys/values, (1 or batch, kv_heads, P, head_dim). In training, prefix dropout
        draws one mask per example, as the official implementation does (it drops on the
        (batch, prefix, 2 * layers, heads, head_dim) tensor); without dropout the batch dimension stays 1."""
        p, rows = self.prefix_len, self.encoder().unsqueeze(0)
        rows = _per_example_dropout(self.dropout, rows, batch)
        keys, values = [], []
        # one split of one tensor: its backward writes each layer's gradient once (no per-slice
        # full-size zero-fill, which is what makes naive per-layer slicing slow)
        for chunk, (h, d) in zip(rows.split(self.widths, dim=2), self.shapes):
            k, v = chunk.view(rows.shape[0], p, 2, h, d).permute(2, 0, 3, 1, 4).unbind(0)
            keys.append(k)
            values.append(v)
        return LayerPrefixes(keys, values)

    def backbone_inputs(self, backbone, input_ids, attention_mask, token_type_ids) -> dict:
        inputs = _plain_inputs(input_ids, attention_mask, token_type_ids)
        inputs[PREFIX_KWARG] = self.layer_prefixes(input_ids.shape[0])
        return inputs

    def strip(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden
