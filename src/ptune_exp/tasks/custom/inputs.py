"""Inputs to predict on for a custom task (ptune-exp-predict, the Python API, the server): a file in
any of the task's formats (csv, tsv, json, jsonl, parquet; CoNLL words for tagging, SQuAD json for
qa) with the declared fields; labels, tags and answers are optional."""

from __future__ import annotations

import dataclasses
import os

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.benchmarks.squad import read_squad_json
from ptune_exp.tasks.custom import labels as label_values
from ptune_exp.tasks.custom.config import CustomTaskConfig
from ptune_exp.tasks.custom.read import EXTENSIONS, Source, file_format, load_table
from ptune_exp.tasks.custom.rows import choice_rows, classification_texts, need, qa_rows, tagging_rows
from ptune_exp.tasks.families.base import UNLABELLED
from ptune_exp.tasks.families.tagging_files import read_columns
from ptune_exp.tasks.spec import TaskSpec


def read_input_file(task: CustomTaskConfig, spec: TaskSpec, path: str) -> list[dict]:
    """The rows of an input file, as the family reads them (unlabelled rows where labels are absent)."""
    if not os.path.isfile(path):
        raise PtuneError(f"{path}: no such file")
    by_extension = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    source = Source(path, file_format(dataclasses.replace(task, format=by_extension or task.format), path), path)
    if source.format == "conll":
        return read_columns(path, spec.labels, f"task={spec.name}", words_only=True)
    if source.format == "squad":
        return read_squad_json(path, "1.1", labelled=False)
    table = load_table(source)
    if task.family == "tagging":
        return tagging_rows(task, table, source, labelled=False)
    if task.family == "qa":
        return qa_rows(task, table, source, labelled=False)
    if task.family == "multiple_choice":
        return choice_rows(task, table, source, labelled=False)
    return _classification(task, spec, table, source)


def _classification(task: CustomTaskConfig, spec, table, source: Source) -> list[dict]:
    columns = list(table.column_names)
    fields = spec.hub_text
    for column in fields:
        if column is not None:
            need(columns, column, source, "task.text_fields")
    rows = classification_texts(table, fields, source)
    values = list(table[task.label_field]) if task.label_field in columns else [None] * len(rows)
    for i, (row, value) in enumerate(zip(rows, values)):
        if label_values.kind_of(value) is None:
            row["label"] = UNLABELLED
        elif spec.labels:
            row["label"] = label_values.indices([value], spec.labels, _at(source, i), True)[0]
        else:
            row["label"] = label_values.scores([value], _at(source, i))[0]
    return rows


def _at(source: Source, i: int) -> Source:
    """A source whose row 0 is row i of `source` (for the one-value checks above)."""

    class Shifted(Source):
        def where(self, j: int) -> str:
            return source.where(i + j)

    return Shifted(source.label, source.format, source.path)
