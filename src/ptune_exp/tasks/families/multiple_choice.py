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
from ptune_exp.tasks import metrics as metric_fns
from ptune_exp.tasks.families.classification import UNLABELLED, labelled_cross_entropy
from ptune_exp.tasks.families.classification import (
    write_predictions as write_predictions,  # same jsonl, one row per example
)
from ptune_exp.tasks.files import as_split, hub_split, read_jsonl, require_file
from ptune_exp.tasks.spec import TaskSpec

MODEL_KEYS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class MultipleChoiceSpec(TaskSpec):
    num_choices: int = 2
    compose: Callable[[dict], list[tuple[str, str]]] | None = None  # row -> one (first, second) pair per choice


# ---------------------------------------------------------------- loading


def load_split(spec: MultipleChoiceSpec, role: str, data_dir: str | None) -> Dataset:
    split = spec.splits[role]
    if data_dir:
        path = require_file(data_dir, split.file, f"task={spec.name} {role} split")
        rows = read_rows(spec, read_jsonl(path), lambda n: f"{path}:{n}")
    else:
        rows = _read_hub(spec, split.hub)
    return as_split(rows, spec, role)


def _read_hub(spec: MultipleChoiceSpec, split: str) -> list[dict]:
    data = hub_split(spec, split)
    path, name = spec.hub
    return read_rows(spec, enumerate(data), lambda i: f"{path}/{name} {split} row {i}")


def read_rows(spec: MultipleChoiceSpec, lines: Iterable[tuple[int, dict]], where: Callable[[int], str]) -> list[dict]:
    """Rows from (position, dataset row) pairs; `where(position)` names a bad row in errors."""
    rows = []
    for n, row in lines:
        try:
            rows.append(_example(spec, row, len(rows)))
        except KeyError as e:
            raise PtuneError(
                f"{where(n)}: missing field {e} (expected the official layout of task={spec.name})"
            ) from None
        except (TypeError, ValueError) as e:
            raise PtuneError(f"{where(n)}: {e} (task={spec.name})") from None
    return rows


def _example(spec: MultipleChoiceSpec, row: dict, position: int) -> dict:
    pairs = spec.compose(row)
    if len(pairs) != spec.num_choices:
        raise ValueError(f"{len(pairs)} choices, but task={spec.name} has {spec.num_choices}")
    label = row.get("label", UNLABELLED)
    if label is None:
        label = UNLABELLED
    if label != UNLABELLED and (isinstance(label, bool) or label not in range(spec.num_choices)):
        raise ValueError(f"label {label!r} is not a choice index 0..{spec.num_choices - 1}")
    return {
        "idx": row.get("idx", position),
        "first": [a for a, _ in pairs],
        "second": [b for _, b in pairs],
        "label": int(label),
    }


def read_inputs(spec: MultipleChoiceSpec, path: str) -> Dataset:
    """Inputs to predict on, in the official jsonl layout of the task; labels are optional."""
    if not path.endswith(".jsonl"):
        raise PtuneError(f"{path}: give inputs as .jsonl in the official layout of task={spec.name}")
    rows = read_rows(spec, read_jsonl(path), lambda n: f"{path}:{n}")
    if not rows:
        raise PtuneError(f"{path} holds no inputs")
    return Dataset.from_list(rows)


def is_labelled(split: Dataset) -> bool:
    return any(label != UNLABELLED for label in split["label"])


# ---------------------------------------------------------------- features


def tokenize(split: Dataset, spec: MultipleChoiceSpec, tokenizer, max_len: int, train: bool) -> Dataset:
    choices = spec.num_choices

    def encode(batch):
        first = [text for texts in batch["first"] for text in texts]
        second = [text for texts in batch["second"] for text in texts]
        enc = tokenizer(first, second, truncation=True, max_length=max_len)
        out = {
            key: [enc[key][i : i + choices] for i in range(0, len(first), choices)] for key in MODEL_KEYS if key in enc
        }
        out["labels"] = batch["label"]
        return out

    return split.map(encode, batched=True, remove_columns=split.column_names, desc=f"tokenize {spec.name}")


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


def collator(tokenizer):
    return MultipleChoiceCollator(tokenizer)


# ---------------------------------------------------------------- head


class ChoiceHead(nn.Module):
    """One score per choice from its [CLS] hidden state; (batch, choices) logits."""

    def __init__(self, hidden_size: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)

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


def make_head(spec: MultipleChoiceSpec, hidden_size: int, dropout: float) -> nn.Module:
    return ChoiceHead(hidden_size, dropout)


# ---------------------------------------------------------------- scoring


class Scorer:
    """`compute_metrics` for the Trainer, bound to one split; keeps the last predictions."""

    def __init__(self, spec: MultipleChoiceSpec, raw: Dataset, features: Dataset):
        self.spec, self.raw = spec, raw
        self.predictions: list | None = None

    def __call__(self, eval_pred) -> dict[str, float]:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        preds = np.asarray(logits).argmax(-1)
        probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).tolist()
        self.predictions = [
            {"idx": idx, "prediction": int(p), "scores": [round(q, 6) for q in prob]}
            for idx, p, prob in zip(self.raw["idx"], preds, probs)
        ]
        labels = eval_pred.label_ids
        if labels is None or (labels == UNLABELLED).all():  # prediction on unlabelled inputs: nothing to score
            return {}
        return metric_fns.compute(self.spec.metrics, preds, labels)
