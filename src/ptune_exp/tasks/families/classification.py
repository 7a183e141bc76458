"""Task family `classification`: one text or a text pair -> a label (or a score, for regression).

Head: dropout + linear on the [CLS] hidden state; or, by `method.head`, on the backbone's pooler output
or a verbalizer (heads.py) reading inputs written through `task.template` (templates.py).
Loading: the dataset hub, or the official local files (GLUE tsv, SuperGLUE jsonl) from
`task.data_dir`. Every dataset becomes rows of `{idx, text_a, text_b, label}`; `label` is the class
index, a float score for regression, or -1 when an input to predict has none (GLUE/SuperGLUE test
files). Texts must be strings and labels spelled (and typed) as the official files do; a training or
evaluation file must label every row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import torch
from datasets import Dataset
from torch import nn
from transformers import DataCollatorWithPadding
from transformers.modeling_outputs import SequenceClassifierOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families import templates
from ptune_exp.tasks.families.base import (
    UNLABELLED,
    Family,
    LinearHead,
    Scorer,
    input_at,
    located,
    numbered,
    probabilities,
    tokenize_rows,
    unlabelled_row,
)
from ptune_exp.tasks.families.heads import PoolerHead, VerbalizerHead, labelled_cross_entropy
from ptune_exp.tasks.files import hub_split, json_type, read_jsonl, read_tsv
from ptune_exp.tasks.spec import TASKS, TaskSpec
from ptune_exp.tasks.values import INT64, field, number


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
    template: str = ""  # task.template (templates.py); the task's default where it has one
    label_words: tuple[str, ...] = ()  # task.label_words, one per label
    head: str = "linear"  # method.head, set by the run (templates.with_head)
    templated: bool = False  # inputs written through the template
    virtual_tokens: int = 0  # how many virtual tokens the template places

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
    return _text(row, a), (_text(row, b) if b is not None else None)


def _text(row: dict, column) -> str:
    if isinstance(column, int) and isinstance(row, dict):  # a tsv line without a header: read_tsv checked it
        return row[column]
    return field(row, column, str)


def _file_examples(spec: ClassificationSpec, path: str, labelled: bool):
    """The records of a local file as dicts (a tsv line without a header: keyed by column index), and
    the `where` that names them by line."""
    a_col, b_col, label_col = spec.file_columns
    if spec.file_format == "superglue_jsonl":
        lines = read_jsonl(path)
    else:
        needed = (a_col, b_col, label_col if labelled else None)
        lines = read_tsv(path, spec.file_header, tuple(c for c in needed if c is not None))
    return numbered(path, ((n, dict(enumerate(row)) if isinstance(row, list) else row) for n, row in lines))


def _read_examples(spec: ClassificationSpec, examples: Iterable, where: Callable[[int], str], labelled: bool):
    """Rows `{idx: position, text_a, text_b, label}` of examples in the task's file fields, and the examples
    (as read: a tsv task reads values as its cells hold them, text)."""
    a_col, b_col, label_col = spec.file_columns
    rows, given = [], []
    for i, example in enumerate(examples):
        with located(spec, where(i)):
            if spec.file_format == "glue_tsv":
                example = _cells(example)
            a, b = _texts(spec, example, (a_col, b_col))
            if not isinstance(a, str) or not isinstance(b, (str, type(None))):
                raise ValueError("a text that is not a string")
            label = _row_label(spec, example, label_col, labelled)
        rows.append({"idx": i, "text_a": a, "text_b": b, "label": label})
        given.append(example)
    return rows, given


def _cells(example) -> dict:
    """An example's plain values as the cells of a tsv line hold them: text ("" for null)."""
    if not isinstance(example, dict):
        raise ValueError(f"the record should be an object, got {json_type(example)}")
    plain = (str, int, float, type(None))
    return {k: ("" if v is None else str(v)) if isinstance(v, plain) else v for k, v in example.items()}


def _row_label(spec: ClassificationSpec, row: dict, column, labelled: bool):
    """The row's label (index, or score); UNLABELLED when it has none (absent, or null) and may go without."""
    value = row.get(column)
    if value is None:
        if labelled:
            raise unlabelled_row(f"field {column!r}")
        return UNLABELLED
    return _label(spec, value)


def _label(spec: ClassificationSpec, value):
    """A label as the file spells it -> its index (a finite score, for regression). JSON types must match:
    1 is not true."""
    if spec.is_regression:
        return number(value, "score")
    for i, label in enumerate(spec.file_labels):
        if type(label) is type(value) and label == value:
            return i
    kind = json_type(spec.file_labels[0])
    why = f" ({value!r} is {json_type(value)}; a label here is {kind})" if kind != json_type(value) else ""
    raise ValueError(f"label {value!r} is not one of {list(spec.file_labels)}{why}")


