"""Semantic role labelling: props and BIO files, the srl-eval.pl counting, every method end to end.

Everything runs on fixture files the tests write and on the tiny random models; no real data is needed.
"""

import json
import os

import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers.trainer_utils import EvalPrediction

from ptune_exp.compare import build_tables, markdown
from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS
from ptune_exp.model.tiny import tiny_tokenizer
from ptune_exp.pipeline.run import build, plan, run
from ptune_exp.tasks import FAMILIES, get_task
from ptune_exp.tasks.families.srl import hub_rows, score_file
from ptune_exp.tasks.families.srl_eval import arguments, count, srl_scores
from ptune_exp.tasks.families.srl_files import read_srl
from ptune_exp.tasks.families.tagging_features import IGNORE
from ptune_exp.tasks.families.tagging_files import read_predictions

SRL = FAMILIES["srl"]
CONLL05 = get_task("conll05")

# CoNLL-2005 props by hand: `word POS predicate args...`, one argument column per predicate, in order.
# bought: A0 "The firm", R-A0 "that", A1 "Acme"; said: A1 "The firm that bought Acme" continued by
# C-A1 "will grow" (discontinuous), A0 "analysts"; grow: A1 "The firm that bought Acme", AM-MOD "will".
# The arguments of "bought" nest inside the A1 of "said" and of "grow" (other predicates' columns).
PROPS = """\
The       DT   -      (A0*      (A1*      (A1*
firm      NN   -      *)        *         *
that      WDT  -      (R-A0*)   *         *
bought    VBD  buy    (V*)      *         *
Acme      NNP  -      (A1*)     *)        *)
,         ,    -      *         *         *
analysts  NNS  -      *         (A0*)     *
said      VBD  say    *         (V*)      *
,         ,    -      *         *         *
will      MD   -      *         (C-A1*    (AM-MOD*)
grow      VB   grow   *         *)        (V*)
.         .    -      *         *         *

No        DT   -
verbs     NNS  -
.         .    -

Prices    NNS  -      (A1*A1)
rose      VBD  rise   (V*V)
"""
WORDS = "The firm that bought Acme , analysts said , will grow .".split()
BOUGHT = ["B-A0", "I-A0", "B-R-A0", "B-V", "B-A1"] + ["O"] * 7
SAID = ["B-A1", "I-A1", "I-A1", "I-A1", "I-A1", "O", "B-A0", "B-V", "O", "B-C-A1", "I-C-A1", "O"]
GROW = ["B-A1", "I-A1", "I-A1", "I-A1", "I-A1", "O", "O", "O", "O", "B-AM-MOD", "B-V", "O"]
NO_CONTINUATION = [*SAID[:9], "O", "O", "B-V"]  # said's A1 without its C-A1 piece; a second V on "."
EXPECTED = [
    {"idx": 0, "tokens": WORDS, "tags": BOUGHT, "predicate": 3},
    {"idx": 1, "tokens": WORDS, "tags": SAID, "predicate": 7},
    {"idx": 2, "tokens": WORDS, "tags": GROW, "predicate": 10},
    {"idx": 3, "tokens": ["Prices", "rose"], "tags": ["B-A1", "B-V"], "predicate": 1},
]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def bio_text(rows) -> str:
    """The BIO layout of rows: `word tag` blocks, one per predicate."""
    return "".join("".join(f"{w} {t}\n" for w, t in zip(r["tokens"], r["tags"])) + "\n" for r in rows)


# ---------------------------------------------------------------- files


def test_props_to_bio_by_hand_one_example_per_predicate(tmp_path):
    assert read_srl(write(tmp_path / "train.txt", PROPS)) == EXPECTED


def test_bio_blocks_read_the_same_rows(tmp_path):
    assert read_srl(write(tmp_path / "train.txt", bio_text(EXPECTED))) == EXPECTED
    iob1 = write(tmp_path / "iob1.txt", "Prices I-A1\nrose B-V\n")  # IOB1 is turned into IOB2
    assert read_srl(iob1) == [{**EXPECTED[3], "idx": 0}]


