"""Rows of the qa family from questions given as dicts: a list passed to the API or the server, the
questions of a SQuAD json file (`benchmarks/squad.py` parses its articles and paragraphs into them), or a
dataset's rows. Checked as read (one error naming the question's place and id): unique ids, and every
answer's `answer_start` (a character offset: 0 <= start, start + len(text) <= len(context), and the
context reads the answer's text there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.files import json_type
from ptune_exp.tasks.values import field, where

LAYOUT = "the official SQuAD layout"


def question_rows(examples: Iterable, where: Callable[[int], str], version: str, labelled: bool = False) -> list[dict]:
    """Rows of questions given as dicts: `question`, `context`, optional `id` (default: the position),
    `title`, `answers` (SQuAD's [{text, answer_start}], or the hub's {text: [...], answer_start: [...]})
    and `is_impossible`. Ids must be unique; with `labelled`, every question needs its answers (or,
    SQuAD 2.0, `is_impossible: true`)."""
    rows, seen = [], {}
    for i, example in enumerate(examples):
        row = _row(example, i, (version, labelled), where(i))
        if row["id"] in seen:
            raise PtuneError(
                f"{where(i)}: question id {row['id']!r} appears twice (first at {seen[row['id']]}); "
                "every question needs its own id"
            )
        seen[row["id"]] = where(i)
        rows.append(row)
    return rows


def _id(example, position: int) -> str:
    value = example.get("id") if isinstance(example, dict) else None
    if value is None:
        return str(position)
    return str(value) if type(value) is int else field(example, "id", str)


def _row(example, position: int, mode: tuple[str, bool], where_: str) -> dict:
    version, labelled = mode
    with where(where_, LAYOUT):
        id_ = _id(example, position)
    where_ = f"{where_} (id {id_})"
    with where(where_, LAYOUT):
        impossible = field(example, "is_impossible", bool, default=False)
        question, context = field(example, "question", str), field(example, "context", str)
        title = field(example, "title", str, default="")
        texts, starts = _answers(_answer_list(example.get("answers")), context, where_)
    if impossible and version != "2.0":
        raise PtuneError(
            f"{where_}: an unanswerable (is_impossible) question: this is a SQuAD 2.0 file, use task=squad_v2"
        )
    if impossible and texts:
        raise PtuneError(f"{where_}: is_impossible is true but the question has answers")
    if labelled and not texts and not impossible:
        unanswerable = " (or, if it has none, is_impossible: true)" if version == "2.0" else ""
        raise PtuneError(f"{where_}: no answers; a training or evaluation file needs them{unanswerable}")
    return {
        "id": id_,
        "title": title,
        "question": question,
        "context": context,
        "answer_texts": texts,
        "answer_starts": starts,
        "is_impossible": impossible,
    }


def _answer_list(answers) -> list:
    """SQuAD's answer list; the hub's columns ({text: [...], answer_start: [...]}) become one."""
    if answers is None:
        return []
    if isinstance(answers, dict) and set(answers) == {"text", "answer_start"}:
        pairs = zip(answers["text"], answers["answer_start"], strict=False)
        return [{"text": text, "answer_start": start} for text, start in pairs]
    if not isinstance(answers, list):
        raise ValueError(f"field 'answers' should be an array, got {json_type(answers)}")
    return answers


def _answers(answers: list, context: str, where_: str) -> tuple[list[str], list[int]]:
    """Texts and start characters of a question's answers, each checked against the context."""
    texts, starts = [], []
    for n, answer in enumerate(answers):
        at = f"answers[{n}]."
        text, start = field(answer, "text", str, at=at), field(answer, "answer_start", int, at=at)
        _check_answer(text, start, context, f"{where_}.answers[{n}]")
        texts.append(text)
        starts.append(start)
    return texts, starts


def _check_answer(text: str, start: int, context: str, where_: str) -> None:
    """The answer's text must be in the context at answer_start, its character offset. The official
    scorer compares texts only, but training labels (and the dev loss) come from the offset: a wrong one
    would teach, or score, another span, so it is an error (the official files' offsets all match)."""
    if not text:
        raise PtuneError(f"{where_}: the answer text is empty")
    if start < 0 or start + len(text) > len(context):
        raise PtuneError(
            f"{where_}: answer_start={start} is outside the context ({len(context)} characters) for the answer "
            f"{text!r}; it must be the answer's character offset in the context"
        )
    if context[start : start + len(text)] != text:
        raise PtuneError(
            f"{where_}: answer_start={start} does not point at the answer text {text!r} "
            f"in the context (it reads {context[start : start + len(text)]!r})"
        )
