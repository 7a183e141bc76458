"""SQuAD (Rajpurkar et al. 2016, 2018): `squad` (1.1) and `squad_v2` (2.0, with unanswerable questions).

Hub: `rajpurkar/squad`, `rajpurkar/squad_v2` (parquet, load with current `datasets`; splits `train`,
`validation`). Local (`task.data_dir=DIR`): the official json files under their official names,
`train-v1.1.json` / `dev-v1.1.json` for `squad` and `train-v2.0.json` / `dev-v2.0.json` for
`squad_v2`. The official test sets are hidden, so dev metrics are the result. To split one official
file by article into train/dev files (e.g. the dev set, for an offline check), see
`scripts/split_squad.py`.
"""

from __future__ import annotations

import json

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.qa import QASpec
from ptune_exp.tasks.spec import Split, register


def read_squad_json(path: str, version: str) -> list[dict]:
    """Rows of the qa family from one official SQuAD json file: {"version", "data": [articles]},
    article = {"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers", "is_impossible"?}]}]}."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise PtuneError(
                f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); expected an official SQuAD json file"
            ) from None
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise PtuneError(f'{path}: expected the official SQuAD layout {{"version": ..., "data": [articles]}}')
    rows = []
    for a, article in enumerate(articles):
        where = f"{path}: data[{a}]"
        title = _field(article, "title", str, where, default="")
        for p, paragraph in enumerate(_field(article, "paragraphs", list, where)):
            context = _field(paragraph, "context", str, f"{where}.paragraphs[{p}]")
            for q, qa in enumerate(_field(paragraph, "qas", list, f"{where}.paragraphs[{p}]")):
                rows.append(_row(qa, title, context, version, f"{where}.paragraphs[{p}].qas[{q}]"))
    return rows


def _row(qa, title: str, context: str, version: str, where: str) -> dict:
    id_ = _field(qa, "id", str, where)
    where = f"{where} (id {id_})"
    impossible = _field(qa, "is_impossible", bool, where, default=False)
    if impossible and version != "2.0":
        raise PtuneError(
            f"{where}: an unanswerable (is_impossible) question: this is a SQuAD 2.0 file, use task=squad_v2"
        )
    texts, starts = [], []
    for n, answer in enumerate(_field(qa, "answers", list, where, default=[])):
        text = _field(answer, "text", str, f"{where}.answers[{n}]")
        start = _field(answer, "answer_start", int, f"{where}.answers[{n}]")
        if not text or context[start : start + len(text)] != text:
            raise PtuneError(
                f"{where}.answers[{n}]: answer_start={start} does not point at the answer text {text!r} "
                f"in the context (it reads {context[start : start + len(text)]!r})"
            )
        texts.append(text)
        starts.append(start)
    if impossible and texts:
        raise PtuneError(f"{where}: is_impossible is true but the question has answers")
    return {
        "id": id_,
        "title": title,
        "question": _field(qa, "question", str, where),
        "context": context,
        "answer_texts": texts,
        "answer_starts": starts,
        "is_impossible": impossible,
    }


_MISSING = object()


def _field(obj, key: str, kind: type, where: str, default=_MISSING):
    if not isinstance(obj, dict):
        raise PtuneError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    value = obj.get(key, default)
    if value is _MISSING:
        raise PtuneError(f"{where}: missing field {key!r} (official SQuAD layout expected)")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PtuneError(f"{where}: field {key!r} should be {kind.__name__}, got {type(value).__name__}")
    return value


def squad(name: str, version: str, hub: str, metrics: tuple[str, ...]) -> QASpec:
    files = {"1.1": ("train-v1.1.json", "dev-v1.1.json"), "2.0": ("train-v2.0.json", "dev-v2.0.json")}[version]
    return register(
        QASpec(
            name=name,
            family="qa",
            benchmark="squad",
            metrics=metrics,
            main_metric="f1",
            splits={"train": Split("train", files[0]), "dev": Split("validation", files[1])},
            hub=(hub, None),
            version=version,
            read_file=read_squad_json,
        )
    )


squad("squad", "1.1", "rajpurkar/squad", ("exact_match", "f1"))
squad(
    "squad_v2",
    "2.0",
    "rajpurkar/squad_v2",
    ("exact_match", "f1", "HasAns_exact_match", "HasAns_f1", "NoAns_exact_match", "NoAns_f1"),
)