@pytest.mark.parametrize(
    "text, error",
    [
        ("a say (V*)\nb - (A0*\nc - *\n", r"train\.txt:2: argument A0 is never closed"),
        ("a - *)\nb say (V*)\n", r"train\.txt:1: '\*\)' closes an argument that is not open"),
        ("a - (A0*\nb - (A1*)\nc say (V*)\n", r"train\.txt:2: argument A1 nested inside A0 opened on line 1"),
        ("a - (A0(A1*)\nb say (V*)\n", r"train\.txt:1: argument A1 nested in one cell"),
        ("a - (A0*\nb - *A1)\nc say (V*)\n", r"train\.txt:2: '\*A1\)' closes A1, but the open argument is A0"),
        ("a - (A0*x\nb say (V*)\n", r"train\.txt:1: '\(A0\*x' is not a Start-End cell"),
        ("a - (A0*) *\nb say (V*) *\n", r"train\.txt:1: 1 predicates .* but 2 argument columns"),
        ("a say (A0*)\nb - (V*)\n", r"train\.txt:1: argument column 1 is not this predicate's"),
        ("a (A0*)\nb (V*)\n", r"train\.txt:1: no predicate column"),
        ("a - (A0*)\nb say\n", r"train\.txt:2: 2 columns .* line 1 of the same sentence has 3"),
        ("a B-A0\nb O\n", r"train\.txt:1: a BIO block tags 0 words B-V"),
        ("a B-A0\nb S-V\n", r"train\.txt:2: tag 'S-V' is not an IOB tag"),
    ],
)
def test_malformed_files_are_located(tmp_path, text, error):
    write(tmp_path / "train.txt", text)
    with pytest.raises(PtuneError, match=error):
        SRL.load_split(CONLL05, "train", str(tmp_path))


def test_only_spaces_and_tabs_separate_columns_and_files_may_start_with_a_bom(tmp_path):
    """A word such as a no-break space, or a control character, is text (str.strip() would eat it)."""
    (tmp_path / "train.txt").write_bytes(b"\xef\xbb\xbf" + "\xa0\tB-V\n\x1f\tO\n".encode())
    assert SRL.load_split(CONLL05, "train", str(tmp_path))["tokens"] == [["\xa0", "\x1f"]]
    (tmp_path / "train.txt").write_bytes(b"a B-V\nb\xff O\n")
    with pytest.raises(PtuneError, match=r"train\.txt:2: not UTF-8 text \(byte 0xff at byte offset 7\)"):
        SRL.load_split(CONLL05, "train", str(tmp_path))


def test_no_hub_copy_for_conll05_and_conll12_offline(tmp_path):
    with pytest.raises(PtuneError, match=r"task=conll05 has no copy on the dataset hub.*task\.data_dir"):
        SRL.load_split(CONLL05, "train", None)
    with pytest.raises(PtuneError, match=r"(?s)ontonotes/conll2012_ontonotesv5.*task\.data_dir=DIR"):
        SRL.load_split(get_task("conll12"), "train", None)  # HF_DATASETS_OFFLINE=1 here
    with pytest.raises(PtuneError, match=r"test_brown\.txt"):
        SRL.load_split(CONLL05, "test_brown", str(tmp_path))


def test_hub_documents_give_one_row_per_frame():
    frames = [
        {"verb": "bought", "frames": BOUGHT},
        {"verb": "said", "frames": SAID},
        {"verb": "x", "frames": ["O"] * 12},
    ]
    documents = [{"sentences": [{"words": WORDS, "srl_frames": frames}, {"words": ["Hi"], "srl_frames": []}]}]
    rows, skipped = hub_rows(documents)
    assert rows == EXPECTED[:2] and skipped == 1


# ---------------------------------------------------------------- the score


def test_arguments_join_continuations_as_srl_eval_does():
    args = arguments(SAID)
    assert [(a.type, a.start, a.end, a.pieces) for a in args] == [
        ("A1", 0, 10, [(0, 4), (9, 10)]),
        ("A0", 6, 6, [(6, 6)]),
        ("V", 7, 7, [(7, 7)]),
    ]
    assert [(a.type, a.pieces) for a in arguments(["B-C-A1", "I-A0", "I-A0"])] == [("A1", [(0, 0)]), ("A0", [(1, 2)])]


def test_scores_by_hand():
    wrong_label = ["B-A0", "I-A0", "B-A0", "B-V", "B-A1"] + ["O"] * 7  # R-A0's span right, label wrong
    gold = [BOUGHT, SAID, GROW, SAID]
    predicted = [wrong_label, NO_CONTINUATION, GROW, SAID]
    # (correct, excess, missed), V never counted:
    # bought: A0, A1 right; the A0 on "that" is excess and the gold R-A0 missed      2 1 1
    # said:   A0 right; A1 "The firm that bought Acme" alone is not A1 + C-A1     1 1 1
    # grow:   A1, AM-MOD right                                                    2 0 0
    # said:   A1 + C-A1 (one argument), A0 right                                  2 0 0
    assert [count(g, p) for g, p in zip(gold, predicted)] == [(2, 1, 1), (1, 1, 1), (2, 0, 0), (2, 0, 0)]
    assert srl_scores(gold, predicted) == pytest.approx(
        {"f1": 700 / 9, "precision": 700 / 9, "recall": 700 / 9, "perfect_props": 50.0}, abs=1e-3
    )
    assert count(["B-V", "O"], ["B-V", "O"]) == (0, 0, 0)  # the predicate's own span is never counted
    assert count(["B-V", "O"], ["O", "B-V"]) == (0, 0, 0)
    assert count(["B-V", "B-A0"], ["B-V", "B-V"]) == (0, 0, 1)  # a V where an argument is: the argument is missed


