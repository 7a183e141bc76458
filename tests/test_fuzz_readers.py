"""Property-based fuzzing of every reader of the official local files (GLUE tsv, SuperGLUE jsonl:
classification, COPA, WSC, MultiRC, ReCoRD; CoNLL columns; SQuAD json; SRL props and BIO blocks) and
of ptune-exp-predict's inputs (`read_inputs` of each family, the generated task's jsonl/tsv too).

Each reader is fuzzed through the training path (200 examples) and, with its family, through
ptune-exp-predict's inputs (200 examples per family). About half the examples are a valid file the
generator writes (with or without a byte-order mark, "\\n" or "\\r\\n" line ends, blank lines, extra
columns or fields, any Unicode text), which must read back as exactly the rows the generator meant;
the others a damaged file (bytes inserted, deleted or replaced; a JSON value anywhere in the tree
replaced or removed; random bytes, random text, random JSON lines), which must end in rows, or in one
PtuneError whose message names the file, never in any other exception.
Readers only: no model is loaded. (The damaged training files stop at the rows and their Arrow table:
a Dataset per example would take most of the time; `read_inputs` builds its Dataset for real.)
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass, field

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from ptune_exp.errors import PtuneError
from ptune_exp.tasks import FAMILIES, family_of, get_task
from ptune_exp.tasks.families.base import UNLABELLED

set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "ptune-exp-hypothesis"))  # not .hypothesis/ here
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    print_blob=True,  # a failure prints how to replay it (@reproduce_failure)
    database=None,  # nothing written into the checkout; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
BOM = b"\xef\xbb\xbf"
TEXT = st.text(max_size=8)  # any Unicode text without surrogates
TSV_TEXT = st.text(st.characters(exclude_characters="\t\n\r", exclude_categories=("Cs",)), max_size=8)
WORD = st.text(st.characters(exclude_characters=" \t\n\r", exclude_categories=("Cs",)), min_size=1, max_size=8)
ALPHA_WORD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
NATURAL = st.integers(0, 2**40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | TEXT
    | st.sampled_from(["\ud800", "", "@placeholder", "entailment", "cause", "O", "B-PER", "-1"])
)
NASTY = st.sampled_from(["\ud800x", 2**70, None, 1.5, True, -1, float("inf"), "", 0, False, "x", [], {}, [1], {"a": 1}])
JSON = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=6)
NOISE = st.binary(max_size=6) | st.sampled_from(
    [b"\t", b"\n", b"\r\n", b" ", BOM, b"\xff", b"\xc3", b"{", b"}", b"[", b'"', b":", b",", b"null", b"-1", b"\\ud800"]
)


@dataclass
class Sample:
    """A generated file: its task, name, content (bytes, or JSON to serialise) and the rows it means."""

    task: str
    source: str | None
    name: str
    content: object
    expected: list[dict]
    lines: bool = True  # JSON content: one object per line (jsonl) rather than one document
    options: dict = field(default_factory=dict)  # how to write it: bom, eol, ascii
    own_idx: list | None = None  # classification: each line's own idx/index, which inputs to predict keep

    @property
    def spec(self):
        return get_task(self.task, self.source)

    def data(self) -> bytes:
        if isinstance(self.content, bytes):
            return self.content
        eol, ascii_ = self.options.get("eol", "\n"), self.options.get("ascii", True)
        if "\\ud8" in json.dumps(self.content):  # half a surrogate pair: only a JSON escape can hold it
            ascii_ = True
        if self.lines:
            text = "".join(json.dumps(obj, ensure_ascii=ascii_) + eol for obj in self.content)
        else:
            text = json.dumps(self.content, ensure_ascii=ascii_, indent=self.options.get("indent"))
        return (BOM if self.options.get("bom") else b"") + text.encode("utf-8")


def write_options(draw) -> dict:
    return {
        "bom": draw(st.booleans()),
        "eol": draw(st.sampled_from(["\n", "\r\n"])),
        "ascii": draw(st.booleans()),
        "indent": draw(st.sampled_from([None, 1])),
    }


def text_file(draw, lines: list[str], options: dict, blank_lines: bool = True) -> bytes:
    """The lines as a file; with `blank_lines`, a blank line or two somewhere after the first."""
    blank = draw(st.lists(st.integers(1, max(1, len(lines))), max_size=2)) if blank_lines else []
    lines = [line for i, line in enumerate(lines) for line in ([line] + [""] * blank.count(i))]
    text = "".join(line + options["eol"] for line in lines)
    return (BOM if options["bom"] else b"") + text.encode("utf-8")


# ---------------------------------------------------------------- valid files and the rows they mean


GLUE = ["sst2", "cola", "mrpc", "stsb", "qnli", "mnli", "qqp", "rte"]


@st.composite
def glue_tsv(draw) -> Sample:
    task = draw(st.sampled_from(GLUE))
    spec = get_task(task, "glue" if task == "rte" else None)
    a_col, b_col, label_col = spec.file_columns
    rows, expected = [], []
    for i in range(draw(st.integers(1, 4))):
        a, b = draw(TSV_TEXT), draw(TSV_TEXT) if b_col is not None else None
        if spec.is_regression:
            value = draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
            written, label = repr(value), value
        else:
            label = draw(st.integers(0, len(spec.file_labels) - 1))
            written = spec.file_labels[label]
        rows.append({a_col: a, b_col: b, label_col: written})
        expected.append({"idx": i, "text_a": a, "text_b": b, "label": label})
    options = write_options(draw)
    if not spec.file_header:  # CoLA: source, label, original mark, sentence
        lines = ["\t".join([draw(TSV_TEXT), r[label_col], draw(TSV_TEXT), r[a_col]]) for r in rows]
        return Sample(task, spec.source, "train.tsv", text_file(draw, lines, options), expected)
    extras = draw(st.lists(st.sampled_from(["index", "genre", "x y", ""]), max_size=2, unique=True))
    names = draw(st.permutations([c for c in (a_col, b_col, label_col) if c is not None] + extras))
    own = [draw(st.integers(0, 10**6)) for _ in rows] if "index" in names else None
    for r, i in zip(rows, own or []):
        r["index"] = str(i)
    lines = ["\t".join(names)] + ["\t".join(r[n] if n in r else draw(TSV_TEXT) for n in names) for r in rows]
    return Sample(task, spec.source, "train.tsv", text_file(draw, lines, options), expected, own_idx=own)


@st.composite
def superglue_classification(draw) -> Sample:
    task = draw(st.sampled_from(["boolq", "cb", "rte", "wic"]))
    spec = get_task(task, "superglue" if task == "rte" else None)
    objs, expected = [], []
    for i in range(draw(st.integers(1, 4))):
        obj = {
            k: draw(TEXT) for k in ("question", "passage", "premise", "hypothesis", "word", "sentence1", "sentence2")
        }
        label = draw(st.integers(0, len(spec.file_labels) - 1))
        obj.update(label=spec.file_labels[label], idx=draw(NATURAL), extra=draw(JSON))
        a, b = spec.compose(obj) if spec.compose else (obj[spec.file_columns[0]], obj[spec.file_columns[1]])
        objs.append(obj)
        expected.append({"idx": i, "text_a": a, "text_b": b, "label": label})
    own = [obj["idx"] for obj in objs]
    return Sample(task, spec.source, "train.jsonl", objs, expected, options=write_options(draw), own_idx=own)


@st.composite
def copa(draw) -> Sample:
    objs, expected = [], []
    for i in range(draw(st.integers(1, 4))):
        obj = {k: draw(TEXT) for k in ("premise", "choice1", "choice2")}
        obj.update(question=draw(st.sampled_from(["cause", "effect"])), label=draw(st.integers(0, 1)))
        if draw(st.booleans()):
            obj["idx"] = draw(NATURAL)
        stem = obj["premise"].rstrip().rstrip(".!") + (" because" if obj["question"] == "cause" else " so")
        objs.append(obj)
        first, second = [stem, stem], [obj["choice1"], obj["choice2"]]
        expected.append({"idx": obj.get("idx", i), "first": first, "second": second, "label": obj["label"]})
    return Sample("copa", None, "train.jsonl", objs, expected, options=write_options(draw))


@st.composite
def wsc(draw) -> Sample:
    objs, expected = [], []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(ALPHA_WORD, min_size=2, max_size=8))
        first, pronoun = sorted(draw(st.lists(st.integers(0, len(words) - 1), min_size=2, max_size=2, unique=True)))
        end = draw(st.integers(first + 1, pronoun))  # the noun phrase ends before the pronoun
        if draw(st.booleans()):  # the pronoun may come first
            (first, end), pronoun = (pronoun, pronoun + 1), first
        noun_text, pronoun_text = " ".join(words[first:end]), words[pronoun]
        target = {"span1_index": first, "span1_text": noun_text, "span2_index": pronoun, "span2_text": pronoun_text}
        label = draw(st.booleans())
        objs.append({"text": " ".join(words), "target": target, "label": label, "idx": draw(NATURAL)})
        marked = list(words)
        marked[first] = "*" + marked[first]
        marked[end - 1] += "*"
        marked[pronoun] = f"#{marked[pronoun]}#"
        text_b = f"{pronoun_text} refers to {noun_text}"
        expected.append({"idx": len(expected), "text_a": " ".join(marked), "text_b": text_b, "label": int(label)})
    return Sample("wsc", None, "train.jsonl", objs, expected, options=write_options(draw))


@st.composite
def multirc(draw) -> Sample:
    objs, expected = [], []
    for p in range(draw(st.integers(1, 2))):
        sentences = draw(st.lists(st.lists(ALPHA_WORD, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=2))
        text = "".join(f"<b>Sent {k + 1}: </b>{s}<br>" for k, s in enumerate(sentences))
        questions = []
        for q in range(draw(st.integers(1, 2))):
            answers = [
                {"text": draw(TEXT), "idx": draw(NATURAL), "label": draw(st.integers(0, 1))}
                for _ in range(draw(st.integers(1, 2)))
            ]
            questions.append({"question": draw(TEXT), "idx": q, "answers": answers})
            expected.append(
                {
                    "idx": {"paragraph": p, "question": q},
                    "passage": " ".join(sentences),
                    "question": questions[-1]["question"],
                    "candidates": [a["text"] for a in answers],
                    "candidate_ids": [a["idx"] for a in answers],
                    "labels": [a["label"] for a in answers],
                    "answers": [],
                }
            )
        objs.append({"idx": p, "version": 1.1, "passage": {"text": text, "questions": questions}})
    return Sample("multirc", None, "train.jsonl", objs, expected, options=write_options(draw))


@st.composite
def record(draw) -> Sample:
    objs, expected = [], []
    for p in range(draw(st.integers(1, 2))):
        text = "".join(draw(st.lists(TEXT | st.just("@highlight\n"), min_size=1, max_size=4))) or "x"
        spans = [sorted(draw(st.lists(st.integers(0, len(text) - 1), min_size=2, max_size=2))) for _ in range(3)]
        entities = [text[s : e + 1] for s, e in spans]
        candidates = sorted(set(entities))
        qas = []
        for q in range(draw(st.integers(1, 2))):
            golds = draw(st.lists(st.sampled_from(entities), min_size=1, max_size=2))
            query = draw(TEXT) + "@placeholder" + draw(TEXT)
            qas.append({"query": query, "idx": q, "answers": [{"start": 0, "end": 0, "text": g} for g in golds]})
            answers = list(dict.fromkeys(golds))
            expected.append(
                {
                    "idx": {"passage": p, "query": q},
                    "passage": text.replace("@highlight\n", "- "),
                    "question": query,
                    "candidates": candidates,
                    "candidate_ids": list(range(len(candidates))),
                    "labels": [int(c in answers) for c in candidates],
                    "answers": answers,
                }
            )
        passage = {"text": text, "entities": [{"start": s, "end": e} for s, e in spans]}
        objs.append({"source": "x", "idx": p, "passage": passage, "qas": qas})
    return Sample("record", None, "train.jsonl", objs, expected, options=write_options(draw))


TYPES = ["PER", "ORG", "LOC", "MISC"]


@st.composite
def iob2_tags(draw, n: int) -> list[str]:
    tags, previous = [], "O"
    for _ in range(n):
        choices = ["O"] + [f"B-{t}" for t in TYPES] + ([f"I-{previous[2:]}"] if previous != "O" else [])
        tags.append(draw(st.sampled_from(choices)))
        previous = tags[-1]
    return tags


@st.composite
def conll(draw) -> Sample:
    middle = draw(st.integers(0, 2))  # columns between the word and the tag
    sep = st.just(draw(st.sampled_from([" ", "\t", "  ", " \t"])))
    lines, expected = [], []
    if draw(st.booleans()):
        lines += [" ".join(["-DOCSTART-"] + ["-X-"] * middle + ["O"]), ""]
    for i in range(draw(st.integers(1, 3))):
        words = draw(st.lists(WORD.filter(lambda w: w != "-DOCSTART-"), min_size=1, max_size=4))
        tags = draw(iob2_tags(len(words)))
        for word, tag in zip(words, tags):
            columns = [word] + [draw(WORD) for _ in range(middle)] + [tag]
            lines.append("".join(c + draw(sep) for c in columns[:-1]) + tag + draw(st.sampled_from(["", " ", "\t"])))
        lines += [""] * draw(st.integers(1, 2))
        expected.append({"idx": i, "tokens": words, "tags": tags})
    task = draw(st.sampled_from(["conll03", "conll04"]))
    data = text_file(draw, lines, write_options(draw), blank_lines=False)
    return Sample(task, None, "train.txt", data, expected)


@st.composite
def squad(draw) -> Sample:
    task = draw(st.sampled_from(["squad", "squad_v2"]))
    ids = iter(draw(st.lists(TEXT, min_size=12, max_size=12, unique=True)))
    articles, expected = [], []
    for _ in range(draw(st.integers(1, 2))):
        title, paragraphs = draw(TEXT), []
        for _ in range(draw(st.integers(1, 2))):
            context, qas = draw(st.text(min_size=1, max_size=30)), []
            for _ in range(draw(st.integers(1, 3))):
                qa = {"id": next(ids), "question": draw(TEXT), "answers": []}
                impossible = task == "squad_v2" and draw(st.booleans())
                for _ in range(0 if impossible else draw(st.integers(1, 2))):
                    start = draw(st.integers(0, len(context) - 1))
                    end = draw(st.integers(start + 1, len(context)))
                    qa["answers"].append({"text": context[start:end], "answer_start": start})
                if task == "squad_v2":
                    qa["is_impossible"] = impossible
                qas.append(qa)
                texts, starts = [a["text"] for a in qa["answers"]], [a["answer_start"] for a in qa["answers"]]
                expected.append(
                    {"id": qa["id"], "title": title, "question": qa["question"], "context": context}
                    | {"answer_texts": texts, "answer_starts": starts, "is_impossible": impossible}
                )
            paragraphs.append({"context": context, "qas": qas})
        articles.append({"title": title, "paragraphs": paragraphs})
    name = get_task(task).splits["train"].file
    content = {"version": "1.1" if task == "squad" else "v2.0", "data": articles}
    return Sample(task, None, name, content, expected, lines=False, options=write_options(draw))


ARGS = ["A0", "A1", "AM-TMP", "C-A1"]


@st.composite
def arguments(draw, n: int, predicate: int) -> list[tuple[int, int, str]]:
    """Non-overlapping argument spans (first, end, label) of n words: the predicate's V and others."""
    spans, free = [(predicate, predicate + 1, "V")], [i for i in range(n) if i != predicate]
    for start in sorted(draw(st.lists(st.sampled_from(free), max_size=2, unique=True)) if free else []):
        if any(a <= start < b for a, b, _ in spans):
            continue
        end = min([b for b in range(start + 1, n + 1) if b == n or any(a == b for a, _, _ in spans)] or [n])
        spans.append((start, draw(st.integers(start + 1, end)), draw(st.sampled_from(ARGS))))
    return sorted(spans)


