"""SQuAD (Rajpurkar et al. 2016, 2018): `squad` (1.1) and `squad_v2` (2.0, with unanswerable questions).

Hub: `rajpurkar/squad`, `rajpurkar/squad_v2` (parquet, load with current `datasets`; splits `train`,
`validation`). Local (`task.data_dir=DIR`): the official json files under their official names,
`train-v1.1.json` / `dev-v1.1.json` for `squad` and `train-v2.0.json` / `dev-v2.0.json` for
`squad_v2`. The official test sets are hidden, so dev metrics are the result. To split one official
file by article into train/dev files (e.g. the dev set, for an offline check), see
`scripts/split_squad.py`.

Checked as read (one error naming the file, the question's place and id): the official layout, then, as
for questions given in memory (`families/qa_rows.py`), unique question ids, and every answer's
`answer_start` (a character offset: 0 <= start, start + len(text) <= len(context), and the context reads
the answer's text there). The official scorer compares texts only,
but training labels and the dev loss come from the offset, so a wrong one (e.g. -598, which Python would
slice from the end) is refused rather than trained as another span or as "no answer". In a training or
evaluation file every question needs answers (SQuAD 2.0: or `is_impossible: true`).
"""

from __future__ import annotations

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.qa import QASpec
from ptune_exp.tasks.families.qa_rows import LAYOUT, question_rows
from ptune_exp.tasks.files import parse_json, read_text
from ptune_exp.tasks.spec import Split, register
from ptune_exp.tasks.values import field, where


def read_squad_json(path: str, version: str, labelled: bool = False) -> list[dict]:
    """Rows of the qa family from one official SQuAD json file: {"version", "data": [articles]},
    article = {"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers", "is_impossible"?}]}]}.
    The file's questions, each with its paragraph's context and its article's title, go through the
    family's own path (`question_rows`). With `labelled`, every question needs its answers (or, SQuAD 2.0,
    `is_impossible: true`)."""
    data = parse_json(read_text(path), path, "an official SQuAD json file")
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise PtuneError(f'{path}: expected the official SQuAD layout {{"version": ..., "data": [articles]}}')
    questions, places = [], []
    for a, article in enumerate(articles):
        where_ = f"{path}: data[{a}]"
        with where(where_, LAYOUT):
            title = field(article, "title", str, default="")
            paragraphs = field(article, "paragraphs", list)
        for p, paragraph in enumerate(paragraphs):
            for place, question in _paragraph(paragraph, title, f"{where_}.paragraphs[{p}]"):
                places.append(place)
                questions.append(question)
    return question_rows(questions, places.__getitem__, version, labelled)


def _paragraph(paragraph, title: str, where_: str) -> list[tuple[str, dict]]:
    """(place, question) of each of a paragraph's questions, with the paragraph's context and the article's
    title; every question has a string id."""
    with where(where_, LAYOUT):
        context = field(paragraph, "context", str)
        qas = field(paragraph, "qas", list)
    out = []
    for q, qa in enumerate(qas):
        with where(f"{where_}.qas[{q}]", LAYOUT):
            field(qa, "id", str)
        out.append((f"{where_}.qas[{q}]", {**qa, "title": title, "context": context}))
    return out


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
