"""SuperGLUE COPA (multiple choice), MultiRC and ReCoRD (candidates), WSC (classification): the
official jsonl layouts parse from fixture files, every method trains on each task, the grouped
metrics equal hand-computed values, and COPA's prompt reaches every choice."""

import json
import logging
import os

import numpy as np
import pytest
import torch
from transformers import EvalPrediction

from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS
from ptune_exp.model.tiny import tiny_tokenizer
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import run
from ptune_exp.tasks import FAMILIES, family_of, get_task
from ptune_exp.tasks.benchmarks.superglue import span_words
from ptune_exp.tasks.families import candidates
from ptune_exp.tasks.families.base import UNLABELLED
from ptune_exp.tasks.families.classification import labelled_cross_entropy
from ptune_exp.tasks.metrics import normalize_answer

CANDIDATES = FAMILIES["candidates"]
# methods with a prompt; ptv1 is P-tuning's verbalizer over a template: classification tasks only (test_heads.py)
PROMPTED = [m for m in sorted(METHODS) if METHODS[m].prompt_site != "none" and m != "ptv1"]


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------- fixtures in the official layouts


def copa_rows(n):
    people = ["john", "mary", "the player", "the team"]
    return [
        {
            "premise": f"{people[i % 4].capitalize()} lost the game.",
            "choice1": "The city was very good." if i % 2 else "The company was bad.",
            "choice2": "Paris won." if i % 2 else "London won.",
            "question": "cause" if i % 3 else "effect",
            "label": i % 2,
            "idx": i,
        }
        for i in range(n)
    ]


def multirc_lines(n):
    lines = []
    for p in range(n):
        text = f"<b>Sent 1: </b>John went to Paris in game {p}.<br><b>Sent 2: </b>Mary stayed in London.<br>"
        questions = [
            {
                "question": "Where did John go?",
                "idx": 0,
                "answers": [
                    {"text": "Paris", "idx": 0, "label": 1},
                    {"text": "London", "idx": 1, "label": 0},
                    {"text": "To Paris", "idx": 2, "label": 1},
                ],
            },
            {
                "question": "Who stayed?",
                "idx": 1,
                "answers": [{"text": "Mary", "idx": 3, "label": 1}, {"text": "John", "idx": 4, "label": 0}],
            },
        ]
        lines.append({"idx": p, "version": 1.1, "passage": {"text": text, "questions": questions}})
    return lines


def spans_of(text, words):
    """Official ReCoRD entity spans (end inclusive) of the first occurrence of each word."""
    return [{"start": text.index(w), "end": text.index(w) + len(w) - 1} for w in words]


def record_lines(n):
    lines = []
    for p in range(n):
        text = f"John met Mary in Paris on day {p}. Mary then went to London.\n@highlight\nJohn stayed in Paris"
        entities = [
            *spans_of(text, ["John", "Mary", "Paris", "London"]),
            {"start": text.rindex("Paris"), "end": text.rindex("Paris") + 4},
        ]
        qas = [
            {
                "query": "@placeholder went to London.",
                "idx": 2 * p,
                "answers": [{"start": text.index("Mary"), "end": text.index("Mary") + 3, "text": "Mary"}],
            },
            {
                "query": "John stayed in @placeholder.",
                "idx": 2 * p + 1,
                "answers": [{"start": text.index("Paris"), "end": text.index("Paris") + 4, "text": "Paris"}],
            },
        ]
        lines.append({"source": "Daily mail", "idx": p, "passage": {"text": text, "entities": entities}, "qas": qas})
    return lines


WSC_TEXT = "Mark told Pete many lies about himself, which Pete included in his book. He should have been more truthful."


def wsc_rows(n):
    targets = [
        ({"span1_index": 0, "span1_text": "Mark", "span2_index": 13, "span2_text": "He"}, True),
        ({"span1_index": 2, "span1_text": "Pete", "span2_index": 13, "span2_text": "He"}, False),
    ]
    return [{"text": WSC_TEXT, "target": targets[i % 2][0], "idx": i, "label": targets[i % 2][1]} for i in range(n)]


FIXTURES = {"copa": copa_rows, "multirc": multirc_lines, "record": record_lines, "wsc": wsc_rows}
DEV_EXAMPLES = {
    "copa": 4,
    "multirc": 4,
    "record": 4,
    "wsc": 4,
}  # copa/wsc: 4 rows; multirc/record: 2 lines x 2 questions


