"""A custom task's columns -> the rows its family reads (the same rows the built-in tasks' readers give).

  classification   {idx, text_a, text_b, label}   text_fields (default: the first of [sentence1,
                   sentence2], [premise, hypothesis], [question, passage], [text], [sentence] the
                   file has), label_field (default label)
  tagging          {idx, tokens, tags}            tokens_field (default tokens), tags_field (default
                   tags, else ner_tags): lists of words and their IOB tags (names, or integers naming
                   a hub ClassLabel's or task.labels' entries); IOB1 becomes IOB2 as in CoNLL files
  qa               {id, title, question, context, answer_texts, answer_starts, is_impossible}
                   question_field, context_field, answers_field ({text: [...], answer_start: [...]}),
                   id_field (default id, else the row number)
  multiple_choice  {idx, first, second, label}    text_fields (the context, default the first of
                   context, premise, question, sent1, text), choice_fields (default every choiceN /
                   endingN / optionN column), label_field: the right choice's index

Labels of classification rows are mapped in `spec.py` (they need train's label list first).
"""

from __future__ import annotations

import re

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.custom.config import CustomTaskConfig
from ptune_exp.tasks.custom.read import Source
from ptune_exp.tasks.families.base import UNLABELLED
from ptune_exp.tasks.families.tagging_files import check_tag, to_iob2

TEXT_DEFAULTS = (("sentence1", "sentence2"), ("premise", "hypothesis"), ("question", "passage"), ("text",))
TEXT_DEFAULTS += (("sentence",),)
CONTEXT_DEFAULTS = ("context", "premise", "question", "sent1", "text")
CHOICE = re.compile(r"^(choice|ending|option)(\d+)$")


def need(columns: list[str], column: str, source: Source, key: str) -> None:
    """A column the declaration names must be there; the error lists the file's columns."""
    if column not in columns:
        raise PtuneError(
            f"{source.label}: no column {column!r} ({key}); its columns are {columns}; "
            f"name the right one with {key}=COLUMN"
        )


def text_fields(task: CustomTaskConfig, columns: list[str], source: Source) -> tuple[str, str | None]:
    """The classification text column(s): declared (one or two), or the first default the file has."""
    if task.text_fields:
        if len(task.text_fields) > 2:
            raise PtuneError(f"task.text_fields={list(task.text_fields)}: one text or a pair, not more")
        for column in task.text_fields:
            need(columns, column, source, "task.text_fields")
        return task.text_fields[0], (task.text_fields[1] if len(task.text_fields) == 2 else None)
    for fields in TEXT_DEFAULTS:
        if all(f in columns for f in fields):
            return fields[0], (fields[1] if len(fields) == 2 else None)
    raise PtuneError(
        f"{source.label}: no text column among the defaults (text, sentence, sentence1/sentence2, "
        f"premise/hypothesis); its columns are {columns}; name them with task.text_fields=[a] or [a,b]"
    )


def text(value, where: str, column: str) -> str:
    if value is None or isinstance(value, (list, dict)):
        what = "empty" if value is None else "not a text"
        raise PtuneError(f"{where}: {column!r} is {what}; every row needs its text")
    return value if isinstance(value, str) else str(value)


def classification_texts(table, fields: tuple[str, str | None], source: Source) -> list[dict]:
    """Rows {idx, text_a, text_b} of a table (labels come later)."""
    a, b = fields
    texts_a, texts_b = table[a], (table[b] if b else [None] * len(table))
    return [
        {
            "idx": i,
            "text_a": text(x, source.where(i), a),
            "text_b": None if b is None else text(y, source.where(i), b),
        }
        for i, (x, y) in enumerate(zip(texts_a, texts_b))
    ]


def tagging_rows(task: CustomTaskConfig, table, source: Source, labelled: bool) -> list[dict]:
    """Rows {idx, tokens, tags} of a table with a words column and a tags column (IOB2 tags)."""
    columns = list(table.column_names)
    tokens_col = task.tokens_field or "tokens"
    tags_col = task.tags_field or ("tags" if "tags" in columns or "ner_tags" not in columns else "ner_tags")
    need(columns, tokens_col, source, "task.tokens_field")
    if labelled:
        need(columns, tags_col, source, "task.tags_field")
    names = getattr(getattr(table.features.get(tags_col), "feature", None), "names", None) or task.labels
    rows = []
    for i, row in enumerate(table):
        where = source.where(i)
        tokens = [text(t, where, tokens_col) for t in row[tokens_col] or []]
        tags = [_tag(t, names, where) for t in row.get(tags_col) or []] if tags_col in row else []
        if tags and len(tags) != len(tokens):
            raise PtuneError(f"{where}: {len(tokens)} tokens but {len(tags)} tags; give one tag per token")
        if labelled and not tags and tokens:
            raise PtuneError(f"{where}: no tags; every row of a training or evaluation split needs them")
        if tokens:
            rows.append({"idx": len(rows), "tokens": tokens, "tags": to_iob2(tags)[0] if tags else []})
    return rows