def _own_idx(rows: list[dict], lines: list) -> list[dict]:
    """The rows with each input line's own `idx` (or GLUE's `index`) where it has one, its position where
    not; digit strings (tsv) become numbers, and a mix of kinds becomes strings (one column type)."""
    own = [line.get("idx", line.get("index")) if isinstance(line, dict) else None for line in lines]
    own = [r["idx"] if i is None else int(i) if isinstance(i, str) and _whole(i) else i for r, i in zip(rows, own)]
    same = len({type(i) for i in own}) <= 1 and all(
        isinstance(i, str) or (type(i) is int and abs(i) < INT64) for i in own
    )
    return [{**row, "idx": _text_idx(i) if isinstance(i, str) or not same else i} for row, i in zip(rows, own)]


def _generated(spec: ClassificationSpec, fmt: str) -> ClassificationSpec:
    """A generated task's inputs (no official files): its text field, `label` by name, in `fmt`."""
    columns = (spec.hub_text[0], None, "label")
    return replace(spec, file_format=fmt, file_header=True, file_columns=columns, file_labels=spec.labels)


def _whole(text: str) -> bool:
    """Whether a tsv `index` is a whole number that a 64-bit column holds."""
    return text.isascii() and text.isdecimal() and len(text) < 19


def _text_idx(idx) -> str:
    """An idx as text a Dataset can store (half a surrogate pair from a JSON escape written as the escape)."""
    return str(idx).encode("utf-8", "backslashreplace").decode("utf-8")


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
        if data_dir and spec.generate is None:
            _check_layout(spec, role, data_dir)
        return super().split_rows(spec, role, data_dir)

    def read_examples(self, spec: ClassificationSpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Examples in the task's file fields (SuperGLUE RTE: premise, hypothesis; GLUE RTE: sentence1,
        sentence2; synth_sentiment: sentence), `label` as the files spell it (synth_sentiment: by name); each
        keeps its own `idx` (GLUE: `index`) where it has one, as inputs to predict do."""
        if spec.file_format == "generated":
            spec = _generated(spec, "superglue_jsonl")
        return _own_idx(*_read_examples(spec, examples, where, labelled))

    def read_file(self, spec: ClassificationSpec, path: str, labelled: bool = False) -> list[dict]:
        """Rows of a training or evaluation file, numbered by position (as the hub's are)."""
        return _read_examples(spec, *_file_examples(spec, path, labelled), labelled)[0]

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
        if spec.file_format == "generated":
            spec = _generated(spec, fmt)
        elif fmt != spec.file_format:
            suffix = ".jsonl" if spec.file_format == "superglue_jsonl" else ".tsv"
            raise PtuneError(f"{path}: task={spec.name} reads {spec.file_format} files ({suffix})")
        return _own_idx(*_read_examples(spec, *_file_examples(spec, path, False), False))

    def configure(self, spec: ClassificationSpec, task_cfg) -> ClassificationSpec:
        """The spec with `task.template` and `task.label_words` (or the task's defaults)."""
        return templates.configure(spec, self.options(spec, task_cfg))

    def make_head(self, spec: ClassificationSpec, hidden_size: int, dropout: float) -> nn.Module:
        if spec.head == "verbalizer":
            return VerbalizerHead(spec.label_words)
        head = PoolerHead if spec.head == "pooler" else ClassificationHead
        return head(hidden_size, len(spec.labels) or 1, dropout)

    def tokenize(self, split: Dataset, spec: ClassificationSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        def encode(batch):
            if spec.templated:
                return _templated(batch, spec, tokenizer, max_len)
            pair = batch["text_b"] if spec.is_pair else None
            enc = tokenizer(batch["text_a"], pair, truncation=True, max_length=max_len)
            enc["labels"] = batch["label"]
            return enc

        return tokenize_rows(split, spec, encode)

    def collator(self, tokenizer):
        return DataCollatorWithPadding(tokenizer)


def _templated(batch: dict, spec: ClassificationSpec, tokenizer, max_len: int) -> dict:
    """A batch of rows written through the template (templates.encode)."""
    b = batch["text_b"] if spec.is_pair else [None] * len(batch["text_a"])
    ids = [
        templates.encode(tokenizer, spec.template, spec.virtual_tokens, a, t, max_len)
        for a, t in zip(batch["text_a"], b)
    ]
    enc = {"input_ids": ids, "attention_mask": [[1] * len(i) for i in ids], "labels": batch["label"]}
    if "token_type_ids" in tokenizer.model_input_names:
        enc["token_type_ids"] = [[0] * len(i) for i in ids]
    return enc