def bio(n: int, spans) -> list[str]:
    tags = ["O"] * n
    for first, end, label in spans:
        tags[first:end] = ["B-" + label] + ["I-" + label] * (end - first - 1)
    return tags


def bracket_column(n: int, spans) -> list[str]:
    cells = ["*"] * n
    for first, end, label in spans:
        cells[first] = f"({label}*"
        cells[end - 1] = cells[end - 1] + ")" if end - 1 != first else f"({label}*)"
    return cells


@st.composite
def srl(draw) -> Sample:
    """CoNLL-2005 props files (word, predicate, one bracketed column per predicate) or BIO blocks."""
    props, lines, expected = draw(st.booleans()), [], []
    for _ in range(draw(st.integers(1, 2))):
        words = draw(st.lists(WORD.filter(lambda w: w != "-DOCSTART-"), min_size=1, max_size=5))
        n = len(words)
        predicates = sorted(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2, unique=True)))
        frames = [draw(arguments(n, p)) for p in predicates]
        expected += [
            {"idx": len(expected) + k, "tokens": words, "tags": bio(n, f), "predicate": p}
            for k, (p, f) in enumerate(zip(predicates, frames))
        ]
        if props:
            lemma = [draw(ALPHA_WORD) if i in predicates else "-" for i in range(n)]
            columns = [bracket_column(n, f) for f in frames]
            lines += [" ".join([words[i], lemma[i], *(c[i] for c in columns)]) for i in range(n)] + [""]
        else:
            for f in frames:
                lines += [f"{w}\t{t}" for w, t in zip(words, bio(n, f))] + [""]
    return Sample("conll05", None, "train.txt", text_file(draw, lines, write_options(draw), False), expected)


