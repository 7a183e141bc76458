"""The interface of a task family, and what families share.

A family knows how to read its rows (from the dataset hub or the official local files), which head
to put on the encoder, how to tokenize, how to batch, and how to score and write predictions. The
rest of the code reaches a family only through `Family` (`family_of(spec)` in `families/__init__.py`):

  load_split(spec, role, data_dir) -> Dataset        raw examples of one split (hub or task.data_dir);
                                                    labelled, unless the spec's split says it may not be
  is_labelled(split) -> bool                        whether the split can be scored
  make_head(spec, hidden_size, dropout) -> Module   head(hidden, labels=None, attention_mask, batch_shape)
  tokenize(split, spec, tokenizer, max_len, train) -> Dataset   features (may hold extra columns); for a
                                                    server request `split` is a `serve.columns.Columns`
  collator(tokenizer)                               batches features into model inputs (drops extras)
  Scorer(spec, raw, features)                       the Trainer's compute_metrics for one split; after a
                                                    call, `.predictions` holds per-example predictions
  write_predictions(spec, predictions, path) -> str writes them next to the record, returns the path
  read_examples(spec, examples, where, labelled) -> list[dict]   rows of examples given as dicts in the
                                                    family's fields (what the API and the server take, a
                                                    file's records, a dataset's rows); `where(i)` names
                                                    example i in errors (default `inputs[i]`)
  read_inputs(spec, path) -> Dataset                inputs for ptune-exp-predict (labels optional)
  read_input_rows(spec, path) -> list[dict]         the same as rows
  schema(spec) -> type                              the spec's `task.*` schema (config/tasks.py TASK_SCHEMAS)
  options(spec, task_cfg) -> DataConfig             task.* checked by that schema (types, keys, ranges)
  configure(spec, task_cfg) -> spec                 the spec with the family's own task.* options applied
  fit(spec, raw) -> spec                            the spec completed from the loaded data (e.g. labels)

A subclass sets `key` and `Scorer` (a `Scorer` subclass) and implements `read_examples` (with
`labelled=True` an example without a label is an error at its place; predict inputs may go without),
`read_file` (the file parsed into dicts, located checks of its format, then `read_examples` with
`where` naming the file and line), `read_hub`, `make_head`, `tokenize` and `collator`; the rest has defaults here that
families override where they differ: loading (`split_rows`: the official file in task.data_dir, else
the hub split; `load_split` refuses an empty split and an unlabelled one that must have labels), the
label check (a `label` column, -1 = none), the empty-input check, a jsonl prediction file, the
schema `TASK_SCHEMAS[key]` with its options copied onto the spec's fields of the same name, no fitting.
`Scorer` unwraps the logits and scores with the spec's metrics; `LinearHead` is the heads' dropout +
initialised linear layer.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
import torch
from datasets import Dataset, Features
from torch import nn

from ptune_exp.config.checks import as_plain, checked
from ptune_exp.config.tasks import TASK_SCHEMAS, DataConfig
from ptune_exp.errors import PtuneError
from ptune_exp.storage.files import write_lines
from ptune_exp.tasks.files import as_split, require_file
from ptune_exp.tasks.metrics import compute
from ptune_exp.tasks.spec import TaskSpec

UNLABELLED = -1  # label of an example without one (official test files)
MODEL_KEYS = ("input_ids", "attention_mask", "token_type_ids")  # what the encoder reads of a feature


class Scorer(ABC):
    """`compute_metrics` for the Trainer, bound to one split; keeps the last predictions."""

    def __init__(self, spec: TaskSpec, raw: Dataset, features: Dataset):
        self.spec, self.raw = spec, raw
        self.predictions = None

    def __call__(self, eval_pred) -> dict[str, float]:
        return self.score(self.outputs(eval_pred.predictions), eval_pred.label_ids)

    def outputs(self, predictions):
        """What the head returned for the split: its logits (the first output, when it returned several)."""
        return predictions[0] if isinstance(predictions, tuple) else predictions

    @abstractmethod
    def score(self, outputs, label_ids) -> dict[str, float]:
        """Metrics of the split; sets `.predictions`."""

    def official(self, predictions: np.ndarray, label_ids) -> dict[str, float]:
        """The spec's metrics of per-example predictions; none when no example has a label."""
        if label_ids is None or (label_ids == UNLABELLED).all():  # prediction on unlabelled inputs: nothing to score
            return {}
        return compute(self.spec.metrics, predictions, label_ids)


def probabilities(logits) -> list[list[float]]:
    """Softmax over the last axis, as lists."""
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).tolist()


class LinearHead(nn.Module):
    """Dropout + a linear layer with N(0, 0.02) weights and zero bias, the heads' common start."""

    def __init__(self, hidden_size: int, out_features: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, out_features)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)


