"""Task family `classification`: one text or a text pair -> a label (or a score, for regression).

Head: dropout + linear on the [CLS] hidden state. Loading: the dataset hub, or the official local
files (GLUE tsv, SuperGLUE jsonl) from `task.data_dir`. Every dataset becomes rows of
`{idx, text_a, text_b, label}`; `label` is the class index, a float score for regression, or -1
when the split has no labels (GLUE/SuperGLUE test sets).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from datasets import Dataset
from torch import nn
from transformers import DataCollatorWithPadding
from transformers.modeling_outputs import SequenceClassifierOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import UNLABELLED, Family, LinearHead, Scorer, probabilities, tokenize_rows
from ptune_exp.tasks.files import hub_split, read_jsonl, read_tsv
from ptune_exp.tasks.spec import TASKS, TaskSpec


@dataclass(frozen=True)
class ClassificationSpec(TaskSpec):
    labels: tuple[str, ...] = ()  # empty: regression
    hub_text: tuple[str, str | None] = ("sentence", None)
    file_format: str = "glue_tsv"  # glue_tsv | superglue_jsonl | generated
    file_header: bool = True
    file_columns: tuple = ()  # (text_a, text_b | None, label): names or indices
    file_labels: tuple = ()  # literal label values in the files, in label order
    compose: Callable[[dict], tuple[str, str | None]] | None = None  # row -> texts, when not plain fields
    generate: Callable[[str, int], list[dict]] | None = None  # (role, seed) -> rows

    @property
    def is_regression(self) -> bool:
        return not self.labels

    @property
    def is_pair(self) -> bool:
        return self.hub_text[1] is not None or self.compose is not None


# ---------------------------------------------------------------- loading


def _check_layout(spec: ClassificationSpec, role: str, data_dir: str) -> None:
    """A task with two sources (RTE: GLUE tsv or SuperGLUE jsonl): name the right task.source."""
    if os.path.isfile(os.path.join(data_dir, spec.splits[role].file)):
        return
    for (name, source), other in TASKS.items():
        split = getattr(other, "splits", {}).get(role)
        if (
            name == spec.name
            and source != spec.source
            and split
            and split.file
            and os.path.isfile(os.path.join(data_dir, split.file))
        ):
            raise PtuneError(
                f"task={spec.name} (task.source={spec.source}) expects {spec.splits[role].file} in "
                f"{data_dir}, which holds the {source} layout ({split.file}): add task.source={source}"
            )


def _texts(spec: ClassificationSpec, row: dict, fields: tuple) -> tuple[str, str | None]:
    if spec.compose is not None:
        return spec.compose(row)
    a, b = fields
    return row[a], (row[b] if b is not None else None)


def _read_local(spec: ClassificationSpec, path: str) -> list[dict]:
    if spec.file_format == "superglue_jsonl":
        lines = read_jsonl(path)
    else:
        lines = read_tsv(path, spec.file_header)
    a_col, b_col, label_col = spec.file_columns
    rows = []
    for n, row in lines:
        try:
            a, b = _texts(spec, row, (a_col, b_col))
        except (KeyError, IndexError) as e:
            raise PtuneError(
                f"{path}:{n}: missing field {e} (expected {spec.file_format} layout of task={spec.name})"
            ) from None
        except ValueError as e:  # a compose function refused the row (e.g. WSC spans that are not in the text)
            raise PtuneError(f"{path}:{n}: {e} (task={spec.name})") from None
        has_label = (
            (label_col in row) if isinstance(row, dict) else (isinstance(label_col, int) and label_col < len(row))
        )
        label = _label(spec, row[label_col], path, n) if has_label else UNLABELLED
        rows.append({"idx": len(rows), "text_a": a, "text_b": b, "label": label})
    return rows


def _label(spec: ClassificationSpec, value, path: str, line: int):
    if spec.is_regression:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise PtuneError(f"{path}:{line}: score {value!r} is not a number") from None
    if value not in spec.file_labels:
        raise PtuneError(f"{path}:{line}: label {value!r} is not one of {list(spec.file_labels)} (task={spec.name})")
    return spec.file_labels.index(value)


def _own_idx(rows: list[dict], lines: list) -> list[dict]:
    """The rows with each input line's own `idx` (or GLUE's `index`) where it has one, its position where
    not; digit strings (tsv) become numbers, and a mix of kinds becomes strings (one column type)."""
    own = [line.get("idx", line.get("index")) if isinstance(line, dict) else None for line in lines]
    own = [r["idx"] if i is None else int(i) if isinstance(i, str) and i.isdigit() else i for r, i in zip(rows, own)]
    same = len({type(i) for i in own}) <= 1 and all(isinstance(i, (int, str)) for i in own)
    return [{**row, "idx": i if same else str(i)} for row, i in zip(rows, own)]


# ---------------------------------------------------------------- head and scoring


class ClassificationHead(LinearHead):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__(hidden_size, num_labels, dropout)
        self.num_labels = num_labels

    def forward(self, hidden: torch.Tensor, labels: torch.Tensor | None = None, **_) -> SequenceClassifierOutput:
        logits = self.out(self.dropout(hidden[:, 0]))
        loss = None
        if labels is not None:
            if self.num_labels == 1:
                loss = nn.functional.mse_loss(logits.squeeze(-1).float(), labels.float())
            else:
                loss = labelled_cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows that have a label; zero when none has one (predicting on an
    unlabelled test file, whose rows carry UNLABELLED). No host sync: the mask weights the rows."""
    labelled = (labels != UNLABELLED).float()
    losses = nn.functional.cross_entropy(logits.float(), labels.clamp(min=0), reduction="none")
    return (losses * labelled).sum() / labelled.sum().clamp(min=1.0)