@st.composite
def synthetic_inputs(draw) -> Sample:
    """ptune-exp-predict inputs of the generated task: a `sentence` (jsonl field or tsv column), labels
    by name optional, each input's own idx (jsonl) or index (tsv) where it has one."""
    spec, tsv = get_task("synth_sentiment"), draw(st.booleans())
    labelled, own = draw(st.booleans()), draw(st.booleans())
    objs, expected = [], []
    for i in range(draw(st.integers(1, 4))):
        text, label = (
            draw(TSV_TEXT.filter(bool) if tsv else TEXT),
            draw(st.integers(0, 1)),
        )  # "" + no label: a blank line
        idx = draw(st.integers(0, 10**6)) if own else i
        obj = {"sentence": text} | ({"label": spec.labels[label]} if labelled else {})
        objs.append(obj | ({"index" if tsv else "idx": str(idx) if tsv else idx} if own else {}))
        expected.append({"idx": idx, "text_a": text, "text_b": None, "label": label if labelled else UNLABELLED})
    if not tsv:
        return Sample(spec.name, None, "inputs.jsonl", objs, expected, options=write_options(draw))
    names = draw(st.permutations(list(objs[0])))
    lines = ["\t".join(names)] + ["\t".join(obj[k] for k in names) for obj in objs]
    return Sample(spec.name, None, "inputs.tsv", text_file(draw, lines, write_options(draw)), expected)


