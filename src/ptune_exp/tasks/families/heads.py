"""The classification heads other than [CLS] + linear, chosen by `method.head` (docs/heads.md).

- `PoolerHead` (`pooler`): dropout + linear on the backbone's pooler output, as the official P-Tuning v2
  classifier (BertPrefixForSequenceClassification: `pooled_output = outputs[1]; dropout; classifier`).
  The pooler is the backbone's own (frozen with it under a prompt), read from [CLS].
- `VerbalizerHead` (`verbalizer`): the backbone's masked-LM head at the input's first [MASK], read at the
  label words' token ids; those scores are the logits.

Both need parts of the loaded backbone: the model builder calls `bind(backbone, trains)` after loading.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import UNLABELLED, LinearHead
from ptune_exp.tasks.families.templates import label_word_ids


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows that have a label; zero when none has one (predicting on an
    unlabelled test file, whose rows carry UNLABELLED). No host sync: the mask weights the rows."""
    labelled = (labels != UNLABELLED).float()
    losses = nn.functional.cross_entropy(logits.float(), labels.clamp(min=0), reduction="none")
    return (losses * labelled).sum() / labelled.sum().clamp(min=1.0)


def _output(logits: torch.Tensor, labels: torch.Tensor | None) -> SequenceClassifierOutput:
    loss = labelled_cross_entropy(logits, labels) if labels is not None else None
    return SequenceClassifierOutput(loss=loss, logits=logits)


class PoolerHead(LinearHead):
    """dropout(pooler(h[CLS])) @ W + b."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__(hidden_size, num_labels, dropout)
        self.num_labels = num_labels
        self._pooler: list[nn.Module] = []  # the backbone's (not registered twice: its weights stay the backbone's)

    def bind(self, backbone, trains: bool) -> None:
        pooler = getattr(backbone.model, "pooler", None)
        if pooler is None:
            raise PtuneError(f"method.head=pooler: {backbone.model.config.model_type} has no pooler; use head=linear")
        self._pooler = [pooler]

    def forward(self, hidden: torch.Tensor, labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        pooled = self._pooler[0](hidden)  # BERT/RoBERTa poolers read hidden[:, 0] themselves
        logits = self.out(self.dropout(pooled))
        if labels is not None and self.num_labels == 1:
            loss = nn.functional.mse_loss(logits.squeeze(-1).float(), labels.float())
            return SequenceClassifierOutput(loss=loss, logits=logits)
        return _output(logits, labels)


class VerbalizerHead(nn.Module):
    """The masked-LM head's scores at the first [MASK], at the label words' ids (one per label)."""

    reads_input_ids = True  # PromptedModel passes the input ids (to find [MASK])

    def __init__(self, label_words: tuple[str, ...]):
        super().__init__()
        self.label_words = tuple(label_words)
        self.register_buffer("word_ids", torch.zeros(len(label_words), dtype=torch.long), persistent=False)
        self.mask_id = -1
        self.mlm: nn.Module | None = None

    def bind(self, backbone, trains: bool) -> None:
        if backbone.mlm_head is None:  # model/build.py loads it for head=verbalizer; a guard for other builders
            raise PtuneError("method.head=verbalizer: the backbone was loaded without its masked-LM head")
        self.mlm = backbone.mlm_head.requires_grad_(trains)
        self.word_ids = torch.tensor(label_word_ids(backbone.tokenizer, self.label_words), dtype=torch.long)
        self.mask_id = backbone.tokenizer.mask_token_id

    def forward(self, hidden: torch.Tensor, labels=None, input_ids=None, **_) -> SequenceClassifierOutput:
        at = (input_ids == self.mask_id).int().argmax(dim=1)  # the template writes one [MASK]
        masked = hidden[torch.arange(hidden.shape[0], device=hidden.device), at]
        logits = self.mlm(masked)[:, self.word_ids.to(hidden.device)]
        return _output(logits, labels)