def write_task(tmp_path, task, train=6, dev=None):
    folder = tmp_path / task
    folder.mkdir(exist_ok=True)
    jsonl(folder / "train.jsonl", FIXTURES[task](train))
    jsonl(folder / "val.jsonl", FIXTURES[task](dev or (2 if task in ("multirc", "record") else 4)))
    return folder


def load(task, folder, role="dev"):
    spec = get_task(task)
    return spec, family_of(spec).load_split(spec, role, str(folder))


# ---------------------------------------------------------------- parsing


def test_copa_builds_because_and_so_pairs(tmp_path):
    spec, rows = load("copa", write_task(tmp_path, "copa"))
    first, second = rows[0], rows[1]
    assert first["first"] == ["John lost the game so"] * 2  # idx 0: effect
    assert first["second"] == ["The company was bad.", "London won."] and first["label"] == 0
    assert second["first"] == ["Mary lost the game because"] * 2 and second["label"] == 1
    assert spec.family == "multiple_choice" and spec.metrics == ("accuracy",)


def test_copa_bad_question_and_label_are_located(tmp_path):
    rows = copa_rows(2)
    rows[1]["question"] = "reason"
    jsonl(tmp_path / "val.jsonl", rows)
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: question 'reason' is not 'cause' or 'effect'"):
        load("copa", tmp_path)
    rows[1]["question"], rows[1]["label"] = "cause", 2
    jsonl(tmp_path / "val.jsonl", rows)
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: label 2 is not a choice index 0\.\.1"):
        load("copa", tmp_path)


def test_wsc_marks_the_noun_phrase_and_the_pronoun(tmp_path):
    rows = wsc_rows(2)
    rows[1]["target"] = {"span1_index": 3, "span1_text": "Pete", "span2_index": 12, "span2_text": "he"}  # off by one
    jsonl(tmp_path / "val.jsonl", rows)
    _, split = load("wsc", tmp_path)
    assert split[0]["text_a"] == (
        "*Mark* told Pete many lies about himself, which Pete included in his book. "
        "#He# should have been more truthful."
    )
    assert split[0]["text_b"] == "He refers to Mark" and split[0]["label"] == 1
    # index 3 is "many": the nearest "Pete" (word 2) is marked; "he" (index 12 = "book.") finds "He"
    assert split[1]["text_a"].startswith("Mark told *Pete* many") and "#He# should" in split[1]["text_a"]
    assert split[1]["label"] == 0
    assert span_words(["Pete's", "dog", "saw", "Pete"], 0, "Pete", "span1") == (0, 1)  # at its index, loosely
    assert span_words(["he", "helped", "the", "man", "he", "saw"], 2, "he", "span2") == (
        0,
        1,
    )  # exact beats nearer "helped"


def test_wsc_marker_stays_inside_punctuation_and_bad_spans_are_located(tmp_path):
    row = {
        "text": "I met Pete. Then he left.",
        "idx": 0,
        "label": False,
        "target": {"span1_index": 2, "span1_text": "Pete", "span2_index": 4, "span2_text": "he"},
    }
    jsonl(tmp_path / "val.jsonl", [row])
    assert load("wsc", tmp_path)[1][0]["text_a"] == "I met *Pete*. Then #he# left."
    row["target"]["span1_text"] = "Paul"
    jsonl(tmp_path / "val.jsonl", [row, row])
    with pytest.raises(PtuneError, match=r"val\.jsonl:1: span1_text 'Paul' does not occur in the text"):
        load("wsc", tmp_path)


def test_multirc_nested_layout_becomes_one_row_per_question(tmp_path):
    _, rows = load("multirc", write_task(tmp_path, "multirc"))
    assert len(rows) == 4
    first = rows[0]
    assert first["idx"] == {"paragraph": 0, "question": 0}
    assert first["passage"] == "John went to Paris in game 0. Mary stayed in London."  # sentence tags removed
    assert first["candidates"] == ["Paris", "London", "To Paris"] and first["labels"] == [1, 0, 1]
    assert first["candidate_ids"] == [0, 1, 2] and rows[1]["candidate_ids"] == [3, 4]


