"""Python inputs for the API's `Predictor.predict`: a list of examples in the task's own fields, written
to a temporary file in the format `ptune-exp-predict` reads for the task's family. Both then read it with
the family's own reader (`read_inputs`), so the two give the same predictions and the same checks.

  classification   a dict with the fields of the task's files (SuperGLUE RTE: premise, hypothesis;
                   GLUE RTE: sentence1, sentence2; synth_sentiment: sentence), `label` optional, or a
                   plain string for a single-text task. SuperGLUE tasks and synth_sentiment become
                   .jsonl, GLUE tasks a .tsv with a header (texts without tabs or line breaks).
  multiple_choice  a dict in the official SuperGLUE jsonl fields (COPA: premise, choice1, choice2,
  candidates       question; MultiRC, ReCoRD: a passage with its questions, as one line of their files)
                   -> .jsonl
  qa               {"question", "context"}, optional "id" (default: the position), "title",
                   "answers" -> one SQuAD json file
  tagging          {"tokens": [words]}, a list of words, or a string split at whitespace -> CoNLL words
  srl              {"tokens": [words], "predicate": index of the predicate word} -> a props file

`results` turns the family's predictions back into one dict per input, in input order: the rows the
prediction file holds (classification, multiple_choice; candidates: one per question, so a MultiRC or
ReCoRD passage gives one per question it holds), {"id", "answer"} (qa), or {"idx", "tokens", "tags"}
(+ "predicate" for srl; tagging and srl files hold the same tags as CoNLL).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field

from ptune_exp.errors import PtuneError
from ptune_exp.storage.files import write_text
from ptune_exp.tasks import family_of

DOCSTART = "-DOCSTART-"  # a word the CoNLL reader takes for a document break


@dataclass
class Written:
    """An input file written from a list: its path, the line of inputs[0] when each input is one line
    (so a reader's `file:line` can name the input), and the ids given to QA inputs."""

    path: str
    first_line: int | None = None
    ids: list[str] = field(default_factory=list)


def write_inputs(task, inputs: list, folder: str) -> Written:
    """`inputs` as a file in `folder` that the task family's input reader reads."""
    writer = WRITERS.get(task.family)
    if writer is None:
        raise PtuneError(f"task family {task.family} takes no Python inputs; use ptune-exp-predict with a file")
    return writer(task, inputs, folder)


def read_inputs(task, path: str, as_rows: bool = False):
    """The inputs of a file in the task family's local format (labels optional), as raw rows: a Dataset,
    or with `as_rows` a list of dicts (what the server's in-memory `Columns` hold)."""
    family = family_of(task)
    try:
        return family.read_input_rows(task, path) if as_rows else family.read_inputs(task, path)
    except UnicodeDecodeError:
        raise PtuneError(f"{path} is not UTF-8 text; give inputs in the task's local format") from None
    except (OSError, csv.Error) as e:
        raise PtuneError(f"{path} cannot be read ({e})") from None


def named(error: PtuneError, written: Written) -> PtuneError:
    """A reader's error about the temporary file, told about the caller's inputs instead."""

    def name(match: re.Match) -> str:
        line = match.group(2)
        if line is None or written.first_line is None:
            return "inputs"
        return f"inputs[{int(line) - written.first_line}]"

    return PtuneError(re.sub(re.escape(written.path) + r"(:(\d+))?", name, str(error)))


def results(task, inputs: list, predictions, written: Written) -> list[dict]:
    """One prediction per input, in input order."""
    if task.family == "qa":
        out = [{"id": id_, "answer": predictions[id_]} for id_ in written.ids]
    elif task.family in ("tagging", "srl"):
        out = [{"idx": r["idx"], "tokens": r["tokens"], "tags": r["predicted"], **_predicate(r)} for r in predictions]
    else:
        out = list(predictions)
    if len(out) != len(inputs) and task.family != "candidates":
        raise PtuneError(f"{len(inputs)} inputs gave {len(out)} predictions; check the inputs' format")
    return out


def example_input(task) -> dict | None:
    """One input in the task's fields, for documentation (None where the fields are the task's own)."""
    if task.family == "classification":
        fields = [f for f in _text_fields(task) if isinstance(f, str)]
        return dict.fromkeys(fields, "...") if fields and task.compose is None else None
    return {
        "qa": {"question": "...", "context": "..."},
        "tagging": {"tokens": ["...", "..."]},
        "srl": {"tokens": ["...", "..."], "predicate": 1},
    }.get(task.family)


def _predicate(row: dict) -> dict:
    return {"predicate": row["predicate"]} if "predicate" in row else {}


# ---------------------------------------------------------------- one writer per input format


def _text_fields(task) -> tuple:
    """The fields of the task's file that hold its text(s)."""
    if task.file_format == "generated":
        return (task.hub_text[0], None)
    return tuple(task.file_columns[:2])


def _classification(task, inputs: list, folder: str) -> Written:
    if task.file_format == "glue_tsv" and not task.file_header:
        raise PtuneError(
            f"task={task.name} reads GLUE tsv files without a header (columns by position); "
            "give its inputs as a file to ptune-exp-predict"
        )
    single = None if task.is_pair else _text_fields(task)[0]
    rows = [_example(x, i, single) for i, x in enumerate(inputs)]
    return _tsv(rows, folder) if task.file_format == "glue_tsv" else _jsonl(rows, folder)


def _official(task, inputs: list, folder: str) -> Written:
    return _jsonl([_example(x, i, None) for i, x in enumerate(inputs)], folder)


def _example(x, i: int, text_field: str | None) -> dict:
    if isinstance(x, str) and text_field:
        return {text_field: x}
    if isinstance(x, dict):
        return x
    also = f" or a string ({text_field!r})" if text_field else ""
    raise PtuneError(f"inputs[{i}] is {type(x).__name__}: give a dict with the task's fields{also}")


def _jsonl(rows: list[dict], folder: str) -> Written:
    lines = []
    for i, row in enumerate(rows):
        try:
            lines.append(json.dumps(row, ensure_ascii=False))
        except (TypeError, ValueError) as e:
            raise PtuneError(f"inputs[{i}] cannot be written as JSON ({e})") from None
    return Written(_write(folder, "inputs.jsonl", lines), first_line=1)


def _tsv(rows: list[dict], folder: str) -> Written:
    """A GLUE tsv with a header: the fields of inputs[0], the same in every input."""
    names = list(rows[0]) if rows else []
    lines = ["\t".join(names)]
    for i, row in enumerate(rows):
        if list(row) != names:
            raise PtuneError(f"inputs[{i}] has the fields {list(row)}, inputs[0] {names}: a .tsv has one header")
        cells = ["" if v is None else str(v) for v in row.values()]
        plain = all(isinstance(v, (str, int, float, type(None))) for v in row.values())
        if not plain or any(re.search(r"[\t\r\n]", c) for c in cells):
            raise PtuneError(f"inputs[{i}]: a GLUE .tsv holds texts and numbers without tabs or line breaks")
        lines.append("\t".join(cells))
    return Written(_write(folder, "inputs.tsv", lines), first_line=2)


def _squad(task, inputs: list, folder: str) -> Written:
    articles, ids = [], []
    for i, x in enumerate(inputs):
        x = _example(x, i, None)
        for key in ("question", "context"):
            if not isinstance(x.get(key), str):
                raise PtuneError(f"inputs[{i}] needs {key!r} (a string) for task={task.name}")
        qa = {"id": str(x.get("id", i)), "question": x["question"]}
        qa.update({k: x[k] for k in ("answers", "is_impossible") if k in x})
        articles.append({"title": str(x.get("title", "")), "paragraphs": [{"context": x["context"], "qas": [qa]}]})
        ids.append(qa["id"])
    if len(set(ids)) != len(ids):
        raise PtuneError("inputs have the same 'id' twice; give each question its own id (or none)")
    data = json.dumps({"version": getattr(task, "version", ""), "data": articles}, ensure_ascii=False)
    return Written(_write(folder, "inputs.json", [data]), ids=ids)


def _words(task, inputs: list, folder: str) -> Written:
    """CoNLL words, one per line, a blank line after each sentence."""
    lines = []
    for i, x in enumerate(inputs):
        lines += [*_tokens(x, i), ""]
    return Written(_write(folder, "inputs.conll", lines))


def _props(task, inputs: list, folder: str) -> Written:
    """A props file without argument columns: `word predicate`, `-` for every word but the predicate."""
    lines = []
    for i, x in enumerate(inputs):
        tokens, p = _tokens(x, i), x.get("predicate") if isinstance(x, dict) else None
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p < len(tokens):
            raise PtuneError(f"inputs[{i}] needs 'predicate': the index of the predicate word (0..{len(tokens) - 1})")
        lines += [f"{word} {'V' if k == p else '-'}" for k, word in enumerate(tokens)] + [""]
    return Written(_write(folder, "inputs.props", lines))


def _tokens(x, i: int) -> list[str]:
    words = x.get("tokens") if isinstance(x, dict) else x
    words = words.split() if isinstance(words, str) else words  # a sentence: its words split at spaces
    if not isinstance(words, list) or not words:
        raise PtuneError(f"inputs[{i}] needs words: a non-empty list 'tokens' (or a list of words, or a string)")
    for word in words:
        if not isinstance(word, str) or not word or re.search(r"\s", word) or word == DOCSTART:
            raise PtuneError(f"inputs[{i}]: word {word!r} must be a non-empty string without spaces, not {DOCSTART}")
    return words


def _write(folder: str, name: str, lines: list[str]) -> str:
    return write_text(os.path.join(folder, name), "".join(line + "\n" for line in lines))


WRITERS = {
    "classification": _classification,
    "multiple_choice": _official,
    "candidates": _official,
    "qa": _squad,
    "tagging": _words,
    "srl": _props,
}
