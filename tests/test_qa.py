"""Extractive QA (SQuAD 1.1 / 2.0): windows, gold spans, decoding, the official metrics, every method
end to end. Fixture json files are written by the tests; models are the tiny random ones."""

import json
import re
import string
from collections import Counter

import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers import EvalPrediction

from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS
from ptune_exp.model.tiny import tiny_tokenizer
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import run
from ptune_exp.tasks import FAMILIES, get_task
from ptune_exp.tasks.benchmarks.squad import read_squad_json
from ptune_exp.tasks.families import qa, qa_decode

QA = FAMILIES["qa"]
MAX_LEN, STRIDE = 64, 16  # short windows, so the fixture contexts need several
# in-vocabulary words (one token each) and others the tiny tokenizers split into several pieces
WORDS = [
    "john",
    "won",
    "the",
    "game",
    "in",
    "paris",
    "and",
    "mary",
    "lost",
    "the",
    "zebra",
    "match",
    "in",
    "london",
    "while",
    "the",
    "team",
    "played",
    "quixotic",
    "glyphs",
    "near",
    "berlin",
]


def context_of(n_words: int, shift: int) -> str:
    return " ".join(WORDS[(i + shift) % len(WORDS)] for i in range(n_words)) + "."


def word_spans(context: str, length: int) -> list[tuple[int, str]]:
    """(answer_start, text) of every run of `length` consecutive words of the context."""
    words, starts, pos = context.rstrip(".").split(), [], 0
    for w in words:
        starts.append(context.index(w, pos))
        pos = starts[-1] + len(w)
    return [
        (starts[i], context[starts[i] : starts[i + length - 1] + len(words[i + length - 1])])
        for i in range(len(words) - length + 1)
    ]