def tokenize_rows(split: Dataset, spec: TaskSpec, encode: Callable, with_indices: bool = False) -> Dataset:
    """`encode` (a batched map; with the rows' indices when asked) over the split, raw columns dropped."""
    return split.map(
        encode, batched=True, with_indices=with_indices, remove_columns=split.column_names, desc=f"tokenize {spec.name}"
    )


@contextmanager
def located(spec: TaskSpec, where: str) -> Iterator[None]:
    """Reading one row of the official layout: a missing field, or a value the spec refuses, becomes an
    error that names the row (`where`: file:line, or the hub split and row)."""
    try:
        yield
    except KeyError as e:
        raise PtuneError(f"{where}: missing field {e} (expected the official layout of task={spec.name})") from None
    except (TypeError, ValueError) as e:  # TypeError: a value no check foresaw, still named by its row
        raise PtuneError(f"{where}: {e} (task={spec.name})") from None


def source_of(spec: TaskSpec, role: str, data_dir: str | None) -> str:
    """Where one split's rows come from, for messages: its file, its hub split, or the task."""
    split = spec.splits[role]
    if data_dir and split.file:
        return os.path.join(data_dir, split.file)
    if spec.hub and split.hub:
        return f"{spec.hub[0]} split {split.hub!r}"
    return f"task={spec.name}"


def unlabelled_row(what: str) -> ValueError:
    """The error for a row without its label in a file that must have labels (`what`: the missing part)."""
    return ValueError(f"no label ({what}); a training or evaluation file needs one on every example")


def input_at(i: int) -> str:
    """How an error names example `i` of a list given in memory (the API's and the server's inputs)."""
    return f"inputs[{i}]"


def numbered(path: str, records: Iterable[tuple[int, object]]) -> tuple[list, Callable[[int], str]]:
    """A file's (line number, record) pairs as the list of records, and the `where` that names record `i`
    by its file and line."""
    numbers, items = [], []
    for n, item in records:
        numbers.append(n)
        items.append(item)
    return items, lambda i: f"{path}:{numbers[i]}"


def official_jsonl(spec: TaskSpec, path: str) -> None:
    """Inputs to predict on must be a .jsonl file in the task's official layout."""
    if not path.endswith(".jsonl"):
        raise PtuneError(f"{path}: give inputs as .jsonl in the official layout of task={spec.name}")


