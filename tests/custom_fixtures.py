"""Small data files of a custom task in every format it reads (tests/test_custom.py, the bad-input corpus)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

WORDS = ("good", "bad")
SENTIMENT = [{"text": f"it was {WORDS[i % 2]} number {i}", "label": ("pos", "neg")[i % 2]} for i in range(12)]
PAIRS = [
    {"premise": f"A man plays {i}.", "hypothesis": f"Someone plays {i}.", "label": ("yes", "no")[i % 2]}
    for i in range(8)
]
SCORES = [{"sentence1": f"A plane {i}.", "sentence2": "An airplane.", "label": i % 5 + 0.5} for i in range(8)]
TAGGED = [
    {"tokens": ["John", "lives", "in", "Paris", str(i)], "tags": ["B-PER", "O", "O", "B-LOC", "O"]} for i in range(8)
]
CONTEXT = "Mary won the game in Paris."
QUESTIONS = [
    {
        "id": f"q{i}",
        "question": "Where did Mary win?",
        "context": CONTEXT,
        "answers": {"text": ["Paris"], "answer_start": [21]},
    }
    for i in range(6)
]
CHOICES = [
    {"context": f"The glass fell {i}.", "choice1": "It broke.", "choice2": "It sang.", "label": i % 2} for i in range(8)
]
CONLL = "-DOCSTART- O\n\n" + "".join(f"John B-PER\nlives O\nin O\nParis B-LOC\n{i} O\n\n" for i in range(8))


def write(path: Path, rows: list[dict], fmt: str | None = None) -> str:
    """rows as a file in the format of its extension (csv, tsv, json, jsonl, parquet)."""
    fmt = fmt or path.suffix[1:]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("csv", "tsv"):
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t" if fmt == "tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif fmt == "parquet":
        from datasets import Dataset

        Dataset.from_list(rows).to_parquet(str(path))
    return str(path)


def squad_json(rows: list[dict]) -> str:
    """Questions as one official SQuAD 1.1 file (one paragraph per question)."""
    paragraphs = [
        {
            "context": r["context"],
            "qas": [
                {
                    "id": r["id"],
                    "question": r["question"],
                    "answers": [
                        {"text": t, "answer_start": s}
                        for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])
                    ],
                }
            ],
        }
        for r in rows
    ]
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]})


def sentiment_args(folder: Path, fmt: str = "csv", rows=SENTIMENT) -> list[str]:
    """A sentiment task (text, label) as train and dev files of one format."""
    train, dev = write(folder / f"train.{fmt}", rows), write(folder / f"dev.{fmt}", rows[:6])
    return ["task=custom", "task.name=mine", f"task.data_files.train={train}", f"task.data_files.dev={dev}"]