class ClassificationScorer(Scorer):
    """Per example its idx and the predicted label with every label's probability (or the score)."""

    def score(self, logits, label_ids) -> dict[str, float]:
        if self.spec.is_regression:
            preds = logits[:, 0]
            self.predictions = [{"idx": idx, "prediction": float(p)} for idx, p in zip(self.raw["idx"], preds)]
        else:
            preds = logits.argmax(-1)
            self.predictions = [
                {
                    "idx": idx,
                    "prediction": self.spec.labels[int(p)],
                    "scores": {label: round(q, 6) for label, q in zip(self.spec.labels, prob)},
                }
                for idx, p, prob in zip(self.raw["idx"], preds, probabilities(logits))
            ]
        return self.official(preds, label_ids)


# ---------------------------------------------------------------- the family


class Classification(Family):
    key = "classification"
    Scorer = ClassificationScorer

    def split_rows(self, spec: ClassificationSpec, role: str, data_dir: str | None) -> list[dict]:
        if spec.generate is not None:
            return spec.generate(role, 0)
        if data_dir:
            _check_layout(spec, role, data_dir)
        return super().split_rows(spec, role, data_dir)

    def read_file(self, spec: ClassificationSpec, path: str) -> list[dict]:
        return _read_local(spec, path)

    def read_hub(self, spec: ClassificationSpec, split: str) -> list[dict]:
        rows = []
        for i, row in enumerate(hub_split(spec, split)):
            a, b = _texts(spec, row, spec.hub_text)
            label = row["label"]
            label = float(label) if spec.is_regression else int(label)
            rows.append({"idx": i, "text_a": a, "text_b": b, "label": label if label >= 0 else UNLABELLED})
        return rows

    def input_rows(self, spec: ClassificationSpec, path: str) -> list[dict]:
        """Inputs in the task's local format (.jsonl or .tsv); a generated task (synth_sentiment) reads its
        text field (`sentence`) from a .jsonl or a .tsv with a header, `label` optional. Each input keeps
        its own `idx` (GLUE: `index`) where it has one."""
        fmt = "superglue_jsonl" if path.endswith(".jsonl") else "glue_tsv" if path.endswith(".tsv") else None
        field = spec.hub_text[0]
        if fmt is None and spec.file_format == "generated":
            raise PtuneError(
                f"{path}: give inputs as .jsonl with a {field!r} field or .tsv with a {field!r} column "
                f"(a 'label' is optional) for task={spec.name}"
            )
        if fmt is None:
            raise PtuneError(
                f"{path}: give inputs as .jsonl (SuperGLUE fields) or .tsv (GLUE columns) for task={spec.name}"
            )
        if spec.file_format == "generated":  # no official files: plain text, labels by name
            columns = (field, None, "label")
            spec = replace(spec, file_format=fmt, file_header=True, file_columns=columns, file_labels=spec.labels)
        elif fmt != spec.file_format:
            suffix = ".jsonl" if spec.file_format == "superglue_jsonl" else ".tsv"
            raise PtuneError(f"{path}: task={spec.name} reads {spec.file_format} files ({suffix})")
        rows = self.read_file(spec, path)
        odd = [
            r["idx"] for r in rows if not isinstance(r["text_a"], str) or not isinstance(r["text_b"], (str, type(None)))
        ]
        if odd:
            raise PtuneError(f"{path}: input {odd[0] + 1} has a text that is not a string (task={spec.name})")
        lines = read_jsonl(path) if fmt == "superglue_jsonl" else read_tsv(path, spec.file_header)
        return _own_idx(rows, [line for _, line in lines])

    def make_head(self, spec: ClassificationSpec, hidden_size: int, dropout: float) -> nn.Module:
        return ClassificationHead(hidden_size, len(spec.labels) or 1, dropout)

    def tokenize(self, split: Dataset, spec: ClassificationSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        def encode(batch):
            pair = batch["text_b"] if spec.is_pair else None
            enc = tokenizer(batch["text_a"], pair, truncation=True, max_length=max_len)
            enc["labels"] = batch["label"]
            return enc

        return tokenize_rows(split, spec, encode)

    def collator(self, tokenizer):
        return DataCollatorWithPadding(tokenizer)
