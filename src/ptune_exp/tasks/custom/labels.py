"""A custom classification task's labels: the values its files hold -> the head's label list.

Order (documented in docs/custom-data.md): `task.labels` when given; else a hub `ClassLabel`'s names
in its own order; else the distinct train labels sorted: booleans False, True; integers ascending;
strings in Python's (code point) order. Labels with a fractional part make a regression task (one
output, as stsb). Every value is named by its text (`1`, `True`, `positive`), which is what predictions
print. A dev or test label that train does not have, a label of another type than train's, and a row
without its label are errors that name the file and row.
"""

from __future__ import annotations

import math

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.custom.read import Source

KINDS = {bool: "boolean", int: "integer", float: "number", str: "string"}


def kind_of(value) -> str | None:
    """The label kind of one value (None: no label); a whole float (from a csv with gaps) is an integer."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return "integer"
    for cls, kind in KINDS.items():
        if type(value) is cls:
            return kind
    return type(value).__name__


def name_of(value) -> str:
    """A label's name: its text; a whole float is written as the integer it is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_values(values: list, source: Source, role: str, kinds: dict) -> str:
    """The split's one label kind; a row without a label, or of another kind than the rows (or splits)
    before it, is an error. `kinds` maps a kind to where it was first seen (shared by the splits)."""
    seen = None
    for i, value in enumerate(values):
        kind = kind_of(value)
        if kind is None:
            raise PtuneError(f"{source.where(i)}: no label; every {role} row needs one")
        if kind not in ("boolean", "integer", "number", "string"):
            raise PtuneError(f"{source.where(i)}: label {value!r:.40} is a {kind}; labels are strings or numbers")
        for first, at in kinds.items():
            if _group(first) != _group(kind):
                raise PtuneError(
                    f"{source.where(i)}: label {value!r:.40} is {_a(kind)}, but the label at {at} is "
                    f"{_a(first)}; mixed label types: write every label the same way"
                )
        kinds.setdefault(kind, source.where(i))
        seen = kind
    return seen


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _group(kind: str) -> str:
    return "number" if kind in ("integer", "number") else kind


def infer(train: list, names: list[str] | None) -> tuple[str, ...]:
    """The label list from train's values (or a ClassLabel's names); () for a regression task."""
    if names:
        return tuple(names)
    kinds = {kind_of(v) for v in train}
    if "number" in kinds:
        return ()
    if kinds == {"boolean"}:
        return tuple(str(v) for v in sorted(set(train)))
    if kinds <= {"integer"}:
        return tuple(name_of(v) for v in sorted({int(v) for v in train}))
    return tuple(sorted({name_of(v) for v in train}))


def indices(values: list, labels: tuple[str, ...], source: Source, declared: bool) -> list[int]:
    """Each value's index in `labels`; a value not there names its file and row."""
    position = {label: i for i, label in enumerate(labels)}
    out = []
    for i, value in enumerate(values):
        name = name_of(value)
        if name not in position:
            where = "task.labels" if declared else "the train split's labels"
            raise PtuneError(
                f"{source.where(i)}: label {name!r} is not one of {where} {list(labels)[:10]}; "
                + ("add it to task.labels" if declared else "fix the label, or declare every label with task.labels")
            )
        out.append(position[name])
    return out


def scores(values: list, source: Source) -> list[float]:
    """Regression targets: finite numbers."""
    out = []
    for i, value in enumerate(values):
        if kind_of(value) not in ("integer", "number") or not math.isfinite(float(value)):
            raise PtuneError(f"{source.where(i)}: label {value!r:.40} is not a finite number (a regression task)")
        out.append(float(value))
    return out
