"""Corpus: a task of the user's own (task=custom) with bad data or a bad declaration, and a model preset
without its checkpoint. Each ends in exit 2 and one line naming the file, row or key, before any run."""

import json
from pathlib import Path

from corpus import SMOKE, Case
from custom_fixtures import CONTEXT, QUESTIONS, SENTIMENT, TAGGED, write

OUT = "hydra.run.dir={tmp}/out"
MINE = ("task=custom", "task.name=mine")


def custom(id, message, files: dict, *args):
    """`ptune-exp task=custom task.name=mine` on files written into {tmp}/c (name -> rows, or bytes/text);
    `task.data_files.<role>={tmp}/c/<name>` for each file whose name starts with its role."""

    def setup(paths):
        folder = Path(paths.tmp) / "c"
        folder.mkdir(exist_ok=True)
        for name, content in files.items():
            if isinstance(content, list):
                write(folder / name, content)
            else:
                (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    roles = [f"task.data_files.{name.split('.')[0]}={{tmp}}/c/{name}" for name in files]
    return Case(f"custom-{id}", "ptune-exp", (*SMOKE, OUT, *MINE, *roles, *args), 2, message, setup)


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


GOOD = {"train.csv": SENTIMENT, "dev.csv": SENTIMENT[:6]}
OTHER_LABEL = [*SENTIMENT[:3], {"text": "so so", "label": "meh"}]
SHORT_TAGS = [TAGGED[0], {"tokens": ["Mary", "sings"], "tags": ["B-PER"]}]
NOT_THERE = {"text": ["Rome"], "answer_start": [21]}
BAD_ANSWER = [QUESTIONS[0], {**QUESTIONS[1], "answers": NOT_THERE}]

CASES = [
    custom(
        "missing-column",
        r"c/train\.csv: no column 'sentence' \(task\.text_fields\); its columns are \['text', 'label'\]",
        GOOD,
        "task.text_fields=[sentence]",
    ),
    custom(
        "label-not-in-train",
        r"c/dev\.csv:5: label 'meh' is not one of the train split's labels",
        {**GOOD, "dev.csv": OTHER_LABEL},
    ),
    custom("empty-split", r"c/dev\.csv: the split is empty", {**GOOD, "dev.csv": "text,label\n"}),
    custom(
        "not-the-format",
        r"c/train\.parquet is not a readable parquet file",
        {"train.parquet": "text,label\nhi,pos\n", "dev.csv": SENTIMENT},
    ),
    custom(
        "mixed-label-types-in-a-file",
        r"c/train\.jsonl:2: label 1 is an integer, but the label at .*train\.jsonl:1 is a string; mixed label types",
        {"train.jsonl": jsonl([{"text": "a", "label": "pos"}, {"text": "b", "label": 1}]), "dev.csv": SENTIMENT},
    ),
    custom(
        "mixed-label-types-across-splits",
        r"c/dev\.jsonl:1: label 1 is an integer, but the label at .*train\.csv:2 is a string; mixed label types",
        {"train.csv": SENTIMENT, "dev.jsonl": jsonl([{"text": "a", "label": 1}])},
    ),
    custom(
        "tokens-and-tags-differ",
        r"c/train\.jsonl:2: 2 tokens but 1 tags; give one tag per token",
        {"train.jsonl": SHORT_TAGS, "dev.jsonl": TAGGED},
        "task.family=tagging",
    ),
    custom(
        "answer-not-in-context",
        r"c/train\.jsonl:2 \(id 'q1'\): the answer 'Rome' is not in the context at answer_start=21",
        {"train.jsonl": BAD_ANSWER, "dev.jsonl": QUESTIONS},
        "task.family=qa",
    ),
    custom(
        "metric-of-another-family",
        r"task\.metrics: 'accuracy' does not fit a tagging task",
        GOOD,
        "task.family=tagging",
        "task.metrics=[accuracy]",
    ),
    custom(
        "main-metric-not-a-metric",
        r"task\.main_metric=mcc: expected one of task\.metrics",
        GOOD,
        "task.main_metric=mcc",
    ),
    custom(
        "no-dev",
        r"task=mine has no dev split: give task\.data_files\.dev=FILE, or task\.dev_fraction",
        {"train.csv": SENTIMENT},
    ),
    custom("a-built-in-name", r"task\.name=rte is a built-in task's name", GOOD, "task.name=rte"),
    custom("unknown-family", r"task\.family=taging: did you mean tagging\?", GOOD, "task.family=taging"),
    custom(
        "unknown-extension",
        r"c/train\.dat: cannot tell its format from the extension",
        {"train.dat": "x", "dev.csv": SENTIMENT},
    ),
    Case(
        "custom-no-name",
        "ptune-exp",
        (*SMOKE, "task=custom", "task.data_files.train=x.csv"),
        2,
        r"task=custom needs task\.name=NAME",
    ),
    Case(
        "custom-no-data",
        "ptune-exp",
        (*SMOKE, OUT, *MINE),
        2,
        r"task=mine has no data: give task\.data_files\.train=FILE .* or task\.hub_id=ID",
    ),
    Case(
        "custom-no-such-file",
        "ptune-exp",
        (*SMOKE, OUT, *MINE, "task.data_files.train={tmp}/nope.csv", "task.data_files.dev={tmp}/nope.csv"),
        2,
        r"nope\.csv: no such file",
    ),
    Case(
        "model-auto-without-a-checkpoint",
        "ptune-exp",
        ("model=auto", "train=smoke", OUT),
        2,
        r"model=auto needs model\.name_or_path",
    ),
]
assert CONTEXT  # the QA rows' context (custom_fixtures)
