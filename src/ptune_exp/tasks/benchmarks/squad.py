"""SQuAD (Rajpurkar et al. 2016, 2018): `squad` (1.1) and `squad_v2` (2.0, with unanswerable questions).

Hub: `rajpurkar/squad`, `rajpurkar/squad_v2` (parquet, load with current `datasets`; splits `train`,
`validation`). Local (`task.data_dir=DIR`): the official json files under their official names,
`train-v1.1.json` / `dev-v1.1.json` for `squad` and `train-v2.0.json` / `dev-v2.0.json` for
`squad_v2`. The official test sets are hidden, so dev metrics are the result. To split one official
file by article into train/dev files (e.g. the dev set, for an offline check), see
`scripts/split_squad.py`.

Checked as read (one error naming the file, the question's place and id): the official layout, unique
question ids, and every answer's `answer_start` (a character offset: 0 <= start, start + len(text) <=
len(context), and the context reads the answer's text there). The official scorer compares texts only,
but training labels and the dev loss come from the offset, so a wrong one (e.g. -598, which Python would
slice from the end) is refused rather than trained as another span or as "no answer". In a training or
evaluation file every question needs answers (SQuAD 2.0: or `is_impossible: true`).
"""

from __future__ import annotations

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.qa import QASpec
from ptune_exp.tasks.files import parse_json, read_text
from ptune_exp.tasks.spec import Split, register
from ptune_exp.tasks.values import field, where

LAYOUT = "the official SQuAD layout"


def read_squad_json(path: str, version: str, labelled: bool = False) -> list[dict]:
    """Rows of the qa family from one official SQuAD json file: {"version", "data": [articles]},
    article = {"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers", "is_impossible"?}]}]}.
    With `labelled`, every question needs its answers (or, SQuAD 2.0, `is_impossible: true`)."""
    data = parse_json(read_text(path), path, "an official SQuAD json file")
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise PtuneError(f'{path}: expected the official SQuAD layout {{"version": ..., "data": [articles]}}')
    rows, seen = [], {}
    for a, article in enumerate(articles):
        where_ = f"{path}: data[{a}]"
        with where(where_, LAYOUT):
            title = field(article, "title", str, default="")
            paragraphs = field(article, "paragraphs", list)
        for p, paragraph in enumerate(paragraphs):
            rows += _paragraph(paragraph, title, (version, labelled), f"{where_}.paragraphs[{p}]", seen)
    return rows


def _paragraph(paragraph, title: str, mode: tuple[str, bool], where_: str, seen: dict) -> list[dict]:
    """The rows of one paragraph's questions; `seen` maps the ids read so far to where they were."""
    with where(where_, LAYOUT):
        context = field(paragraph, "context", str)
        qas = field(paragraph, "qas", list)
    rows = []
    for q, qa in enumerate(qas):
        row = _row(qa, title, context, mode, f"{where_}.qas[{q}]")
        if row["id"] in seen:
            raise PtuneError(
                f"{where_}.qas[{q}]: question id {row['id']!r} appears twice (first at {seen[row['id']]}); "
                "every question needs its own id"
            )
        seen[row["id"]] = f"{where_}.qas[{q}]"
        rows.append(row)
    return rows


def _row(qa, title: str, context: str, mode: tuple[str, bool], where_: str) -> dict:
    version, labelled = mode
    with where(where_, LAYOUT):
        id_ = field(qa, "id", str)
    where_ = f"{where_} (id {id_})"
    with where(where_, LAYOUT):
        impossible = field(qa, "is_impossible", bool, default=False)
        question = field(qa, "question", str)
        texts, starts = _answers(field(qa, "answers", list, default=[]), context, where_)
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
