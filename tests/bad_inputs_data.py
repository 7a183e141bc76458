"""Corpus: data files and their readers. Each case writes official-layout files, damaged or merely odd
(a byte-order mark), into `{tmp}/d` and runs `ptune-exp task=<t> task.data_dir={tmp}/d`, or writes an
input file for `ptune-exp-predict {export}` (a synth_sentiment export). A damaged file ends in exit 2 and
one line naming the file (and line, or record) and the fix; a file that is only odd trains (exit 0)."""

import json
from pathlib import Path

from corpus import SMOKE, Case

OUT = "hydra.run.dir={tmp}/out"
BOM = b"\xef\xbb\xbf"
DONE = r"(?s)== \w+ on {task} .*\ndev +{metric} \d.*record: .*metrics\.json"  # a completed run's summary


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def files(contents: dict):
    """setup: writes each file (bytes or text) into {tmp}/d; a None makes a folder of that name."""

    def setup(paths):
        d = Path(paths.tmp) / "d"
        d.mkdir(exist_ok=True)
        for name, content in contents.items():
            if content is None:
                (d / name).mkdir()
            else:
                (d / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return setup


def data(id, task, contents, message, *args, exit=2):
    """`ptune-exp` with the smoke settings on the task's files in {tmp}/d: `contents`, and the task's
    good files for the splits it does not name."""
    argv = (*SMOKE, OUT, f"task={task}", "task.data_dir={tmp}/d", *args)
    return Case(f"data-{id}", "ptune-exp", argv, exit, message, files({**GOOD[task], **contents}))


def predict(id, name, content, message, exit=2):
    """`ptune-exp-predict {export}` (synth_sentiment) on an input file {tmp}/<name>."""

    def setup(paths):
        path = Path(paths.tmp) / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return Case(f"data-predict-{id}", "ptune-exp-predict", ("{export}", f"{{tmp}}/{name}"), exit, message, setup)


# ---------------------------------------------------------------- fixtures in the official layouts

MRPC = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + "".join(
    f"{i % 2}\t{100 + i}\t{200 + i}\tThe company said {i} things .\tIt said {i} things , the company said .\n"
    for i in range(8)
)
SST2 = "sentence\tlabel\n" + "".join(f"it was {'good' if i % 2 else 'bad'} {i} .\t{i % 2}\n" for i in range(8))
STSB = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" + "".join(
    f"{i}\tmain\tx\t2012\t{i}\tnone\tnone\tA plane {i}.\tAn airplane.\t{i % 5}.0\n" for i in range(6)
)
CB = [
    {"premise": f"A man sleeps {i}.", "hypothesis": "A man rests.", "label": "entailment", "idx": i} for i in range(6)
]
BOOLQ = [{"question": "is it", "passage": f"It is {i}.", "label": bool(i % 2), "idx": i} for i in range(6)]
COPA = [
    {
        "premise": "He fell.",
        "choice1": "He slipped.",
        "choice2": "He sang.",
        "question": "cause",
        "label": i % 2,
        "idx": i,
    }
    for i in range(6)
]
WSC = [
    {
        "text": "Mark told Pete many lies about himself.",
        "target": {"span1_index": 0, "span1_text": "Mark", "span2_index": 5, "span2_text": "himself"},
        "label": True,
        "idx": 0,
    }
]
MULTIRC = [
    {
        "idx": 0,
        "passage": {
            "text": "<b>Sent 1: </b>John went to Paris.<br>",
            "questions": [{"question": "Where?", "idx": 0, "answers": [{"text": "Paris", "idx": 0, "label": 1}]}],
        },
    }
]
RECORD_TEXT = "John met Mary in Paris."
RECORD = [
    {
        "idx": 0,
        "passage": {"text": RECORD_TEXT, "entities": [{"start": 0, "end": 3}, {"start": 9, "end": 12}]},
        "qas": [{"query": "@placeholder met Mary.", "idx": 0, "answers": [{"start": 0, "end": 3, "text": "John"}]}],
    }
]
CONLL = "-DOCSTART- -X- -X- O\n\n" + "".join(
    f"John NNP B-NP B-PER\nlives VBZ B-VP O\nin IN B-PP O\nParis{i} NNP B-NP B-LOC\n. . O O\n\n" for i in range(4)
)
CONTEXT = ("Mary won the game in Paris." + " It rained." * 60)[: 21 + 598]
assert CONTEXT[-598:][:5] == "Paris"  # answer_start=-598 slices (from the end) to the answer's text
QA_SMALL = ("task.max_seq_len=64", "task.doc_stride=16")