def test_multirc_bad_answer_label_is_located(tmp_path):
    lines = multirc_lines(2)
    lines[1]["passage"]["questions"][0]["answers"][0]["label"] = "yes"
    jsonl(tmp_path / "val.jsonl", lines)
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: answer label 'yes' is not 0 or 1"):
        load("multirc", tmp_path)
    del lines[1]["passage"]["questions"]
    jsonl(tmp_path / "val.jsonl", lines)
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: missing field 'passage\.questions'"):
        load("multirc", tmp_path)


def test_record_candidates_are_the_distinct_entities(tmp_path):
    _, rows = load("record", write_task(tmp_path, "record"))
    assert len(rows) == 4
    q = rows[0]
    assert q["idx"] == {"passage": 0, "query": 0} and q["question"] == "@placeholder went to London."
    assert q["candidates"] == ["John", "London", "Mary", "Paris"]  # "Paris" twice in the passage: once here
    assert q["labels"] == [0, 0, 1, 0] and q["answers"] == ["Mary"]
    assert q["passage"].endswith("London.\n- John stayed in Paris")  # "@highlight" lines become "- " lines
    assert get_task("record").pair(q["question"], "Mary") == "Mary went to London."


def test_record_bad_span_and_missing_placeholder_are_located(tmp_path):
    lines = record_lines(2)
    lines[1]["passage"]["entities"][0] = {"start": 5, "end": 999}
    jsonl(tmp_path / "val.jsonl", lines)
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: entity span 5\.\.999 is not inside the passage"):
        load("record", tmp_path)
    lines = record_lines(2)
    lines[0]["qas"][1]["query"] = "John stayed."
    jsonl(tmp_path / "val.jsonl", lines)
    with pytest.raises(PtuneError, match=r"val\.jsonl:1: query .* has no @placeholder"):
        load("record", tmp_path)


def test_test_files_without_labels_predict_but_never_train_or_evaluate(tmp_path):
    copa = copa_rows(2)
    wsc = wsc_rows(2)
    for row in copa + wsc:
        del row["label"]
    multirc = multirc_lines(1)
    for q in multirc[0]["passage"]["questions"]:
        for a in q["answers"]:
            del a["label"]
    record = record_lines(1)
    for qa in record[0]["qas"]:
        del qa["answers"]
    for task, rows in (("copa", copa), ("wsc", wsc), ("multirc", multirc), ("record", record)):
        (tmp_path / task).mkdir()
        jsonl(tmp_path / task / "val.jsonl", rows)
        spec = get_task(task)
        split = family_of(spec).read_inputs(spec, str(tmp_path / task / "val.jsonl"))  # ptune-exp-predict
        assert not family_of(spec).is_labelled(split), task
        with pytest.raises(PtuneError, match=r"val\.jsonl:1: no label"):  # a dev split without labels
            load(task, tmp_path / task)
    logits = torch.randn(4, 3)
    assert labelled_cross_entropy(logits, torch.full((4,), UNLABELLED)).item() == 0.0  # a test file predicts
    assert labelled_cross_entropy(logits, torch.tensor([0, UNLABELLED, 2, 1])).isfinite()


# ---------------------------------------------------------------- metrics on hand-made predictions


def test_multirc_metrics_by_hand():
    # flat gold 1 0 1 | 0 1 | 1 1 0 0, predicted 1 0 0 | 0 1 | 1 1 1 0: TP 4, FP 1, FN 1 -> F1a 0.8;
    # only the second question is all right -> EM 1/3
    scores = candidates.multirc_scores([[1, 0, 0], [0, 1], [1, 1, 1, 0]], [[1, 0, 1], [0, 1], [1, 1, 0, 0]])
    assert scores == pytest.approx({"f1a": 80.0, "exact_match": 33.3333})


def test_record_metrics_by_hand():
    # "the Paris" = "Paris" after normalisation (EM 1, F1 1); "John Smith" vs "Smith": P 1/2, R 1 -> F1 2/3,
    # EM 0 (and 0 against "Mary"); "London," vs "Berlin": 0 / 0. EM 1/3, F1 (1 + 2/3 + 0) / 3 = 5/9.
    scores = candidates.record_scores(
        ["the Paris", "John Smith", "London,"], [["Paris"], ["Smith", "Mary"], ["Berlin"]]
    )
    assert scores == pytest.approx({"exact_match": 33.3333, "f1": 55.5556})
    assert normalize_answer("  The  U.S.A, an ally!") == "usa ally"