READERS = {
    "glue_tsv": glue_tsv(),
    "superglue_classification": superglue_classification(),
    "copa": copa(),
    "wsc": wsc(),
    "multirc": multirc(),
    "record": record(),
    "conll": conll(),
    "squad": squad(),
    "srl": srl(),
}


# ---------------------------------------------------------------- damage


@st.composite
def damaged_json(draw, value):
    """The JSON value with a node or two somewhere in it removed, or replaced by a value of another type
    (null, a boolean, a fraction, -1, a number beyond 64 bits, half a surrogate pair, ...) or any JSON."""
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(1, 2))):
        parent, key, node = None, None, value
        while isinstance(node, (dict, list)) and node and (parent is None or draw(st.integers(0, 4))):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            parent, node = node, node[key]
        if parent is None:  # nothing left to descend into (a whole document is replaced by "random json")
            break
        action = draw(st.sampled_from(["delete", "nasty", "nasty", "json"]))
        if action == "delete":
            del parent[key]
        else:
            parent[key] = copy.deepcopy(draw(NASTY if action == "nasty" else JSON))  # NASTY's [] is shared
    return value


@st.composite
def damaged_bytes(draw, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        if op == "insert":
            data = data[:at] + draw(NOISE) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)) :]
        elif op == "replace":
            data = data[:at] + draw(NOISE) + data[at + 1 :]
        else:
            data = data[:at]
    return data