def test_score_file_of_a_predictions_file(tmp_path):
    path = tmp_path / "p.conll"
    path.write_text("".join(f"{w} {g} {p}\n" for w, g, p in zip(WORDS, SAID, NO_CONTINUATION)) + "\n", encoding="utf-8")
    assert score_file(str(path)) == pytest.approx({"f1": 50.0, "precision": 50.0, "recall": 50.0, "perfect_props": 0.0})


# ---------------------------------------------------------------- the predicate segment


def test_the_predicate_is_the_second_segment_and_carries_no_tag():
    raw = Dataset.from_list(EXPECTED[:2])
    spec = SRL.fit(CONLL05, {"train": raw})
    tok = tiny_tokenizer("bert")
    f = SRL.tokenize(raw, spec, tok, 64, train=True)[1]
    tokens = tok.convert_ids_to_tokens(f["input_ids"])
    sep = tokens.index("[SEP]")
    assert tokens[sep + 1 : -1] == tok.tokenize("said") and tokens[-1] == "[SEP]"  # [CLS] words [SEP] said [SEP]
    assert f["token_type_ids"][sep + 1 :] == [1] * (len(tokens) - sep - 1)
    assert f["labels"][sep:] == [IGNORE] * (len(tokens) - sep) and f["word_ids"][sep:] == [-1] * (len(tokens) - sep)
    firsts = [spec.labels[x] for x in f["labels"] if x != IGNORE]
    assert firsts == SAID


def test_windows_keep_the_predicate_and_stitch_back():
    raw = Dataset.from_list(EXPECTED[:3])
    spec = SRL.fit(CONLL05, {"train": raw})
    tok = tiny_tokenizer("roberta")
    features = SRL.tokenize(raw, spec, tok, 16, train=False)
    assert len(features) > len(raw) and max(len(ids) for ids in features["input_ids"]) <= 16
    for f in features:
        predicate = EXPECTED[f["sentence"]]["tokens"][EXPECTED[f["sentence"]]["predicate"]]
        assert tok.decode(f["input_ids"]).endswith(f"</s></s> {predicate}</s>")
    width = max(len(ids) for ids in features["input_ids"])
    logits = np.zeros((len(features), width, len(spec.labels)), dtype=np.float32)
    for k, labels in enumerate(features["labels"]):
        for pos, label in enumerate(labels):
            logits[k, pos, label if label != IGNORE else 0] = 1.0
    scorer = SRL.Scorer(spec, raw, features)
    scores = scorer(EvalPrediction(predictions=logits, label_ids=None))
    assert scores["f1"] == 100.0 and scores["windowed_sentences"] == 3 and scores["words_without_subwords"] == 0
    assert [(p["predicted"], p["predicate"]) for p in scorer.predictions] == [
        (r["tags"], r["predicate"]) for r in EXPECTED[:3]
    ]


def test_inputs_without_arguments_are_labelled_without_scores(tmp_path):
    path = write(tmp_path / "in.txt", "Prices -\nrose rise\nfast -\n\nIt -\nfell fall\n")
    raw = SRL.read_inputs(CONLL05, path)
    assert raw["predicate"] == [1, 1] and raw["tags"] == [[], []] and not SRL.is_labelled(raw)
    spec = SRL.fit(CONLL05, {"train": Dataset.from_list(EXPECTED)})
    features = SRL.tokenize(raw, spec, tiny_tokenizer("bert"), 64, train=False)
    assert all(x == IGNORE for labels in features["labels"] for x in labels)


# ---------------------------------------------------------------- end to end


@pytest.fixture
def conll05_dir(tmp_path):
    d = tmp_path / "conll05"
    d.mkdir()
    for name in ("train.txt", "dev.txt", "test_wsj.txt"):
        write(d / name, PROPS + "\n" + PROPS)
    write(d / "test_brown.txt", bio_text(EXPECTED[1:]))
    return d