def squad_file(path, paragraphs: list[tuple[str, list[dict]]], version: str = "1.1") -> str:
    data = {
        "version": version,
        "data": [{"title": "fixture", "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs]}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def question(id_: str, answers: list[tuple[int, str]], impossible: bool = False) -> dict:
    qa_ = {
        "id": id_,
        "question": "who won the game in paris",
        "answers": [{"answer_start": s, "text": t} for s, t in answers],
    }
    if impossible:
        qa_["is_impossible"] = True
    return qa_


def every_span_file(path, n_words: int = 70) -> str:
    """Two long contexts; one question per 1-, 2- and 3-word span anywhere in them."""
    paragraphs = []
    for p in range(2):
        c = context_of(n_words, shift=5 * p)
        qas = [question(f"p{p}l{k}s{s}", [(s, t)]) for k in (1, 2, 3) for s, t in word_spans(c, k)]
        paragraphs.append((c, qas))
    return squad_file(path, paragraphs)


def configured(name: str, **options):
    return QA.configure(get_task(name), {"doc_stride": STRIDE, **options})


def rows_of(path: str, version: str = "1.1") -> Dataset:
    return Dataset.from_list(read_squad_json(path, version), features=qa.ROW_FEATURES)


def features_of(tmp_path, arch: str, train: bool):
    raw = rows_of(every_span_file(tmp_path / "train-v1.1.json"))
    return raw, QA.tokenize(raw, configured("squad"), tiny_tokenizer(arch), MAX_LEN, train)


def context_range(feature) -> tuple[int, int]:
    """First and last context token of a window."""
    mask = feature["context_mask"]
    return mask.index(True), len(mask) - 1 - mask[::-1].index(True)


# ---------------------------------------------------------------- windows and gold spans


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_windows_cover_every_context_token(arch, tmp_path):
    raw, feats = features_of(tmp_path, arch, train=False)
    tok = tiny_tokenizer(arch)
    windows = {}
    for ex, offsets, mask in zip(feats["example_index"], feats["offset_mapping"], feats["context_mask"]):
        windows.setdefault(ex, []).append({tuple(o) for o, m in zip(offsets, mask) if m})
    assert max(len(w) for w in windows.values()) >= 3  # the fixture really needs several windows
    for ex, context in enumerate(raw["context"]):
        alone = {
            tuple(o) for o in tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        }
        assert set().union(*windows[ex]) == alone
        assert all(len(a & b) == STRIDE for a, b in zip(windows[ex], windows[ex][1:]))  # doc_stride = overlap


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_gold_spans_map_back_to_the_answer_text(arch, tmp_path):
    raw, feats = features_of(tmp_path, arch, train=False)  # eval features: same positions, plus offsets
    contexts, answers = raw["context"], raw["answer_texts"]
    starts = raw["answer_starts"]
    found, at_first, at_last, in_two = set(), 0, 0, {}
    for f in feats:
        ex, offsets, mask = f["example_index"], f["offset_mapping"], f["context_mask"]
        s, e = f["start_positions"], f["end_positions"]
        first, last = context_range(f)
        a_start = starts[ex][0]
        a_end = a_start + len(answers[ex][0])
        inside = offsets[first][0] <= a_start and a_end <= offsets[last][1]
        if not inside:
            assert (s, e) == (0, 0)
            continue
        assert first <= s <= e <= last and mask[s] and mask[e]
        assert contexts[ex][offsets[s][0] : offsets[e][1]] == answers[ex][0]
        found.add(ex)
        in_two[ex] = in_two.get(ex, 0) + 1
        at_first += s == first
        at_last += e == last
    tok = tiny_tokenizer(arch)
    fits = set()  # answers of at most doc_stride + 1 tokens: the overlap guarantees a window holds them whole
    for ex, (context, a_start, text) in enumerate(zip(contexts, starts, answers)):
        offsets = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if sum(a_start[0] <= o[0] < a_start[0] + len(text[0]) for o in offsets) <= STRIDE + 1:
            fits.add(ex)
    assert len(fits) > len(raw) / 2 and fits <= found
    assert at_first and at_last  # answers at both window edges occur
    assert any(n >= 2 for n in in_two.values())  # answers in the overlap of two windows
    train = QA.tokenize(raw, configured("squad"), tiny_tokenizer(arch), MAX_LEN, train=True)
    assert train["start_positions"] == feats["start_positions"] and "labels" not in train.column_names


def test_unanswerable_and_outside_window_are_labelled_cls():
    offsets = [(0, 0), (0, 3), (0, 0), (0, 4), (5, 9), (10, 12), (0, 0)]
    mask = [False, False, False, True, True, True, False]
    assert qa.gold_positions(offsets, mask, None) == (0, 0)
    assert qa.gold_positions(offsets, mask, (5, 12)) == (4, 5)
    assert qa.gold_positions(offsets, mask, (10, 15)) == (0, 0)  # runs past the window


def test_options_are_checked():
    assert configured("squad_v2", n_best=3).n_best == 3 and configured("squad").max_answer_len == 30
    with pytest.raises(PtuneError, match=r"task.doc_stride=0 must be a whole number >= 1"):
        configured("squad", doc_stride=0)
    with pytest.raises(PtuneError, match=r"task.null_threshold=x: expected a number"):
        configured("squad_v2", null_threshold="x")
    with pytest.raises(PtuneError, match=r"task.null_threshold: no such key of task=squad;"):
        configured("squad", null_threshold=0.5)  # SQuAD 1.1 has no unanswerable question


def test_too_long_question_for_the_stride_says_what_to_do(tmp_path):
    raw = rows_of(squad_file(tmp_path / "dev.json", [("john won.", [question("q", [(0, "john")])])]))
    with pytest.raises(PtuneError, match="raise task.max_seq_len, or lower task.doc_stride"):
        QA.tokenize(raw, configured("squad"), tiny_tokenizer("bert"), 24, train=True)


# ---------------------------------------------------------------- decoding from hand-set logits


def decode(raw, feats, spec, set_logits):
    """Scorer output for logits that are -5 everywhere except what `set_logits(feature, start, end)` sets."""
    n, length = len(feats), max(len(ids) for ids in feats["input_ids"])
    start, end = torch.full((n, length), -5.0), torch.full((n, length), -5.0)
    mask = torch.zeros(n, length, dtype=torch.bool)
    for i, m in enumerate(feats["context_mask"]):
        mask[i, : len(m)] = torch.tensor(m)
        set_logits(feats[i], start[i], end[i])
    cand = qa_decode.top_candidates(start, end, mask, spec.n_best)
    preds = tuple(cand[k].numpy() for k in ("start_scores", "start_index", "end_scores", "end_index", "null_score"))
    order = np.random.default_rng(0).permutation(n)  # rows may reach the scorer in any order
    scorer = QA.Scorer(spec, raw, feats)
    metrics = scorer(
        EvalPrediction(predictions=tuple(p[order] for p in preds), label_ids=np.array(feats["labels"])[order])
    )
    return scorer.predictions, metrics


def token_at(feature, char: int) -> int:
    return next(
        i
        for i, (o, m) in enumerate(zip(feature["offset_mapping"], feature["context_mask"]))
        if m and o[0] <= char < o[1]
    )


def test_post_processing_picks_the_best_valid_span_over_windows(tmp_path):
    c = context_of(60, 0)
    spans = word_spans(c, 1)
    raw = rows_of(
        squad_file(tmp_path / "dev.json", [(c, [question("late", [spans[50]]), question("early", [spans[3]])])])
    )
    spec = configured("squad", max_answer_len=4)
    feats = QA.tokenize(raw, spec, tiny_tokenizer("bert"), MAX_LEN, train=False)
    assert len(feats) >= 2 * 3
    # "late" answers with words 48-50 ("in paris and", gold: "and"), "early" with word 3 (its gold)
    want = {0: (spans[48][0], spans[50][0] + len(spans[50][1])), 1: (spans[3][0], spans[3][0] + len(spans[3][1]))}

    def set_logits(f, start, end):
        a, b = want[f["example_index"]]
        first, last = context_range(f)
        offsets = f["offset_mapping"]
        if offsets[first][1] <= a and b <= offsets[last][0]:  # strictly inside this window: 4 + 4 = 8
            start[token_at(f, a)], end[token_at(f, b - 1)] = 4.0, 4.0
        elif last >= first + 12:  # elsewhere: higher-scoring pairs that are no span, and a lower valid one
            start[last], end[first] = 9.0, 9.0  # end before start
            start[first + 4], end[first + 8] = 4.5, 4.5  # 5 tokens > max_answer_len
            start[first + 3], end[first + 3] = 3.0, 3.0  # valid, 6 < 8

    predictions, metrics = decode(raw, feats, spec, set_logits)
    assert predictions == {"late": c[want[0][0] : want[0][1]], "early": spans[3][1]}
    assert predictions["late"] == "in paris and"
    assert metrics == pytest.approx({"exact_match": 50.0, "f1": 100 * (0.5 + 1) / 2})  # late: P 1/3, R 1


def test_squad_v2_null_answer_and_threshold(tmp_path):
    c = context_of(60, 0)
    spans = word_spans(c, 1)
    raw = rows_of(
        squad_file(
            tmp_path / "dev.json",
            [(c, [question("has", [spans[40]]), question("none", [], impossible=True)])],
            version="2.0",
        ),
        "2.0",
    )
    feats = QA.tokenize(raw, configured("squad_v2"), tiny_tokenizer("bert"), MAX_LEN, train=False)
    assert all((f["start_positions"], f["end_positions"]) == (0, 0) for f in feats if f["example_index"] == 1)
    window = [sum(1 for g in feats["example_index"][:i] if g == ex) for i, ex in enumerate(feats["example_index"])]
    assert max(window) >= 1

    def set_logits(f, start, end):
        first, _ = context_range(f)
        start[first], end[first] = 2.0, 2.0  # every window: a span scoring 4
        start[0], end[0] = (3.0, 3.0) if window[f["labels"]] == 0 else (2.5, 2.0)  # null 6, later 4.5: min 4.5

    for threshold, answered in ((0.0, False), (0.4, False), (0.6, True)):
        spec = configured("squad_v2", null_threshold=threshold)
        predictions, metrics = decode(raw, feats, spec, set_logits)
        assert predictions["has"] == predictions["none"] == ("john" if answered else "")
        if not answered:
            assert metrics == {
                "exact_match": 50.0,
                "f1": 50.0,
                "HasAns_exact_match": 0.0,
                "HasAns_f1": 0.0,
                "NoAns_exact_match": 100.0,
                "NoAns_f1": 100.0,
            }


# ---------------------------------------------------------------- official metrics


def test_squad_v1_metrics_match_hand_computed_values():
    golds = {"a": ["The Eiffel Tower", "Eiffel Tower"], "b": ["Denver Broncos"], "c": ["1998"], "d": ["the"]}
    preds = {"a": "eiffel tower!", "b": "the Broncos of Denver city", "c": "in 1999", "d": ""}
    # a: exact after normalisation. b: 2 common of 4 predicted / 2 gold tokens -> P 1/2, R 1 -> F1 2/3.
    # c: nothing in common. d: the gold normalises to nothing: v1.1 scores 0 F1 but exact match 1.
    scores = qa_decode.squad_scores(preds, golds, "1.1")
    assert scores == {"exact_match": pytest.approx(100 * 2 / 4), "f1": pytest.approx(100 * (1 + 2 / 3) / 4, abs=1e-4)}


def test_squad_v2_metrics_split_has_and_no_answer():
    golds = {"a": ["Paris"], "b": [], "c": [], "d": ["the quick fox", "a fox"]}
    preds = {"a": "Paris.", "b": "", "c": "London", "d": "quick brown fox"}
    # d: vs "quick fox": P 2/3 R 1 -> 0.8; vs "fox": P 1/3 R 1 -> 0.5; max 0.8, no exact match
    scores = qa_decode.squad_scores(preds, golds, "2.0")
    assert scores == pytest.approx(
        {
            "exact_match": 100 * 2 / 4,
            "f1": 100 * (1 + 1 + 0 + 0.8) / 4,
            "HasAns_exact_match": 50.0,
            "HasAns_f1": 100 * (1 + 0.8) / 2,
            "NoAns_exact_match": 50.0,
            "NoAns_f1": 50.0,
        },
        abs=1e-4,
    )


# ---------------------------------------------------------------- local files


def test_official_json_reads_and_malformed_files_are_located(tmp_path):
    c = "Mary won in Paris."
    path = squad_file(
        tmp_path / "f.json",
        [(c, [question("q1", [(12, "Paris"), (12, "Paris.")]), question("q2", [], impossible=True)])],
        "2.0",
    )
    rows = read_squad_json(path, "2.0")
    assert rows[0]["answer_texts"] == ["Paris", "Paris."] and rows[0]["answer_starts"] == [12, 12]
    assert rows[1]["is_impossible"] and rows[1]["answer_texts"] == []
    with pytest.raises(PtuneError, match="use task=squad_v2"):
        read_squad_json(path, "1.1")
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [\n{"title": oops}]}', encoding="utf-8")
    with pytest.raises(PtuneError, match=r"bad\.json:2:\d+: not valid JSON"):
        read_squad_json(str(bad), "1.1")
    squad_file(bad, [(c, [question("q3", [(3, "Paris")])])])
    with pytest.raises(PtuneError, match=r"qas\[0\] \(id q3\)\.answers\[0\]: answer_start=3 does not point"):
        read_squad_json(str(bad), "1.1")
    squad_file(bad, [(c, [{"id": "q4", "answers": []}])])
    with pytest.raises(PtuneError, match=r"paragraphs\[0\]\.qas\[0\] \(id q4\): missing field 'question'"):
        read_squad_json(str(bad), "1.1")
    with pytest.raises(PtuneError, match=r"expected .*train-v1\.1\.json"):
        QA.load_split(get_task("squad"), "train", str(tmp_path))
    squad_file(bad, [(c, [{"id": "q5", "question": "who won?"}])])  # inputs to predict: no answers needed
    assert QA.read_inputs(get_task("squad"), str(bad))["answer_texts"] == [[]]


def test_an_answer_start_outside_the_context_is_an_error_not_no_answer(tmp_path):
    """-598 slices (from the end) to the right text in Python: it must not train as "no answer"."""
    c = "Mary won in Paris." + "z" * 592
    start = c.index("Paris") - len(c)
    assert start == -598 and c[start : start + 5] == "Paris"
    path = squad_file(tmp_path / "train-v1.1.json", [(c, [question("q1", [(start, "Paris")])])])
    with pytest.raises(
        PtuneError, match=r"train-v1\.1\.json: .*qas\[0\] \(id q1\)\.answers\[0\]: answer_start=-598 is outside"
    ):
        QA.load_split(get_task("squad"), "train", str(tmp_path))
    squad_file(tmp_path / "train-v1.1.json", [(c, [question("q1", [(len(c) - 3, "Paris")])])])
    with pytest.raises(
        PtuneError, match=r"\(id q1\)\.answers\[0\]: answer_start=607 is outside the context \(610 characters\)"
    ):
        read_squad_json(path, "1.1")


def official(data) -> str:
    return json.dumps({"version": "1.1", "data": data})


GOOD_QA = {"id": "q1", "question": "who?", "answers": [{"text": "Mary", "answer_start": 0}]}


@pytest.mark.parametrize(
    "text, error",
    [
        ("", r"f\.json is empty"),
        ("[]", r'f\.json: expected the official SQuAD layout \{"version": \.\.\., "data": \[articles\]\}'),
        ('{"version": "1.1"}', r"f\.json: expected the official SQuAD layout"),
        (
            official([{"title": "t", "paragraphs": {}}]),
            r"f\.json: data\[0\]: field 'paragraphs' should be an array, got an object",
        ),
        (official(["t"]), r"f\.json: data\[0\]: the record should be an object, got a string"),
        (
            official([{"paragraphs": [{"context": None, "qas": []}]}]),
            r"paragraphs\[0\]: field 'context' should be a string, got null",
        ),
        (
            official([{"paragraphs": [{"context": "Mary", "qas": [{"question": "who?", "answers": []}]}]}]),
            r"qas\[0\]: missing field 'id'",
        ),
        (
            official([{"paragraphs": [{"context": "Mary", "qas": [{**GOOD_QA, "id": 7}]}]}]),
            r"qas\[0\]: field 'id' should be a string, got a number",
        ),
        (
            official([{"paragraphs": [{"context": "Mary", "qas": [GOOD_QA, GOOD_QA]}]}]),
            r"qas\[1\]: question id 'q1' appears twice \(first at .*qas\[0\]\)",
        ),
        (
            official(
                [
                    {
                        "paragraphs": [
                            {
                                "context": "Mary",
                                "qas": [{**GOOD_QA, "answers": [{"text": "Mary", "answer_start": True}]}],
                            }
                        ]
                    }
                ]
            ),
            r"\(id q1\): field 'answers\[0\]\.answer_start' should be a whole number, got a boolean",
        ),
        (
            official(
                [
                    {
                        "paragraphs": [
                            {
                                "context": "Mary",
                                "qas": [{**GOOD_QA, "answers": [{"text": "Mary", "answer_start": 0.0}]}],
                            }
                        ]
                    }
                ]
            ),
            r"field 'answers\[0\]\.answer_start' should be a whole number, got a number \(0\.0\)",
        ),
        (
            official([{"paragraphs": [{"context": "Mary", "qas": [{**GOOD_QA, "answers": []}]}]}]),
            r"\(id q1\): no answers; a training or evaluation file needs them",
        ),
        (
            official(
                [
                    {
                        "paragraphs": [
                            {"context": "Mary", "qas": [{**GOOD_QA, "answers": [{"text": "", "answer_start": 0}]}]}
                        ]
                    }
                ]
            ),
            r"answers\[0\]: the answer text is empty",
        ),
        ('{"data": [\n' + "[" * 100000, r"f\.json: not valid JSON \(nested too deeply\)"),
        (
            '{"data": [\n{"title": oops}]}',
            r"f\.json:2:11: not valid JSON \(Expecting value\); expected an official SQuAD json file",
        ),
    ],
)
def test_squad_files_not_in_the_official_layout_are_one_located_error(tmp_path, text, error):
    (tmp_path / "f.json").write_text(text, encoding="utf-8")
    with pytest.raises(PtuneError, match=error):
        read_squad_json(str(tmp_path / "f.json"), "1.1", labelled=True)


def test_squad_v2_labelled_questions_need_answers_or_is_impossible(tmp_path):
    path = squad_file(tmp_path / "dev-v2.0.json", [("Mary", [{"id": "q", "question": "who?", "answers": []}])], "2.0")
    with pytest.raises(PtuneError, match=r"\(id q\): no answers; .*\(or, if it has none, is_impossible: true\)"):
        QA.load_split(get_task("squad_v2"), "dev", str(tmp_path))
    assert QA.read_inputs(get_task("squad_v2"), path)["answer_texts"] == [[]]  # inputs to predict need none


def test_squad_json_encodings(tmp_path):
    data = json.dumps(
        {
            "data": [
                {
                    "title": "t",
                    "paragraphs": [
                        {
                            "context": "Müller won.",
                            "qas": [GOOD_QA | {"answers": [{"text": "Müller", "answer_start": 0}]}],
                        }
                    ],
                }
            ]
        },
        ensure_ascii=False,
    )
    (tmp_path / "dev-v1.1.json").write_bytes(b"\xef\xbb\xbf" + data.encode("utf-8"))
    assert QA.load_split(get_task("squad"), "dev", str(tmp_path))["answer_texts"] == [["Müller"]]
    (tmp_path / "dev-v1.1.json").write_bytes(("{\n" + data[1:]).encode("latin-1"))
    with pytest.raises(
        PtuneError, match=r"dev-v1\.1\.json:2: not UTF-8 text \(byte 0xfc at byte offset \d+\); save the file as UTF-8"
    ):
        QA.load_split(get_task("squad"), "dev", str(tmp_path))


# ---------------------------------------------------------------- end to end


def data_dir(tmp_path, version: str) -> str:
    c1, c2 = context_of(70, 0), context_of(40, 3)
    s1, s2 = word_spans(c1, 2), word_spans(c2, 1)
    v = "v1.1" if version == "1.1" else "v2.0"
    qs1 = [question(f"a{i}", [s1[i]]) for i in range(0, len(s1), 9)]
    qs2 = [question(f"b{i}", [s2[i]]) for i in range(0, len(s2), 8)]
    if version == "2.0":
        qs2.append(question("b-none", [], impossible=True))
    squad_file(tmp_path / f"train-{v}.json", [(c1, qs1), (c2, qs2)], version)
    squad_file(tmp_path / f"dev-{v}.json", [(c2, qs2), (c1, qs1[:3])], version)
    return str(tmp_path)


def squad_by_hand(predictions: dict[str, str], dev_path: str, version: str) -> dict[str, float]:
    """Exact match and F1 in percent of the predictions against an official dev file, written out again
    for the tests from the rules of the official scripts (see test_squad_v*_metrics_* for the rules)."""

    def words(text: str) -> list[str]:
        text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
        return re.sub(r"\b(a|an|the)\b", " ", text).split()

    def f1(pred: list[str], gold: list[str]) -> float:
        if version == "2.0" and (not pred or not gold):
            return float(pred == gold)
        same = sum((Counter(pred) & Counter(gold)).values())
        return 2 * same / (len(pred) + len(gold)) if same else 0.0

    exact, overlap = [], []
    for article in json.load(open(dev_path, encoding="utf-8"))["data"]:
        for qa_ in (q for paragraph in article["paragraphs"] for q in paragraph["qas"]):
            golds = [words(a["text"]) for a in qa_["answers"]]
            golds = [g for g in golds if g or version != "2.0"] or [[]]
            pred = words(predictions[qa_["id"]])
            exact.append(max(float(pred == g) for g in golds))
            overlap.append(max(f1(pred, g) for g in golds))
    return {"exact_match": 100 * np.mean(exact), "f1": 100 * np.mean(overlap)}


def test_squad_by_hand_agrees_with_the_official_metrics(tmp_path):
    c = "Mary won the game in Paris."
    qs = [question("a", [(0, "Mary")]), question("b", [(21, "Paris")]), question("c", [], impossible=True)]
    path = squad_file(tmp_path / "dev.json", [(c, qs)], "2.0")
    predictions = {"a": "Mary won", "b": "", "c": ""}  # a: P 1/2 R 1 -> F1 2/3; b: wrong; c: right
    assert squad_by_hand(predictions, path, "2.0") == pytest.approx({"exact_match": 100 / 3, "f1": 100 * 5 / 9})
    golds = {"a": ["Mary"], "b": ["Paris"], "c": []}
    official = qa_decode.squad_scores(predictions, golds, "2.0")
    assert {k: official[k] for k in ("exact_match", "f1")} == pytest.approx(
        squad_by_hand(predictions, path, "2.0"), abs=1e-3
    )


@pytest.mark.parametrize(
    "method,model,task",
    [(m, "tiny-bert", "squad") for m in sorted(METHODS) if m != "ptv1"] + [("ptv2", "tiny-roberta", "squad_v2")],
)
def test_each_method_trains_two_steps_and_answers_every_question(method, model, task, cfg_factory, tmp_path):
    version = "2.0" if task == "squad_v2" else "1.1"
    cfg = cfg_factory(
        f"method={method}",
        f"model={model}",
        f"task={task}",
        f"task.data_dir={data_dir(tmp_path, version)}",
        f"task.max_seq_len={MAX_LEN}",
        f"task.doc_stride={STRIDE}",
        "train.eval_batch_size=4",
    )
    record = run(cfg)
    assert record["status"] == "completed" and record["train"]["steps"] == 2
    assert set(record["dev"]) == set(get_task(task).metrics) and 0 <= record["dev"]["f1"] <= 100
    predictions = json.load(open(f"{cfg.output_dir}/{record['predictions']['dev']}"))
    dev_ids = [r["id"] for r in read_squad_json(f"{tmp_path}/dev-v{version}.json", version)]
    assert sorted(predictions) == sorted(dev_ids) and all(isinstance(a, str) for a in predictions.values())
    by_hand = squad_by_hand(predictions, f"{tmp_path}/dev-v{version}.json", version)
    assert {k: record["dev"][k] for k in by_hand} == pytest.approx(by_hand, abs=1e-3)
    assert record["data"]["dev"] > len(dev_ids)  # long contexts: more windows than questions


def test_pt_virtual_tokens_do_not_shift_positions(cfg_factory, tmp_path):
    cfg = cfg_factory(
        "method=pt",
        "method.prefix_len=7",
        "task=squad",
        f"task.data_dir={data_dir(tmp_path, '1.1')}",
        f"task.max_seq_len={MAX_LEN}",
        f"task.doc_stride={STRIDE}",
    )
    exp = build(plan(cfg))
    batch = exp.family.collator(exp.tokenizer)([exp.data["dev"][i] for i in range(4)])
    seen = {}
    exp.model.head.register_forward_hook(lambda m, args, out: seen.update(hidden=args[0]))
    exp.model.eval()
    with torch.no_grad():
        out = exp.model(**batch)
    assert seen["hidden"].shape[:2] == batch["input_ids"].shape
    chosen = torch.gather(batch["context_mask"], 1, out.start_index)
    assert chosen.all()  # every n-best start is a context token of the real input