ANY_TEXT = st.text(
    st.sampled_from(list('\t\n\r {}[]":,0123456789-abelnrstuIOB')) | st.characters(codec="utf-8"), max_size=120
)


@st.composite
def damaged(draw, sample: Sample) -> bytes:
    """A damaged copy of a valid file, or random content in its place."""
    kinds = ["bytes", "random bytes", "random text", "random json"]
    kind = draw(st.sampled_from(kinds if isinstance(sample.content, bytes) else ["json"] * 4 + kinds))
    if kind == "json" and not isinstance(sample.content, bytes):
        sample = copy.copy(sample)
        sample.content = draw(damaged_json(sample.content))
        sample.options = {**sample.options, "ascii": True}  # a damaged tree may hold "\ud800"
        return sample.data()
    if kind == "random bytes":
        return draw(st.binary(max_size=120))
    if kind == "random text":
        return draw(ANY_TEXT).encode("utf-8")
    if kind == "random json":
        return "".join(json.dumps(v) + "\n" for v in draw(st.lists(JSON, max_size=3))).encode("utf-8")
    return draw(damaged_bytes(sample.data()))


def arrow_table(family, rows: list[dict]) -> pa.Table:
    """The rows as the Arrow table a Dataset stores (what `load_split` builds, without its bookkeeping)."""
    schema = family.row_features.arrow_schema if family.row_features else None
    return pa.Table.from_pylist(rows, schema=schema)