def margins_to_logits(margins):
    return np.stack([np.zeros(len(margins)), np.asarray(margins, dtype=float)], axis=1)  # true - false = margin


def test_multirc_scorer_groups_answer_options_by_question(tmp_path):
    spec, raw = load("multirc", write_task(tmp_path, "multirc", dev=1))  # 2 questions: labels 1 0 1 | 1 0
    feats = CANDIDATES.tokenize(raw, spec, tiny_tokenizer("bert"), 64, train=False)
    assert list(feats["example_index"]) == [0, 0, 0, 1, 1]
    scorer = CANDIDATES.Scorer(spec, raw, feats)
    # decided 1 0 0 | 1 0: TP 2, FN 1 -> F1a 0.8; question 1 all right -> EM 1/2
    metrics = scorer(
        EvalPrediction(predictions=margins_to_logits([2.0, -1.0, -0.5, 0.3, -4.0]), label_ids=np.array(feats["labels"]))
    )
    assert metrics["f1a"] == pytest.approx(80.0) and metrics["exact_match"] == pytest.approx(50.0)
    assert metrics["passages_cut"] == 0
    assert scorer.predictions[0]["idx"] == {"paragraph": 0, "question": 0}
    assert [a["label"] for a in scorer.predictions[0]["prediction"]] == [1, 0, 0]
    assert [a["idx"] for a in scorer.predictions[1]["prediction"]] == [3, 4]


def test_record_scorer_answers_with_the_top_candidate(tmp_path):
    spec, raw = load("record", write_task(tmp_path, "record", dev=1))  # candidates John London Mary Paris
    feats = CANDIDATES.tokenize(raw, spec, tiny_tokenizer("bert"), 128, train=False)
    scorer = CANDIDATES.Scorer(spec, raw, feats)
    # query 0 (gold Mary) -> Mary; query 1 (gold Paris) -> London
    metrics = scorer(
        EvalPrediction(
            predictions=margins_to_logits([0.1, -2.0, 3.0, 1.0, -1.0, 2.5, 0.0, 1.0]),
            label_ids=np.array(feats["labels"]),
        )
    )
    assert [p["prediction"] for p in scorer.predictions] == ["Mary", "London"]
    assert metrics["exact_match"] == pytest.approx(50.0) and metrics["f1"] == pytest.approx(50.0)
    assert metrics["gold_cut"] == metrics["gold_missing"] == metrics["passages_cut"] == 0


def test_record_long_passage_keeps_every_candidate_and_counts_what_was_cut(tmp_path, caplog):
    filler = " ".join(["the game was very good"] * 40)
    text = f"John met Mary. {filler} In the end Paris won.\n@highlight\nLondon lost"
    line = {
        "idx": 0,
        "passage": {"text": text, "entities": spans_of(text, ["John", "Mary", "Paris", "London"])},
        "qas": [
            {
                "query": "@placeholder won the game.",
                "idx": 0,
                "answers": [{"start": text.index("Paris"), "end": text.index("Paris") + 4, "text": "Paris"}],
            }
        ],
    }
    jsonl(tmp_path / "val.jsonl", [line])
    spec, raw = load("record", tmp_path)
    tok = tiny_tokenizer("bert")
    with caplog.at_level(logging.WARNING, logger="ptune_exp"):
        feats = CANDIDATES.tokenize(raw, spec, tok, 48, train=False)
    assert len(feats) == 4 and all(len(ids) == 48 for ids in feats["input_ids"])
    for feature, candidate in zip(feats, raw[0]["candidates"]):  # the filled query is kept whole
        second = [t for t, s in zip(feature["input_ids"], feature["token_type_ids"]) if s == 1]
        assert tok.decode(second, skip_special_tokens=True).replace(" ", "") == f"{candidate}wonthegame.".lower()
    assert candidates.coverage(spec, raw, feats) == {
        "passages_cut": 1,
        "candidates_cut": 0,
        "gold_cut": 1,
        "gold_missing": 0,
    }
    assert "passages_cut=1" in caplog.text and "gold_cut=1" in caplog.text


# ---------------------------------------------------------------- COPA: the prompt per choice