class Family(ABC):
    """One task family; `FAMILIES` holds one instance of each. See the module docstring."""

    key: ClassVar[str]
    Scorer: ClassVar[type[Scorer]]
    row_features: ClassVar[Features | None] = None  # column types of the rows, where inference is not enough
    inputs_noun: ClassVar[str] = "inputs"  # what an input file holds (for the error on an empty one)

    # ---------------------------------------------------------------- rows

    def load_split(self, spec: TaskSpec, role: str, data_dir: str | None) -> Dataset:
        """One split's rows; an empty split, and one without labels that must have them, are errors."""
        where = source_of(spec, role, data_dir)
        split = as_split(self.split_rows(spec, role, data_dir), spec, role, self.row_features, where)
        if spec.splits[role].labelled and not self.is_labelled(split):
            raise PtuneError(
                f"{where}: the {role} split of task={spec.name} has no labels; training and evaluation need "
                "labelled files (unlabelled inputs go to ptune-exp-predict)"
            )
        return split

    def split_rows(self, spec: TaskSpec, role: str, data_dir: str | None) -> list[dict]:
        """Rows of one split: its official file in `data_dir`, or else its split on the hub (a custom
        task's: the rows its reader loaded)."""
        if spec.reader is not None:
            return spec.reader.split_rows(spec, role)
        if getattr(spec, "generate", None) is not None:  # a task the project generates (synth_sentiment, synth_ner)
            return spec.generate(role, 0)
        split = spec.splits[role]
        if data_dir:
            path = require_file(data_dir, split.file, f"task={spec.name} {role} split")
            return self.read_file(spec, path, labelled=split.labelled)
        return self.read_hub(spec, split.hub)

    @abstractmethod
    def read_examples(
        self, spec: TaskSpec, examples: Iterable, where: Callable[[int], str] = input_at, labelled: bool = False
    ) -> list[dict]:
        """Rows of examples given as dicts in the family's fields; a bad one is an error at `where(i)`.
        With `labelled`, every example must have its label."""

    @abstractmethod
    def read_file(self, spec: TaskSpec, path: str, labelled: bool = False) -> list[dict]:
        """Rows of a local file in the task's official layout (parsed into dicts, then `read_examples`);
        with `labelled`, every row must have its label."""

    @abstractmethod
    def read_hub(self, spec: TaskSpec, split: str) -> list[dict]:
        """Rows of one split of the spec's hub dataset."""

    def read_inputs(self, spec: TaskSpec, path: str) -> Dataset:
        """Inputs to predict on (ptune-exp-predict), labels optional."""
        return Dataset.from_list(self.read_input_rows(spec, path), features=self.row_features)

    def read_input_rows(self, spec: TaskSpec, path: str) -> list[dict]:
        """The same inputs as rows; an empty file is an error."""
        rows = spec.reader.input_rows(spec, path) if spec.reader is not None else self.input_rows(spec, path)
        if not rows:
            raise PtuneError(f"{path} holds no {self.inputs_noun}")
        return rows

    def input_rows(self, spec: TaskSpec, path: str) -> list[dict]:
        """Rows of an input file (by default: the task's official layout, as `read_file` reads it)."""
        return self.read_file(spec, path)

    def is_labelled(self, split: Dataset) -> bool:
        """Whether any example of the split has a label (by default: a `label` column)."""
        return any(label != UNLABELLED for label in split["label"])

    # ---------------------------------------------------------------- the run around the family (MultiTask: per member)

    def load_raw(self, spec: TaskSpec, data, subset: Callable) -> dict:
        """Every split the task has, as raw examples, each cut by `subset(split, role, data, spec)` (`data`:
        the run's DataConfig); unlabelled evaluation splits are dropped."""
        raw = {role: self.load_split(spec, role, data.data_dir) for role in spec.splits}
        labelled = {role: split for role, split in raw.items() if role == "train" or self.is_labelled(split)}
        return {role: subset(split, role, data, spec) for role, split in labelled.items()}

    def size(self, split) -> int | dict:
        """A split's size, as the record states it."""
        return len(split)

    def epoch_examples(self, train, batch_size: int) -> int:
        """How many examples one training epoch yields (what the schedule counts)."""
        return len(train)

    def trainer_options(self, spec: TaskSpec, train) -> dict:
        """Keyword arguments of the trainer beyond the usual ones (none by default)."""
        return {}

    def facts(self, spec: TaskSpec, data: dict) -> dict:
        """What the record says about the run's data beyond split sizes (nothing by default)."""
        return {}

    def scores(self, spec: TaskSpec, result: dict) -> dict:
        """Parts of the record derived from the evaluated splits' scores (none by default)."""
        return {}

    # ---------------------------------------------------------------- the run's spec

    def schema(self, spec: TaskSpec) -> type:
        """The schema of the spec's `task.*` (conf/task/<name>.yaml extends it as `task/<key>_base`)."""
        return TASK_SCHEMAS[self.key]

    def options(self, spec: TaskSpec, task_cfg) -> DataConfig:
        """`task.*` checked by the spec's schema: a mapping without `name` or `source` is the spec's."""
        if isinstance(task_cfg, self.schema(spec)):
            return task_cfg
        given = {k: v for k, v in as_plain(task_cfg).items() if not (k == "source" and v is None)}
        values = {"name": spec.name, "source": spec.source, **given}
        return checked(self.schema(spec), values, "task", f"of task={spec.name}")

    def configure(self, spec: TaskSpec, task_cfg) -> TaskSpec:
        """The spec with the family's own `task.*` options applied: each option its schema adds to the
        keys every task has is copied onto the spec's field of the same name (the spec as it is when none)."""
        options = self.options(spec, task_cfg)
        own = {f.name for f in dataclasses.fields(options)} - {f.name for f in dataclasses.fields(DataConfig)}
        return dataclasses.replace(spec, **{k: getattr(options, k) for k in sorted(own)}) if own else spec

    def fit(self, spec: TaskSpec, raw: dict[str, Dataset]) -> TaskSpec:
        """The spec completed from the loaded splits (e.g. a label list taken from the data)."""
        return spec

    # ---------------------------------------------------------------- model inputs and outputs

    @abstractmethod
    def make_head(self, spec: TaskSpec, hidden_size: int, dropout: float) -> nn.Module:
        """The head on the encoder's hidden states: head(hidden, labels=None, attention_mask, batch_shape)."""

    @abstractmethod
    def tokenize(self, split: Dataset, spec: TaskSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        """Features of the split's rows (may hold extra columns that the collator drops)."""

    @abstractmethod
    def collator(self, tokenizer) -> Callable[[list[dict]], dict]:
        """Batches features into model inputs."""

    def write_predictions(self, spec: TaskSpec, predictions: list | dict, path: str) -> str:
        """One JSON object per example (`path`.jsonl); returns the file's path."""
        return write_lines(f"{path}.jsonl", predictions)  # strict JSON: a NaN score is written as null