@pytest.mark.parametrize(
    "method, model", [(m, "tiny-bert") for m in sorted(METHODS) if m != "ptv1"] + [("pt", "tiny-roberta")]
)
def test_each_method_trains_two_steps_and_labels_every_word(method, model, conll05_dir, cfg_factory):
    cfg = cfg_factory(
        f"method={method}", f"model={model}", "task=conll05", f"task.data_dir={conll05_dir}", "task.max_seq_len=16"
    )  # the long sentence needs windows
    record = run(cfg)
    assert record["status"] == "completed" and record["train"]["steps"] == 2 and record["family"] == "srl"
    assert "B-C-A1" in record["labels"] and "B-R-A0" in record["labels"]
    scores = {"dev": record["dev"], "test": record["test"], "test_brown": record["extra"]["test_brown"]}
    for role, split in scores.items():
        path = os.path.join(cfg.output_dir, record["predictions"][role])
        assert split["windowed_sentences"] >= 1
        assert {k: split[k] for k in ("f1", "precision", "recall")} == pytest.approx(
            {k: v for k, v in score_file(path).items() if k != "perfect_props"}, abs=1e-3
        )
    gold, predicted = read_predictions(os.path.join(cfg.output_dir, record["predictions"]["test_brown"]))
    assert gold == [r["tags"] for r in EXPECTED[1:]]
    assert [len(p) for p in predicted] == [len(r["tokens"]) for r in EXPECTED[1:]]  # one tag per word, in order
    assert all(t in record["labels"] for p in predicted for t in p)


def test_pt_logits_line_up_with_the_input_tokens(conll05_dir, cfg_factory):
    cfg = cfg_factory("method=pt", "method.prefix_len=5", "task=conll05", f"task.data_dir={conll05_dir}")
    exp = build(plan(cfg))
    batch = SRL.collator(exp.tokenizer)([exp.data["dev"][i] for i in range(3)])
    exp.model.eval()
    with torch.no_grad():
        out = exp.model(**batch)
    assert out.logits.shape[:2] == batch["input_ids"].shape and torch.isfinite(out.loss)


def test_export_predicts_propositions_without_arguments(conll05_dir, tmp_path, cfg_factory):
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.predict import predict_file

    cfg = cfg_factory("method=ptv2", "task=conll05", f"task.data_dir={conll05_dir}")
    run(cfg)
    inputs = write(tmp_path / "in.txt", "Prices -\nrose rise\nfast -\n\nThe -\nfirm -\nbought buy\nAcme -\n")
    path = predict_file(export_run(cfg.output_dir), inputs, str(tmp_path / "roles"))
    rows = [block.splitlines() for block in open(path, encoding="utf-8").read().strip().split("\n\n")]
    assert [[line.split()[0] for line in block] for block in rows] == [
        ["Prices", "rose", "fast"],
        ["The", "firm", "bought", "Acme"],
    ]


# ---------------------------------------------------------------- the comparison table


def _record(tmp_path, task, seed, f1, brown=None):
    record = {
        "status": "completed",
        "model": "roberta-large",
        "task": task,
        "task_source": "default",
        "seed": seed,
        "method": "ptv2",
        "method_title": "P-Tuning v2",
        "family": "srl",
        "metrics": ["f1", "precision", "recall"],
        "main_metric": "f1",
        "dev": {"f1": f1 + 1, "precision": f1, "recall": f1},
        "test": {"f1": f1, "precision": f1, "recall": f1},
        "extra": {"test_brown": {"f1": brown, "precision": brown, "recall": brown}} if brown is not None else None,
        "params": {"trainable_pct": 0.3},
        "table1": {"deep": True},
        "method_config": {"prefix_len": 64, "reparam": False},
        "finished_at": f"{task}{seed}",
        "provenance": {"model": {"source": "hub", "id": "FacebookAI/roberta-large"}},  # the preset's own
    }
    (tmp_path / f"{task}{seed}").mkdir()
    (tmp_path / f"{task}{seed}" / "metrics.json").write_text(json.dumps(record))


def test_compare_shows_wsj_brown_and_conll12_columns_with_references(tmp_path):
    from ptune_exp.runs.records import read_records

    _record(tmp_path, "conll05", 1, 80.0, brown=70.0)
    _record(tmp_path, "conll05", 2, 82.0, brown=74.0)
    _record(tmp_path, "conll12", 1, 75.0)
    table = build_tables(read_records([str(tmp_path)]), paper=True)[0]
    assert table.tasks == ["conll05", "conll05_brown", "conll12"]
    assert table.splits == {"conll05": "test", "conll05_brown": "test_brown", "conll12": "test"}
    cells = table.rows[0].cells
    assert (cells["conll05"]["f1"].mean, cells["conll05_brown"]["f1"].mean, cells["conll12"]["f1"].mean) == (
        81.0,
        72.0,
        75.0,
    )
    refs = {(m, s): c for m, s, c in table.references}[("ptv2", "official README re-run, best dev epoch")]
    assert refs == {"conll05": {"f1": 89.4}, "conll05_brown": {"f1": 83.9}, "conll12": {"f1": 84.7}}
    text = markdown([table], [])
    assert "conll05_brown F1/precision/recall [test_brown]" in text and "| 72.0 ± 2.8 / " in text
    dev = build_tables(read_records([str(tmp_path)]), split="dev")[0]
    assert dev.tasks == ["conll05", "conll12"]  # Brown is a test set: not beside dev scores
