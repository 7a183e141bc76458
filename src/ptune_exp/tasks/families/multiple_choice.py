"""Task family `multiple_choice`: an example offers a fixed number of choices; the model scores each
choice on its own and a softmax over the choices picks one (SuperGLUE COPA).

Rows: `{idx, first, second, label}`: `first[c]` and `second[c]` are the text pair of choice `c` (the
spec's `compose` builds them from a dataset row), `label` the index of the right choice, or -1 when
the split has no labels (SuperGLUE test sets).

Features: every choice is tokenized as its own pair (longest-first truncation to `task.max_seq_len`),
so `input_ids` etc. hold one token list per choice. The collator pads them to (batch, choices,
length). `PromptedModel` flattens that to (batch x choices, length) before the backbone, so each
choice is encoded exactly as a classification input would be, with the whole prompt: `pt` inserts
its virtual tokens into every row, deep prompts (`prefix`, `ptv2`) are shared by every row. The head
gets `batch_shape` = (batch, choices) to fold the scores back.

Head: dropout + linear(hidden, 1) on each choice's [CLS]/<s>; cross-entropy over the choices.
Metric: accuracy. Predictions: `{idx, prediction: choice index, scores: [probability per choice]}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import (
    MODEL_KEYS,
    UNLABELLED,
    Family,
    LinearHead,
    Scorer,
    input_at,
    located,
    numbered,
    official_jsonl,
    probabilities,
    tokenize_rows,
    unlabelled_row,
)
from ptune_exp.tasks.families.classification import labelled_cross_entropy
from ptune_exp.tasks.files import hub_split, read_jsonl
from ptune_exp.tasks.spec import TaskSpec
from ptune_exp.tasks.values import index


@dataclass(frozen=True)
class MultipleChoiceSpec(TaskSpec):
    num_choices: int = 2
    compose: Callable[[dict], list[tuple[str, str]]] | None = None  # row -> one (first, second) pair per choice


# ---------------------------------------------------------------- loading


def read_rows(
    spec: MultipleChoiceSpec, examples: Iterable[dict], where: Callable[[int], str], labelled: bool = False
) -> list[dict]:
    """Rows of dataset rows in the official fields; `where(i)` names a bad one in errors; with
    `labelled`, a row without a label is one."""
    rows = []
    for i, row in enumerate(examples):
        with located(spec, where(i)):
            rows.append(_example(spec, row, len(rows), labelled))
    return rows


def _example(spec: MultipleChoiceSpec, row: dict, position: int, labelled: bool) -> dict:
    pairs = spec.compose(row)
    if len(pairs) != spec.num_choices:
        raise ValueError(f"{len(pairs)} choices, but task={spec.name} has {spec.num_choices}")
    label = row.get("label")
    if label is None or label == UNLABELLED:
        if labelled:
            raise unlabelled_row("field 'label'")
        label = UNLABELLED
    elif isinstance(label, bool) or not isinstance(label, int) or label not in range(spec.num_choices):
        raise ValueError(f"label {label!r} is not a choice index 0..{spec.num_choices - 1}")
    return {
        "idx": index(row, "idx", default=position),
        "first": [a for a, _ in pairs],
        "second": [b for _, b in pairs],
        "label": label,
    }


# ---------------------------------------------------------------- features


class MultipleChoiceCollator:
    """Pads every choice of every example to one length: tensors of shape (batch, choices, length)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict:
        choices = len(features[0]["input_ids"])
        flat = [{key: f[key][c] for key in MODEL_KEYS if key in f} for f in features for c in range(choices)]
        padded = self.tokenizer.pad(flat, return_tensors="pt")
        batch = {key: t.view(len(features), choices, -1) for key, t in padded.items()}
        if "labels" in features[0]:
            batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch


# ---------------------------------------------------------------- head and scoring


class ChoiceHead(LinearHead):
    """One score per choice from its [CLS] hidden state; (batch, choices) logits."""

    def __init__(self, hidden_size: int, dropout: float):
        super().__init__(hidden_size, 1, dropout)

    def forward(
        self, hidden: torch.Tensor, labels: torch.Tensor | None = None, batch_shape=None, **_
    ) -> SequenceClassifierOutput:
        if batch_shape is None or len(batch_shape) != 2:
            raise PtuneError(
                f"the multiple_choice head needs inputs of shape (batch, choices, length), "
                f"got batch shape {tuple(batch_shape or ())}; use this family's collator"
            )
        logits = self.out(self.dropout(hidden[:, 0])).view(*batch_shape)
        loss = labelled_cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


class ChoiceScorer(Scorer):
    """Per example its idx, the index of the chosen choice and every choice's probability."""

    def score(self, logits, label_ids) -> dict[str, float]:
        preds = np.asarray(logits).argmax(-1)
        self.predictions = [
            {"idx": idx, "prediction": int(p), "scores": [round(q, 6) for q in prob]}
            for idx, p, prob in zip(self.raw["idx"], preds, probabilities(logits))
        ]
        return self.official(preds, label_ids)


# ---------------------------------------------------------------- the family


class MultipleChoice(Family):
    key = "multiple_choice"
    Scorer = ChoiceScorer

    def read_examples(self, spec: MultipleChoiceSpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Examples in the official SuperGLUE fields (COPA: premise, choice1, choice2, question)."""
        return read_rows(spec, examples, where, labelled)

    def read_file(self, spec: MultipleChoiceSpec, path: str, labelled: bool = False) -> list[dict]:
        return read_rows(spec, *numbered(path, read_jsonl(path)), labelled)

    def read_hub(self, spec: MultipleChoiceSpec, split: str) -> list[dict]:
        data = hub_split(spec, split)
        path, name = spec.hub
        return read_rows(spec, data, lambda i: f"{path}/{name} {split} row {i}")

    def input_rows(self, spec: MultipleChoiceSpec, path: str) -> list[dict]:
        official_jsonl(spec, path)
        return self.read_file(spec, path)

    def make_head(self, spec: MultipleChoiceSpec, hidden_size: int, dropout: float) -> nn.Module:
        return ChoiceHead(hidden_size, dropout)

    def tokenize(self, split: Dataset, spec: MultipleChoiceSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        choices = spec.num_choices

        def encode(batch):
            first = [text for texts in batch["first"] for text in texts]
            second = [text for texts in batch["second"] for text in texts]
            enc = tokenizer(first, second, truncation=True, max_length=max_len)
            out = {
                key: [enc[key][i : i + choices] for i in range(0, len(first), choices)]
                for key in MODEL_KEYS
                if key in enc
            }
            out["labels"] = batch["label"]
            return out

        return tokenize_rows(split, spec, encode)

    def collator(self, tokenizer):
        return MultipleChoiceCollator(tokenizer)