@pytest.mark.parametrize("method", PROMPTED)
def test_copa_prompt_is_repeated_for_every_choice(method, tmp_path, cfg_factory):
    folder = write_task(tmp_path, "copa")
    cfg = cfg_factory("task=copa", f"task.data_dir={folder}", f"method={method}", "method.prefix_len=3")
    exp = build(plan(cfg))
    model = exp.model.eval()
    batch = exp.family.collator(exp.tokenizer)([exp.data["dev"][i] for i in range(3)])
    assert batch["input_ids"].shape[:2] == (3, 2) and batch["labels"].shape == (3,)

    seen = {}
    hook = model.backbone.register_forward_pre_hook(lambda m, a, kw: seen.update(kw), with_kwargs=True)
    with torch.no_grad():
        logits = model(**batch).logits
    hook.remove()
    assert logits.shape == (3, 2)
    length = batch["input_ids"].shape[-1]
    if METHODS[method].prompt_site == "input":  # pt: every (example, choice) row carries the same virtual tokens
        embeds = seen["inputs_embeds"]
        assert embeds.shape[:2] == (6, length + 3)
        prompt = model.prompt.encoder().detach()
        assert all(torch.allclose(embeds[r, 1:4], prompt) for r in range(6))
        assert (seen["attention_mask"][:, 1:4] == 1).all()
    else:  # deep prompts: one set of per-layer keys/values, shared by all 6 rows
        assert seen["input_ids"].shape == (6, length)

    # each choice scores as it would alone: no mixing across choices or examples
    for b in range(3):
        for c in range(2):
            alone = {k: v[b : b + 1, c : c + 1] for k, v in batch.items() if k != "labels"}
            with torch.no_grad():
                assert torch.allclose(model(**alone).logits[0, 0], logits[b, c], atol=1e-5)

    # and every choice sees the prompt: changing it changes all 6 scores
    with torch.no_grad():
        for p in model.prompt.parameters():
            p.add_(torch.randn_like(p))
        changed = model(**batch).logits
    assert ((changed - logits).abs() > 1e-6).all()


# ---------------------------------------------------------------- every method trains on every task


def main_metric_by_hand(task: str, predictions: list[dict], folder) -> float:
    """The task's main metric (percent) of a predictions file against the fixture's dev labels, counted here."""
    dev = [json.loads(line) for line in (folder / "val.jsonl").read_text(encoding="utf-8").splitlines()]
    if task in ("copa", "wsc"):  # accuracy; wsc predicts a label name ("False"/"True")
        gold = [r["label"] if task == "copa" else str(r["label"]) for r in dev]
        return 100 * np.mean([p["prediction"] == g for p, g in zip(predictions, gold)])
    if task == "multirc":  # F1 over all answer options
        gold = np.array([a["label"] for line in dev for q in line["passage"]["questions"] for a in q["answers"]])
        decided = np.array([a["label"] for p in predictions for a in p["prediction"]])
        tp, wrong = np.sum((gold == 1) & (decided == 1)), np.sum(gold != decided)
        return 100 * 2 * tp / (2 * tp + wrong)
    # record: one-word entities, so a query's token F1 is 1 for the gold entity and 0 for any other
    gold = [qa["answers"][0]["text"] for line in dev for qa in line["qas"]]
    return 100 * np.mean([p["prediction"] == g for p, g in zip(predictions, gold)])


def read_jsonl_predictions(cfg, record) -> list[dict]:
    path = os.path.join(cfg.output_dir, record["predictions"]["dev"])
    return [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]


@pytest.mark.parametrize(
    "task, method",
    [
        (t, m)
        for t in sorted(FIXTURES)
        for m in sorted(METHODS)
        if m != "ptv1" or t not in ("copa", "multirc", "record")
    ],
)
def test_each_method_trains_two_steps_on_each_task(task, method, tmp_path, cfg_factory):
    folder = write_task(tmp_path, task)
    cfg = cfg_factory(f"task={task}", f"task.data_dir={folder}", f"method={method}", "task.max_seq_len=64")
    record = run(cfg)
    spec = get_task(task)
    assert record["status"] == "completed" and record["train"]["steps"] == 2 and record["family"] == spec.family
    assert set(spec.metrics) <= set(record["dev"]) and 0 <= record["dev"][spec.main_metric] <= 100
    predictions = read_jsonl_predictions(cfg, record)
    assert len(predictions) == DEV_EXAMPLES[task]
    assert record["dev"][spec.main_metric] == pytest.approx(main_metric_by_hand(task, predictions, folder), abs=1e-3)
    if task == "multirc":  # every answer option of every question is decided
        assert [len(p["prediction"]) for p in predictions] == [3, 2, 3, 2]
    if task == "record":
        assert all(p["prediction"] in ("John", "London", "Mary", "Paris") for p in predictions)