def read_or_refuse(path, call):
    """call()'s result, or None after a PtuneError that names the file; any other exception fails."""
    try:
        return call()
    except PtuneError as e:
        assert str(path) in str(e), f"the error does not name {path}: {e}"
        assert "Traceback" not in str(e)
        return None


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def place(folder, reader: str, sample: Sample, data: bytes):
    """Write the file into a folder of the reader's own; returns (folder, path)."""
    d = folder / reader
    d.mkdir(exist_ok=True)
    path = d / sample.name
    path.write_bytes(data)
    return d, path


# ---------------------------------------------------------------- the properties


@pytest.mark.parametrize("reader", sorted(READERS))
@SETTINGS
@given(data=st.data())
def test_training_files_read_back_exactly_or_fail_with_one_error_naming_the_file(folder, reader, data):
    """Half the examples a valid file (its rows exactly), half a damaged one (rows, or one PtuneError)."""
    sample = data.draw(READERS[reader])
    spec, family = sample.spec, family_of(sample.spec)
    if data.draw(st.booleans()):
        _, path = place(folder, reader, sample, sample.data())
        assert family.read_file(spec, str(path), labelled=True) == sample.expected
        return
    d, path = place(folder, reader, sample, data.draw(damaged(sample)))
    rows = read_or_refuse(path, lambda: family.split_rows(spec, "train", str(d)))
    if rows:
        assert arrow_table(family, rows).num_rows == len(rows)


# ---------------------------------------------------------------- ptune-exp-predict's inputs


def without_labels(sample: Sample) -> Sample:
    """The sample as an unlabelled input file would be (JSON layouts only)."""
    sample = copy.deepcopy(sample)
    for obj in sample.content:
        obj.pop("label", None)
    for row in sample.expected:
        row["label"] = UNLABELLED
    return sample


INPUTS = {  # family -> the readers of its inputs (with the file name of the inputs)
    "classification": [
        ("superglue_classification", "inputs.jsonl"),
        ("glue_tsv", "inputs.tsv"),
        ("synthetic_inputs", None),
    ],
    "multiple_choice": [("copa", "inputs.jsonl")],
    "candidates": [("record", "inputs.jsonl"), ("multirc", "inputs.jsonl")],
    "tagging": [("conll", "inputs.txt")],
    "qa": [("squad", "inputs.json")],
    "srl": [("srl", "inputs.txt")],
}


@pytest.mark.parametrize("family", sorted(INPUTS))
@SETTINGS
@given(data=st.data())
def test_predict_inputs_read_back_or_fail_with_one_error_naming_the_file(folder, family, data):
    reader, name = data.draw(st.sampled_from(INPUTS[family]))
    sample = data.draw(READERS[reader] if reader in READERS else synthetic_inputs())
    sample.name = name or sample.name
    if reader in ("superglue_classification", "copa") and data.draw(st.booleans()):
        sample = without_labels(sample)
    valid = data.draw(st.booleans())
    _, path = place(folder, f"inputs-{family}", sample, sample.data() if valid else data.draw(damaged(sample)))
    spec = sample.spec
    inputs = read_or_refuse(path, lambda: FAMILIES[spec.family].read_inputs(spec, str(path)))
    if valid:
        expected = [row | {"idx": i} for row, i in zip(sample.expected, sample.own_idx or [])] or sample.expected
        assert inputs is not None and inputs.to_list() == expected