def _tag(tag, names, where: str) -> str:
    if isinstance(tag, int) and not isinstance(tag, bool):
        if not names or not 0 <= tag < len(names):
            raise PtuneError(f"{where}: tag {tag} is a number; name the tags with task.labels=[O,B-X,I-X,...]")
        tag = names[tag]
    problem = check_tag(str(tag))
    if problem:
        raise PtuneError(f"{where}: {problem}")
    return str(tag)


def qa_rows(task: CustomTaskConfig, table, source: Source, labelled: bool) -> list[dict]:
    """Rows of the qa family; every answer must be in its context at its answer_start."""
    columns = list(table.column_names)
    for column, key in ((task.question_field, "question_field"), (task.context_field, "context_field")):
        need(columns, column, source, f"task.{key}")
    if labelled:
        need(columns, task.answers_field, source, "task.answers_field")
    id_col = task.id_field or ("id" if "id" in columns else None)
    if id_col:
        need(columns, id_col, source, "task.id_field")
    rows, seen = [], {}
    for i, row in enumerate(table):
        where = source.where(i)
        qid = str(row[id_col]) if id_col else str(i)
        if qid in seen:
            raise PtuneError(f"{where}: question id {qid!r} is also at {seen[qid]}; every question needs its own id")
        seen[qid] = where
        context = text(row[task.context_field], where, task.context_field)
        texts, starts = _answers(row.get(task.answers_field), context, f"{where} (id {qid!r})", labelled)
        question = text(row[task.question_field], where, task.question_field)
        rows.append({"id": qid, "title": "", "question": question, "context": context} | _answer_cols(texts, starts))
    return rows


def _answer_cols(texts: list, starts: list) -> dict:
    return {"answer_texts": texts, "answer_starts": starts, "is_impossible": False}


def _answers(value, context: str, where: str, labelled: bool) -> tuple[list[str], list[int]]:
    if value is None or (isinstance(value, dict) and not value.get("text")):
        if labelled:
            raise PtuneError(f"{where}: no answer; every question of a training or evaluation split needs one")
        return [], []
    if not isinstance(value, dict) or "text" not in value or "answer_start" not in value:
        raise PtuneError(f"{where}: answers must be {{text: [...], answer_start: [...]}} as in SQuAD")
    texts, starts = list(value["text"]), list(value["answer_start"])
    if len(texts) != len(starts):
        raise PtuneError(f"{where}: {len(texts)} answer texts but {len(starts)} answer_start offsets")
    for answer, start in zip(texts, starts):
        if not isinstance(start, int) or not isinstance(answer, str) or context[start : start + len(answer)] != answer:
            raise PtuneError(
                f"{where}: the answer {answer!r:.60} is not in the context at answer_start={start!r}; "
                "answer_start must be the answer's character offset in the context"
            )
    return texts, starts


def choice_rows(task: CustomTaskConfig, table, source: Source, labelled: bool) -> list[dict]:
    """Rows {idx, first, second, label} of the multiple_choice family: (context, choice) per choice."""
    columns = list(table.column_names)
    context = context_field(task, columns, source)
    choices = choice_fields(task, columns, source)
    if labelled:
        need(columns, task.label_field, source, "task.label_field")
    rows = []
    for i, row in enumerate(table):
        where = source.where(i)
        label = row.get(task.label_field)
        if label is None:
            if labelled:
                raise PtuneError(f"{where}: no label; every training or evaluation row needs one")
            label = UNLABELLED
        elif isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(choices):
            raise PtuneError(f"{where}: label {label!r:.40} is not a choice index 0..{len(choices) - 1}")
        texts = [text(row[c], where, c) for c in choices]
        rows.append({"idx": i, "first": [text(row[context], where, context)] * len(texts), "second": texts})
        rows[-1]["label"] = label
    return rows


def context_field(task: CustomTaskConfig, columns: list[str], source: Source) -> str:
    if task.text_fields:
        need(columns, task.text_fields[0], source, "task.text_fields")
        return task.text_fields[0]
    found = next((c for c in CONTEXT_DEFAULTS if c in columns), None)
    if found is None:
        raise PtuneError(
            f"{source.label}: no context column among {list(CONTEXT_DEFAULTS)}; its columns are {columns}; "
            "name it with task.text_fields=[COLUMN]"
        )
    return found


def choice_fields(task: CustomTaskConfig, columns: list[str], source: Source) -> list[str]:
    if task.choice_fields:
        for c in task.choice_fields:
            need(columns, c, source, "task.choice_fields")
        return list(task.choice_fields)
    found = sorted((c for c in columns if CHOICE.match(c)), key=lambda c: int(CHOICE.match(c).group(2)))
    if len(found) < 2:
        raise PtuneError(
            f"{source.label}: fewer than two choice columns (choice1, choice2, ...); its columns are {columns}; "
            "name them with task.choice_fields=[a,b,...]"
        )
    return found