@pytest.mark.parametrize("task", sorted(FIXTURES))
def test_tiny_roberta_trains_on_each_task(task, tmp_path, cfg_factory):  # byte-level BPE, no token types
    folder = write_task(tmp_path, task)
    cfg = cfg_factory(f"task={task}", f"task.data_dir={folder}", "method=pt", "model=tiny-roberta")
    record = run(cfg)
    main = get_task(task).main_metric
    assert record["status"] == "completed" and main in record["dev"]
    by_hand = main_metric_by_hand(task, read_jsonl_predictions(cfg, record), folder)
    assert record["dev"][main] == pytest.approx(by_hand, abs=1e-3)


# ---------------------------------------------------------------- damaged files: one located error each


def _damaged(task, damage):
    line = FIXTURES[task](2)[0]
    damage(line)
    return line


@pytest.mark.parametrize(
    "task, damage, error",
    [
        ("copa", lambda r: r.update(premise=None), r":1: field 'premise' should be a string, got null"),
        ("copa", lambda r: r.update(choice2=["x"]), r":1: field 'choice2' should be a string, got an array"),
        ("copa", lambda r: r.update(label=True), r":1: label True is not a choice index"),
        ("copa", lambda r: r.update(label=1.0), r":1: label 1\.0 is not a choice index"),
        ("copa", lambda r: r.update(idx="a"), r":1: field 'idx' should be a whole number, got a string"),
        ("copa", lambda r: r.update(idx=2**70), r":1: field 'idx' should be a whole number"),
        ("wsc", lambda r: r.update(text=None), r":1: field 'text' should be a string, got null"),
        ("wsc", lambda r: r.update(target="x"), r":1: field 'target' should be an object, got a string"),
        ("wsc", lambda r: r["target"].pop("span1_text"), r":1: missing field 'target\.span1_text'"),
        ("multirc", lambda r: r["passage"].update(text=7), r":1: field 'passage\.text' should be a string"),
        ("multirc", lambda r: r["passage"].update(questions={}), r":1: field 'passage\.questions' should be an array"),
        (
            "multirc",
            lambda r: r["passage"]["questions"][1]["answers"][0].update(text=None),
            r":1: field 'passage\.questions\[1\]\.answers\[0\]\.text' should be a string, got null",
        ),
        (
            "multirc",
            lambda r: r["passage"]["questions"][0]["answers"][0].update(label=0.5),
            r":1: answer label 0\.5 is not 0 or 1",
        ),
        ("multirc", lambda r: r["passage"]["questions"][0]["answers"][0].pop("label"), r":1: no label \(question"),
        ("record", lambda r: r["qas"][0].pop("answers"), r":1: no label \(question"),
        (
            "record",
            lambda r: r["qas"][0]["answers"][0].update(text=None),
            r":1: field 'qas\[0\]\.answers\[0\]\.text' should be a string",
        ),
        (
            "record",
            lambda r: r["passage"]["entities"][0].update(start="0"),
            r":1: field 'entity\.start' should be a whole number",
        ),
        ("record", lambda r: r.update(qas=None), r":1: missing field 'qas'|'qas' should be an array"),
    ],
)
def test_damaged_lines_are_one_located_error(tmp_path, task, damage, error):
    jsonl(tmp_path / "val.jsonl", [_damaged(task, damage)])
    with pytest.raises(PtuneError, match=r"val\.jsonl" + error):
        load(task, tmp_path)


@pytest.mark.parametrize("task", sorted(FIXTURES))
def test_official_jsonl_with_a_byte_order_mark_loads(tmp_path, task):
    text = "".join(json.dumps(r) + "\n" for r in FIXTURES[task](2))
    (tmp_path / "val.jsonl").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    jsonl(tmp_path / "plain.jsonl", FIXTURES[task](2))
    spec, split = load(task, tmp_path)
    assert split.to_list() == family_of(spec).read_inputs(spec, str(tmp_path / "plain.jsonl")).to_list()