def qa(id, start=21, text="Paris"):
    return {"id": id, "question": "where did mary win", "answers": [{"text": text, "answer_start": start}]}


def squad(*qas, context=CONTEXT) -> str:
    paragraphs = [{"context": context, "qas": list(qas)}]
    return json.dumps(
        {"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}, indent=1, ensure_ascii=False
    )


SQUAD = squad(*(qa(f"q{i}") for i in range(4)))


def changed(rows, n, **fields):
    """The rows with line n (1-based) changed: fields set, or removed where the value is ...."""
    row = {k: v for k, v in {**rows[n - 1], **fields}.items() if v is not ...}
    return [*rows[: n - 1], row, *rows[n:]]


GOOD = {  # every split of each task, in good order
    "mrpc": {"train.tsv": MRPC, "dev.tsv": MRPC},
    "sst2": {"train.tsv": SST2, "dev.tsv": SST2},
    "stsb": {"train.tsv": STSB, "dev.tsv": STSB},
    "cola": {"train.tsv": "gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n" * 3},
    "cb": {"train.jsonl": jsonl(CB), "val.jsonl": jsonl(CB)},
    "boolq": {"train.jsonl": jsonl(BOOLQ), "val.jsonl": jsonl(BOOLQ)},
    "copa": {"train.jsonl": jsonl(COPA), "val.jsonl": jsonl(COPA)},
    "wsc": {"train.jsonl": jsonl(WSC), "val.jsonl": jsonl(WSC)},
    "multirc": {"train.jsonl": jsonl(MULTIRC), "val.jsonl": jsonl(MULTIRC)},
    "record": {"train.jsonl": jsonl(RECORD), "val.jsonl": jsonl(RECORD)},
    "conll03": dict.fromkeys(("train.txt", "valid.txt", "test.txt"), CONLL),
    "squad": {"train-v1.1.json": SQUAD, "dev-v1.1.json": SQUAD},
}
GOOD["cola"]["dev.tsv"] = GOOD["cola"]["train.tsv"]

CASES = [
    # a byte-order mark (the official MRPC files start with one) is not part of the first column's name
    data(
        "mrpc-bom",
        "mrpc",
        {"train.tsv": BOM + MRPC.encode(), "dev.tsv": BOM + MRPC.encode()},
        DONE.format(task="mrpc", metric="f1"),
        exit=0,
    ),
    data(
        "sst2-bom",
        "sst2",
        {"train.tsv": BOM + SST2.encode(), "dev.tsv": BOM + SST2.encode()},
        DONE.format(task="sst2", metric="accuracy"),
        exit=0,
    ),
    data(
        "copa-bom",
        "copa",
        {"train.jsonl": BOM + jsonl(COPA), "val.jsonl": BOM + jsonl(COPA)},
        DONE.format(task="copa", metric="accuracy"),
        exit=0,
    ),
    data(
        "conll03-bom",
        "conll03",
        {n: BOM + CONLL.encode() for n in ("train.txt", "valid.txt", "test.txt")},
        DONE.format(task="conll03", metric="f1"),
        exit=0,
    ),
    data(
        "squad-bom",
        "squad",
        {"train-v1.1.json": BOM + SQUAD.encode(), "dev-v1.1.json": BOM + SQUAD.encode()},
        DONE.format(task="squad", metric=r"\w+"),
        *QA_SMALL,
        exit=0,
    ),
    # a split that must be labelled, without its labels
    data(
        "mrpc-dev-no-label-column",
        "mrpc",
        {"train.tsv": MRPC, "dev.tsv": MRPC.replace("Quality\t", "Index\t")},
        r"/d/dev\.tsv:1: the header has no column 'Quality'",
    ),
    data(
        "cb-dev-no-labels",
        "cb",
        {"train.jsonl": jsonl(CB), "val.jsonl": jsonl(changed(CB, 3, label=...))},
        r"/d/val\.jsonl:3: no label \(field 'label'\); a training or evaluation file needs one",
    ),
    data(
        "copa-train-label-null",
        "copa",
        {"train.jsonl": jsonl(changed(COPA, 2, label=None)), "val.jsonl": jsonl(COPA)},
        r"/d/train\.jsonl:2: no label \(field 'label'\)",
    ),
    data(
        "multirc-answer-without-label",
        "multirc",
        {
            "train.jsonl": jsonl(
                [
                    {
                        **MULTIRC[0],
                        "passage": {
                            **MULTIRC[0]["passage"],
                            "questions": [{"question": "Where?", "idx": 0, "answers": [{"text": "Paris", "idx": 0}]}],
                        },
                    }
                ]
            )
        },
        r"/d/train\.jsonl:1: no label \(question \{'paragraph': 0, 'question': 0\}",
    ),
    data(
        "squad-dev-no-answers",
        "squad",
        {"train-v1.1.json": SQUAD, "dev-v1.1.json": squad({**qa("q9"), "answers": []})},
        r"/d/dev-v1\.1\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id q9\): no answers",
        *QA_SMALL,
    ),
    # encodings
    data(
        "sst2-latin1",
        "sst2",
        {"train.tsv": SST2.replace("good 3", "café").encode("latin-1"), "dev.tsv": SST2},
        r"/d/train\.tsv:\d+: not UTF-8 text \(byte 0xe9 at byte offset \d+\); save the file as UTF-8",
    ),
    data(
        "sst2-utf16",
        "sst2",
        {"train.tsv": SST2.encode("utf-16"), "dev.tsv": SST2},
        r"/d/train\.tsv:1: the file is UTF-16 text; save it as UTF-8",
    ),
    data(
        "squad-latin1",
        "squad",
        {"train-v1.1.json": squad(qa("q1"), context=CONTEXT + " café").encode("latin-1")},
        r"/d/train-v1\.1\.json:\d+: not UTF-8 text \(byte 0xe9",
    ),
    data(
        "conll03-latin1",
        "conll03",
        {"train.txt": CONLL.replace("Paris2", "Müller").encode("latin-1")},
        r"/d/train\.txt:\d+: not UTF-8 text \(byte 0xfc",
    ),
    # texts and labels of the wrong type
    data(
        "cb-null-premise",
        "cb",
        {"train.jsonl": jsonl(changed(CB, 2, premise=None)), "val.jsonl": jsonl(CB)},
        r"/d/train\.jsonl:2: field 'premise' should be a string, got null",
    ),
    data(
        "copa-choice-number",
        "copa",
        {"train.jsonl": jsonl(changed(COPA, 4, choice2=7)), "val.jsonl": jsonl(COPA)},
        r"/d/train\.jsonl:4: field 'choice2' should be a string, got a number",
    ),
    data(
        "boolq-label-1",
        "boolq",
        {"train.jsonl": jsonl(changed(BOOLQ, 1, label=1)), "val.jsonl": jsonl(BOOLQ)},
        r"/d/train\.jsonl:1: label 1 is not one of \[False, True\] \(1 is a number; a label here is a boolean\)",
    ),
    data(
        "cb-label-fraction",
        "cb",
        {"train.jsonl": jsonl(changed(CB, 5, label=1.5)), "val.jsonl": jsonl(CB)},
        r"/d/train\.jsonl:5: label 1\.5 is not one of",
    ),
    data(
        "copa-label-true",
        "copa",
        {"train.jsonl": jsonl(changed(COPA, 2, label=True)), "val.jsonl": jsonl(COPA)},
        r"/d/train\.jsonl:2: label True is not a choice index 0\.\.1",
    ),
    data(
        "stsb-score-nan",
        "stsb",
        {"train.tsv": STSB.replace("\t3.0\n", "\tnan\n"), "dev.tsv": STSB},
        r"/d/train\.tsv:5: score 'nan' is not a finite number",
    ),
    data(
        "wsc-target-string",
        "wsc",
        {"train.jsonl": jsonl(changed(WSC, 1, target="Mark"))},
        r"/d/train\.jsonl:1: field 'target' should be an object, got a string",
    ),
    data(
        "record-entities-object",
        "record",
        {"train.jsonl": jsonl([{**RECORD[0], "passage": {"text": RECORD_TEXT, "entities": {"start": 0}}}])},
        r"/d/train\.jsonl:1: field 'passage\.entities' should be an array, got an object",
    ),
    # layouts: columns, JSON lines, folders, empty files
    data(
        "sst2-three-columns",
        "sst2",
        {"train.tsv": SST2 + "one\ttwo\t1\n", "dev.tsv": SST2},
        r"/d/train\.tsv:10: 3 tab-separated fields, but the header has 2",
    ),
    data(
        "cola-two-columns",
        "cola",
        {"train.tsv": "gj04\t1\n"},
        r"/d/train\.tsv:1: 2 tab-separated fields, but the layout needs 4",
    ),
    data(
        "boolq-broken-json-line",
        "boolq",
        {"train.jsonl": jsonl(BOOLQ[:1]) + b'{"question": "is it",\n'},
        r"/d/train\.jsonl:2: not valid JSON \(.*\); each line must be one JSON object",
    ),
    data(
        "boolq-line-not-object",
        "boolq",
        {"train.jsonl": b'["is it", "It is.", true]\n'},
        r"/d/train\.jsonl:1: expected a JSON object \{\.\.\.\}, got an array",
    ),
    data(
        "sst2-empty-train",
        "sst2",
        {"train.tsv": b"", "dev.tsv": SST2},
        r"/d/train\.tsv: task=sst2: the train split is empty",
    ),
    data(
        "sst2-header-only-dev",
        "sst2",
        {"train.tsv": SST2, "dev.tsv": "sentence\tlabel\n"},
        r"/d/dev\.tsv: task=sst2: the dev split is empty",
    ),
    data(
        "sst2-train-is-a-folder",
        "sst2",
        {"train.tsv": None, "dev.tsv": SST2},
        r"/d/train\.tsv is a directory; expected the official file train\.tsv there",
    ),
    # CoNLL columns
    data(
        "conll03-bioes-tag",
        "conll03",
        {"train.txt": CONLL.replace("B-PER", "S-PER", 1)},
        r"/d/train\.txt:3: tag 'S-PER' is not an IOB tag",
    ),
    data(
        "conll03-tag-without-word",
        "conll03",
        {"train.txt": CONLL.replace("lives VBZ", "\tVBZ", 1)},
        r"/d/train\.txt:4: 3 columns .* after a space or tab \(a tag without its word\?\)",
    ),
    # SQuAD json
    data(
        "squad-answer-start-negative",
        "squad",
        {"train-v1.1.json": squad(qa("q1", start=-598))},
        r"/d/train-v1\.1\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id q1\)\.answers\[0\]: "
        r"answer_start=-598 is outside the context",
    ),
    data(
        "squad-answer-start-elsewhere",
        "squad",
        {"train-v1.1.json": squad(qa("q1", start=0))},
        r"\(id q1\)\.answers\[0\]: answer_start=0 does not point at the answer text 'Paris'",
    ),
    data(
        "squad-duplicate-id",
        "squad",
        {"train-v1.1.json": squad(qa("q1"), qa("q1"))},
        r"/d/train-v1\.1\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\]: question id 'q1' appears twice",
    ),
    data(
        "squad-no-data",
        "squad",
        {"train-v1.1.json": json.dumps({"version": "1.1", "articles": []})},
        r"/d/train-v1\.1\.json: expected the official SQuAD layout",
    ),
    data(
        "squad-paragraphs-object",
        "squad",
        {"train-v1.1.json": json.dumps({"data": [{"title": "t", "paragraphs": {"context": "x"}}]})},
        r"/d/train-v1\.1\.json: data\[0\]: field 'paragraphs' should be an array, got an object",
    ),
    data(
        "squad-question-without-id",
        "squad",
        {"train-v1.1.json": squad({k: v for k, v in qa("q1").items() if k != "id"})},
        r"/d/train-v1\.1\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing field 'id'",
    ),
    # inputs to predict (synth_sentiment: a `sentence` field or column, `label` optional)
    predict("tsv-bom", "in.tsv", BOM + b"sentence\nit was good .\n", r"wrote .*in\.tsv\.predictions\.jsonl", exit=0),
    predict(
        "jsonl-null-sentence",
        "in.jsonl",
        '{"sentence": "good ."}\n{"sentence": null}\n',
        r"in\.jsonl:2: field 'sentence' should be a string, got null",
    ),
    predict(
        "tsv-no-sentence-column", "in.tsv", "text\nit was good .\n", r"in\.tsv:1: the header has no column 'sentence'"
    ),
    predict(
        "latin1",
        "in.tsv",
        "sentence\ncafé au lait\n".encode("latin-1"),
        r"in\.tsv:2: not UTF-8 text \(byte 0xe9 at byte offset 12\); save the file as UTF-8",
    ),
    predict(
        "label-unknown",
        "in.jsonl",
        '{"sentence": "good .", "label": "great"}\n',
        r"in\.jsonl:1: label 'great' is not one of \['negative', 'positive'\]",
    ),
    predict("line-not-object", "in.jsonl", '"it was good ."\n', r"in\.jsonl:1: expected a JSON object"),
    predict("empty", "in.jsonl", "\n\n", r"in\.jsonl holds no inputs"),
]
