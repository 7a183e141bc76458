"""Inputs given in memory (the API's `Predictor.predict`, the server's requests): a list of examples in the
task's own fields, read straight into the family's rows by the family's own `read_examples`, the path its
file reader takes after parsing a file, so a list and a file with the same inputs give the same rows, the
same checks and the same predictions. No file is written; an error names `inputs[i]`.

  classification   a dict with the fields of the task's files (SuperGLUE RTE: premise, hypothesis;
                   GLUE RTE: sentence1, sentence2; synth_sentiment: sentence), `label` optional, or a
                   plain string for a single-text task; a GLUE task reads values as its tsv cells hold
                   them (text). GLUE tasks whose files have no header take files only.
  multiple_choice  a dict in the official SuperGLUE jsonl fields (COPA: premise, choice1, choice2,
  candidates       question; MultiRC, ReCoRD: a passage with its questions, as one line of their files)
  qa               {"question", "context"}, optional "id" (default: the position), "title",
                   "answers", "is_impossible"
  tagging          {"tokens": [words]} (optional "tags"), a list of words, or a string split at whitespace
  srl              {"tokens": [words], "predicate": index of the predicate word} (optional "tags")

`results` turns the family's predictions back into one dict per input, in input order: the rows the
prediction file holds (classification, multiple_choice; candidates: one per question, so a MultiRC or
ReCoRD passage gives one per question it holds), {"id", "answer"} (qa), or {"idx", "tokens", "tags"}
(+ "predicate" for srl; tagging and srl files hold the same tags as CoNLL).
"""

from __future__ import annotations

from ptune_exp.errors import PtuneError
from ptune_exp.tasks import family_of

FAMILIES = ("classification", "multiple_choice", "candidates", "qa", "tagging", "srl")


def input_rows(task, inputs: list) -> list[dict]:
    """The family's rows of a list of inputs (see the module docstring); a bad input is a PtuneError
    that names `inputs[i]`."""
    return family_of(task).read_examples(task, examples(task, inputs))


def input_dataset(task, inputs: list):
    """The same rows as a Dataset (what `predict.predict_raw` takes, as `ptune-exp-predict` reads a file)."""
    from datasets import Dataset

    return Dataset.from_list(input_rows(task, inputs), features=family_of(task).row_features)


def examples(task, inputs: list) -> list:
    """The inputs as dicts in the task's fields: a string or a list of words becomes the dict it stands for."""
    if task.family not in FAMILIES:
        raise PtuneError(f"task family {task.family} takes no Python inputs; use ptune-exp-predict with a file")
    if task.family in ("tagging", "srl"):
        return [x if isinstance(x, dict) else {"tokens": x} for x in inputs]
    if task.family == "classification" and task.file_format == "glue_tsv" and not task.file_header:
        raise PtuneError(
            f"task={task.name} reads GLUE tsv files without a header (columns by position); "
            "give its inputs as a file to ptune-exp-predict"
        )
    single = _text_fields(task)[0] if task.family == "classification" and not task.is_pair else None
    return [_example(x, i, single) for i, x in enumerate(inputs)]


def _example(x, i: int, text_field: str | None) -> dict:
    if isinstance(x, str) and text_field:
        return {text_field: x}
    if isinstance(x, dict):
        return x
    also = f" or a string ({text_field!r})" if text_field else ""
    raise PtuneError(f"inputs[{i}] is {type(x).__name__}: give a dict with the task's fields{also}")


def read_inputs(task, path: str, as_rows: bool = False):
    """The inputs of a file in the task family's local format (labels optional), as raw rows: a Dataset,
    or with `as_rows` a list of dicts."""
    family = family_of(task)
    try:
        return family.read_input_rows(task, path) if as_rows else family.read_inputs(task, path)
    except UnicodeDecodeError:
        raise PtuneError(f"{path} is not UTF-8 text; give inputs in the task's local format") from None
    except OSError as e:
        raise PtuneError(f"{path} cannot be read ({e})") from None


def results(task, inputs: list, predictions, raw) -> list[dict]:
    """One prediction per input, in input order (`raw`: the inputs' rows, which hold the QA ids)."""
    if task.family == "qa":
        out = [{"id": id_, "answer": predictions[id_]} for id_ in raw["id"]]
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


def _text_fields(task) -> tuple:
    """The fields of the task's file that hold its text(s)."""
    if task.file_format == "generated":
        return (task.hub_text[0], None)
    return tuple(task.file_columns[:2])
