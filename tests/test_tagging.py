"""Sequence tagging (NER): label alignment, windows, IOB conversion, seqeval scores, every method end to end.

Everything runs on fixture files the tests write and on the tiny random models; no real data is needed.
"""

import dataclasses
import os

import numpy as np
import pytest
import torch
from datasets import Dataset
from omegaconf import OmegaConf
from transformers.trainer_utils import EvalPrediction

from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS
from ptune_exp.model.tiny import tiny_tokenizer
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import run
from ptune_exp.tasks import FAMILIES, get_task
from ptune_exp.tasks.families.tagging import TokenClassificationHead, label_list, score_file
from ptune_exp.tasks.families.tagging_features import IGNORE, align_labels, windows, word_tokenizer
from ptune_exp.tasks.families.tagging_files import read_columns, read_predictions, spans_to_tags, to_iob2

TAGGING = FAMILIES["tagging"]
CONLL03 = get_task("conll03")
ID = {tag: i for i, tag in enumerate(CONLL03.labels)}  # O B-PER I-PER B-ORG I-ORG B-LOC I-LOC B-MISC I-MISC
X = IGNORE

# "word/TAG" sentences; "Blackburn" and "visited" are several sub-words for the tiny tokenizers
TRAIN = [
    "John/B-PER lives/I-PER in/O Paris/B-LOC ./O",
    "Mary/B-PER Blackburn/I-PER won/O the/O game/O ./O",
    "the/O company/B-ORG team/I-ORG lost/O in/O London/B-LOC ./O",
    "Berlin/B-LOC is/O a/O city/O ./O",
    "the/O German/B-MISC film/O was/O great/O ./O",
    "John/B-PER visited/O Berlin/B-LOC and/O Paris/B-LOC ./O",
    "who/O won/O ?/O",
    "Mary/B-PER and/O John/B-PER were/O not/O in/O London/B-LOC but/O in/O Paris/B-LOC with/O the/O team/B-ORG "
    "of/O the/O company/B-ORG ,/O the/O Blackburn/B-PER player/O who/O won/O the/O game/O ./O",
    "the/O concert/O was/O very/O good/O ./O",
    "Paris/B-LOC Berlin/B-LOC London/B-LOC",
    "a/O British/B-MISC book/O ./O",
    "the/O hotel/O room/O was/O bad/O ./O",
]
DEV = TRAIN[:4] + TRAIN[7:8]
TEST = TRAIN[4:8]


def conll_text(sentences, docstart=True):
    """4-column CoNLL-2003 layout: word POS chunk NER."""
    lines = ["-DOCSTART- -X- -X- O", ""] if docstart else []
    for sentence in sentences:
        lines += [f"{w} NN I-NP {t}" for w, t in (item.rsplit("/", 1) for item in sentence.split())] + [""]
    return "\n".join(lines) + "\n"


def words_of(sentence):
    return [item.rsplit("/", 1)[0] for item in sentence.split()]


@pytest.fixture
def conll_dir(tmp_path):
    d = tmp_path / "conll03"
    d.mkdir()
    for name, sentences in (("train.txt", TRAIN), ("valid.txt", DEV), ("test.txt", TEST)):
        (d / name).write_text(conll_text(sentences), encoding="utf-8")
    return d


def one_sentence(words, tags):
    return Dataset.from_list([{"idx": 0, "tokens": words, "tags": tags}])


# ---------------------------------------------------------------- alignment


def test_align_labels_first_sub_word_by_hand():
    word_ids = [None, 0, 1, 1, 1, 2, None]  # [CLS] w0 w1 ##w1 ##w1 w2 [SEP]
    tags = ["B-PER", "B-LOC", "O"]
    assert align_labels(word_ids, tags, ID) == [X, ID["B-PER"], ID["B-LOC"], X, X, ID["O"], X]
    assert align_labels(word_ids, tags, ID, label_all_tokens=True) == [
        X,
        ID["B-PER"],
        ID["B-LOC"],
        ID["I-LOC"],
        ID["I-LOC"],
        ID["O"],
        X,
    ]


def test_alignment_tiny_bert_multi_sub_word_words():
    tok = tiny_tokenizer("bert")
    split = one_sentence(["Blackburn", "John", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])
    f = TAGGING.tokenize(split, CONLL03, tok, 128, train=True)[0]
    assert tok.convert_ids_to_tokens(f["input_ids"]) == [
        "[CLS]",
        "b",
        "##l",
        "##a",
        "##c",
        "##k",
        "##b",
        "##u",
        "##r",
        "##n",
        "john",
        "v",
        "##i",
        "##s",
        "##i",
        "##t",
        "##e",
        "##d",
        "paris",
        ".",
        "[SEP]",
    ]
    B_PER, I_PER, O, B_LOC = ID["B-PER"], ID["I-PER"], ID["O"], ID["B-LOC"]
    assert f["labels"] == [X, B_PER] + [X] * 8 + [I_PER, O] + [X] * 6 + [B_LOC, O, X]
    assert f["word_ids"] == [-1] + [0] * 9 + [1] + [2] * 7 + [3, 4, -1]
    every = TAGGING.tokenize(split, dataclasses.replace(CONLL03, label_all_tokens=True), tok, 128, train=True)[0]
    assert every["labels"] == [X, B_PER] + [I_PER] * 8 + [I_PER] + [O] * 7 + [B_LOC, O, X]


def test_alignment_tiny_roberta_adds_the_prefix_space():
    tok = tiny_tokenizer("roberta")
    split = one_sentence(["john", "lives", "in", "paris"], ["B-PER", "O", "O", "B-LOC"])
    f = TAGGING.tokenize(split, CONLL03, tok, 128, train=True)[0]
    tokens = tok.convert_ids_to_tokens(f["input_ids"])
    assert tokens == ["<s>", "Ġjohn", "Ġl", "i", "ve", "s", "Ġi", "n", "Ġparis", "</s>"]
    assert f["input_ids"] == tok(" john lives in paris")["input_ids"]  # as inside a sentence
    assert f["labels"] == [X, ID["B-PER"], ID["O"], X, X, X, ID["O"], X, ID["B-LOC"], X]
    assert "token_type_ids" not in f
    assert not tok.backend_tokenizer.pre_tokenizer.add_prefix_space  # the shared tokenizer is untouched
    assert word_tokenizer(tiny_tokenizer("bert")) is tiny_tokenizer("bert")  # WordPiece needs no copy


def test_configure_applies_the_task_options():
    assert TAGGING.configure(CONLL03, OmegaConf.create({"label_all_tokens": True})).label_all_tokens
    assert not TAGGING.configure(CONLL03, OmegaConf.create({})).label_all_tokens
    conll04 = get_task("conll04")
    fixed = TAGGING.configure(conll04, OmegaConf.create({"labels": ["O", "B-Loc", "I-Loc"]}))
    assert fixed.labels == ("O", "B-Loc", "I-Loc") and label_list(fixed) == fixed.labels
    with pytest.raises(PtuneError, match="B-Loc has no I-Loc"):
        TAGGING.configure(conll04, OmegaConf.create({"labels": ["O", "B-Loc"]}))
    with pytest.raises(PtuneError, match="not an IOB tag"):
        TAGGING.configure(conll04, OmegaConf.create({"labels": ["O", "Loc"]}))
    with pytest.raises(PtuneError, match="task.labels: no such key of task=conll03; this task fixes its labels"):
        TAGGING.configure(CONLL03, OmegaConf.create({"labels": ["O"]}))


# ---------------------------------------------------------------- windows


def test_windows_cover_every_word_once():
    assert windows([1, 2, 3, 1, 5, 1], 4) == [(0, 2), (2, 4), (4, 5), (5, 6)]  # the 5 sits alone
    assert windows([1, 1, 1], 10) == [(0, 3)]


def perfect_logits(features, num_labels):
    """What a model that is always right outputs, padded across features with -100 like the Trainer."""
    width = max(len(ids) for ids in features["input_ids"])
    logits = np.full((len(features), width, num_labels), -100.0, dtype=np.float32)
    for f, labels in enumerate(features["labels"]):
        for pos, label in enumerate(labels):
            logits[f, pos] = 0.0
            logits[f, pos, ID["O"] if label == IGNORE else label] = 1.0
    return logits


def test_long_sentences_are_windowed_and_stitched_back():
    raw = Dataset.from_list(
        [
            {"idx": i, "tokens": words_of(s), "tags": [t.rsplit("/", 1)[1] for t in s.split()]}
            for i, s in enumerate(TRAIN)
        ]
    )
    features = TAGGING.tokenize(raw, CONLL03, tiny_tokenizer("bert"), 8, train=False)  # 6 sub-words per window
    assert max(len(ids) for ids in features["input_ids"]) <= 8
    assert len(features) > len(raw)
    for s, words in enumerate(raw["tokens"]):  # every word starts in exactly one window
        firsts = [
            w
            for f in range(len(features))
            if features[f]["sentence"] == s
            for pos, w in enumerate(features[f]["word_ids"])
            if w >= 0 and features[f]["labels"][pos] != IGNORE
        ]
        assert firsts == list(range(len(words)))
    scorer = TAGGING.Scorer(CONLL03, raw, features)
    scores = scorer(EvalPrediction(predictions=perfect_logits(features, len(ID)), label_ids=None))
    assert scores["f1"] == 100.0 and scores["windowed_sentences"] > 0 and scores["words_without_subwords"] == 0
    assert [p["predicted"] for p in scorer.predictions] == raw["tags"]


def test_head_loss_skips_ignored_positions():
    torch.manual_seed(0)
    head = TokenClassificationHead(8, 3, 0.0)
    hidden = torch.randn(2, 4, 8)
    labels = torch.tensor([[X, 1, 2, X], [0, X, X, X]])
    out = head(hidden, labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits[labels != X], labels[labels != X])
    assert out.logits.shape == (2, 4, 3) and torch.allclose(out.loss, expected)
    assert head(hidden, labels=torch.full((2, 4), X)).loss.item() == 0.0  # not NaN
    with pytest.raises(PtuneError, match="do not line up"):
        head(hidden, labels=torch.zeros(2, 5, dtype=torch.long))


# ---------------------------------------------------------------- IOB and files


def test_iob1_to_iob2():
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "I-LOC"]
    assert to_iob2(iob1) == (["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG", "B-LOC"], 4)
    iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]
    assert to_iob2(iob2) == (iob2, 0)


def test_original_iob1_layout_is_read_as_iob2(tmp_path):
    (tmp_path / "train.txt").write_text(
        "-DOCSTART- -X- O O\n\nU.N. NNP I-NP I-ORG\nofficial NN I-NP O\nEkeus NNP I-NP I-PER\n"
        "Rolf NNP I-NP I-PER\nheads VBZ I-VP O\nfor IN I-PP O\nBaghdad NNP I-NP I-LOC\n. . O O\n\n"
        "-DOCSTART- -X- O O\n\nLeeds NNP I-NP I-ORG\nSheffield NNP I-NP B-ORG\n",
        encoding="utf-8",
    )
    rows = TAGGING.load_split(CONLL03, "train", str(tmp_path)).to_list()
    assert rows == [
        {
            "idx": 0,
            "tokens": ["U.N.", "official", "Ekeus", "Rolf", "heads", "for", "Baghdad", "."],
            "tags": ["B-ORG", "O", "B-PER", "I-PER", "O", "O", "B-LOC", "O"],
        },
        {"idx": 1, "tokens": ["Leeds", "Sheffield"], "tags": ["B-ORG", "B-ORG"]},
    ]


def test_any_number_of_columns_tag_last(tmp_path):
    (tmp_path / "dev.txt").write_text("Rome\tB-LOC\n\n1\tParis\t_\tNNP\tB-LOC\n", encoding="utf-8")
    with pytest.raises(PtuneError, match=r"dev\.txt:3: 5 columns"):
        read_columns(str(tmp_path / "dev.txt"), (), "test")
    (tmp_path / "dev.txt").write_text("1\tRome\t_\tNNP\tB-LOC\n2\tis\t_\tVBZ\tO\n", encoding="utf-8")
    assert read_columns(str(tmp_path / "dev.txt"), (), "test") == [
        {"idx": 0, "tokens": ["1", "2"], "tags": ["B-LOC", "O"]}
    ]  # the FIRST column is the word


def test_entity_spans_to_iob2():
    assert spans_to_tags(5, [{"start": 3, "end": 5, "type": "Loc"}, {"start": 0, "end": 1, "type": "Peop"}]) == [
        "B-Peop",
        "O",
        "O",
        "B-Loc",
        "I-Loc",
    ]
    with pytest.raises(PtuneError, match="does not lie inside"):
        spans_to_tags(2, [{"start": 1, "end": 3, "type": "Loc"}])


def test_labels_from_the_data_when_not_fixed(tmp_path):
    conll04 = get_task("conll04")
    (tmp_path / "train.txt").write_text("John B-Peop\nsaw O\nRome B-Loc\n", encoding="utf-8")
    (tmp_path / "dev.txt").write_text("IBM B-Org\n", encoding="utf-8")
    raw = {role: TAGGING.load_split(conll04, role, str(tmp_path)) for role in ("train", "dev")}
    assert label_list(TAGGING.fit(conll04, raw)) == ("O", "B-Loc", "I-Loc", "B-Org", "I-Org", "B-Peop", "I-Peop")
    with pytest.raises(PtuneError, match="task.labels"):
        label_list(conll04)


@pytest.mark.parametrize(
    "text, error",
    [
        ("John B-PER\nsays\n", r"train\.txt:2: 1 columns"),
        ("John\nsays\n", r"train\.txt:1: one column"),
        ("John NNP B-NP B-PER\nFoo NNP I-NP B-FOO\n", r"train\.txt:2: tag 'B-FOO' has entity type 'FOO'"),
        ("John NNP B-NP S-PER\n", r"train\.txt:1: tag 'S-PER' is not an IOB tag"),
        ("-DOCSTART- -X- -X- O\n\n\n", r"train\.txt: task=conll03: the train split is empty"),
        ("", r"train\.txt: task=conll03: the train split is empty"),
        (
            "John NNP B-NP B-PER\n\tNNP B-NP O\n",
            r"train\.txt:2: 3 columns .* after a space or tab \(a tag without its word\?\)",
        ),
        (" B-PER\nJohn B-PER\n", r"train\.txt:1: one column \('B-PER'\) after a space or tab"),
        ("John NNP B-NP b-per\n", r"train\.txt:1: tag 'b-per' is not an IOB tag"),
        ("John NNP B-NP PER\n", r"train\.txt:1: tag 'PER' is not an IOB tag"),
        (
            b"John B-PER\nM\xfcller I-PER\n",
            r"train\.txt:2: not UTF-8 text \(byte 0xfc at byte offset 12\); save the file as UTF-8",
        ),
    ],
)
def test_malformed_files_are_located(tmp_path, text, error):
    (tmp_path / "train.txt").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(PtuneError, match=error):
        TAGGING.load_split(CONLL03, "train", str(tmp_path))


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    (tmp_path / "train.txt").write_bytes(b"\xef\xbb\xbfJohn B-PER\nlives O\n")
    assert TAGGING.load_split(CONLL03, "train", str(tmp_path))["tokens"] == [["John", "lives"]]
    (tmp_path / "in.txt").write_bytes(b"\xef\xbb\xbf-DOCSTART-\n\nJohn\nlives\n")  # words only: the BOM must go too
    assert TAGGING.read_inputs(CONLL03, str(tmp_path / "in.txt"))["tokens"] == [["John", "lives"]]


def test_a_directory_where_the_file_belongs(tmp_path):
    (tmp_path / "train.txt").mkdir()
    with pytest.raises(PtuneError, match=r"train\.txt is a directory"):
        TAGGING.load_split(CONLL03, "train", str(tmp_path))


def test_missing_file_and_offline_hub(tmp_path):
    (tmp_path / "dev.txt").write_text("a O\n", encoding="utf-8")
    with pytest.raises(PtuneError, match=r"valid\.txt.*dev\.txt"):
        TAGGING.load_split(CONLL03, "dev", str(tmp_path))
    with pytest.raises(PtuneError, match=r"(?s)eriktks/conll2003.*task\.data_dir=DIR"):  # HF_DATASETS_OFFLINE=1 here
        TAGGING.load_split(CONLL03, "train", None)


# ---------------------------------------------------------------- scores and predictions


def test_seqeval_scores_of_a_hand_made_prediction_file(tmp_path):
    path = tmp_path / "predictions.conll"
    path.write_text(
        "John B-PER B-PER\nSmith I-PER I-PER\nlives O O\nin O O\nNew B-LOC B-LOC\nYork I-LOC O\n. O O\n\n"
        "Acme B-ORG B-ORG\nhired O O\nMary B-PER I-PER\n. O O\n\n"
        "Paris B-LOC B-ORG\nBerlin B-LOC B-LOC\n",
        encoding="utf-8",
    )
    # gold: PER {John Smith, Mary}, LOC {New York, Paris, Berlin}, ORG {Acme}            = 6
    # predicted: PER {John Smith, Mary (I- starts an entity, as in conlleval)},
    #            LOC {New, Berlin}, ORG {Acme, Paris}                                    = 6, 4 right
    # PER 2/2 right: F1 100; LOC P 1/2 R 1/3: F1 40; ORG P 1/2 R 1/1: F1 66.67
    assert score_file(str(path)) == pytest.approx(
        {"precision": 400 / 6, "recall": 400 / 6, "f1": 400 / 6, "f1_LOC": 40.0, "f1_ORG": 200 / 3, "f1_PER": 100.0},
        abs=1e-3,
    )


def test_predictions_file_round_trip(tmp_path):
    rows = [
        {"idx": 0, "tokens": ["John", "won"], "gold": ["B-PER", "O"], "predicted": ["B-PER", "B-PER"]},
        {"idx": 1, "tokens": ["Paris"], "gold": ["B-LOC"], "predicted": ["O"]},
    ]
    path = TAGGING.write_predictions(CONLL03, rows, str(tmp_path / "predictions_test"))
    assert path.endswith("predictions_test.conll")
    assert open(path).read() == "John B-PER B-PER\nwon O B-PER\n\nParis B-LOC O\n\n"
    assert read_predictions(path) == ([["B-PER", "O"], ["B-LOC"]], [["B-PER", "B-PER"], ["O"]])


def test_words_only_inputs_are_tagged_without_scores(tmp_path):
    path = tmp_path / "input.txt"
    path.write_text("-DOCSTART-\n\nJohn\nvisited\nParis\n\nBerlin\n", encoding="utf-8")
    raw = TAGGING.read_inputs(CONLL03, str(path))
    assert raw["tokens"] == [["John", "visited", "Paris"], ["Berlin"]] and not TAGGING.is_labelled(raw)
    features = TAGGING.tokenize(raw, CONLL03, tiny_tokenizer("bert"), 128, train=False)
    assert all(label == IGNORE for labels in features["labels"] for label in labels)
    scorer = TAGGING.Scorer(CONLL03, raw, features)
    logits = np.zeros((len(features), max(len(i) for i in features["input_ids"]), len(ID)), dtype=np.float32)
    logits[..., ID["B-LOC"]] = 1.0
    scores = scorer(EvalPrediction(predictions=logits, label_ids=None))
    assert "f1" not in scores and scores["words_without_subwords"] == 0
    out = TAGGING.write_predictions(CONLL03, scorer.predictions, str(tmp_path / "input.predictions"))
    assert open(out).read() == "John B-LOC\nvisited B-LOC\nParis B-LOC\n\nBerlin B-LOC\n\n"
    (tmp_path / "tagged.txt").write_text("John B-PER\n", encoding="utf-8")
    assert TAGGING.is_labelled(TAGGING.read_inputs(CONLL03, str(tmp_path / "tagged.txt")))


# ---------------------------------------------------------------- end to end


def conlleval_entities(tags: list[str]) -> set[tuple[str, int, int]]:
    """(type, start, end) of every entity of a tag sequence, by conlleval's rules (written out again
    for the tests): B-X starts an entity, and so does an I-X that does not continue an X entity."""
    found, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, typ = tag[:1], tag[2:]
        if start is not None and (prefix != "I" or typ != kind):
            found.add((kind, start, i))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, typ
    return found


def entity_scores_by_hand(path: str) -> dict[str, float]:
    """Micro precision, recall and F1 (percent) of a `word gold predicted` file, counted here."""
    sentences = open(path, encoding="utf-8").read().strip("\n").split("\n\n")
    tp = n_gold = n_pred = 0
    for sentence in sentences:
        columns = [line.split() for line in sentence.splitlines()]
        gold, predicted = conlleval_entities([c[-2] for c in columns]), conlleval_entities([c[-1] for c in columns])
        tp, n_gold, n_pred = tp + len(gold & predicted), n_gold + len(gold), n_pred + len(predicted)
    return {
        "precision": 100 * tp / n_pred if n_pred else 0.0,
        "recall": 100 * tp / n_gold,
        "f1": 100 * 2 * tp / (n_gold + n_pred),
    }


def test_entity_scores_by_hand_agree_with_the_hand_made_file(tmp_path):
    path = tmp_path / "p.conll"  # gold: PER, LOC; predicted: PER (I- starts it), LOC split in two
    path.write_text("A B-PER I-PER\nB I-PER I-PER\nc O O\nD B-LOC B-LOC\nE I-LOC B-LOC\n", encoding="utf-8")
    assert entity_scores_by_hand(str(path)) == pytest.approx({"precision": 100 / 3, "recall": 50.0, "f1": 40.0})
    assert score_file(str(path)) == pytest.approx(
        {**entity_scores_by_hand(str(path)), "f1_LOC": 0.0, "f1_PER": 100.0}, abs=1e-3
    )


@pytest.mark.parametrize(
    "method, model", [(m, "tiny-bert") for m in sorted(METHODS) if m != "ptv1"] + [("pt", "tiny-roberta")]
)
def test_each_method_trains_two_steps_and_predicts_every_word(method, model, conll_dir, cfg_factory):
    cfg = cfg_factory(
        f"method={method}", f"model={model}", "task=conll03", f"task.data_dir={conll_dir}", "task.max_seq_len=16"
    )  # the long sentence needs windows
    record = run(cfg)
    assert record["status"] == "completed" and record["train"]["steps"] == 2 and record["family"] == "tagging"
    for role in ("dev", "test"):
        assert 0 <= record[role]["f1"] <= 100
        assert record[role]["windowed_sentences"] >= 1
        by_hand = entity_scores_by_hand(os.path.join(cfg.output_dir, record["predictions"][role]))
        assert {k: record[role][k] for k in by_hand} == pytest.approx(by_hand, abs=1e-3)
    path = os.path.join(cfg.output_dir, record["predictions"]["test"])
    assert path.endswith(".conll")
    gold, predicted = read_predictions(path)
    assert gold == [[t.rsplit("/", 1)[1] for t in s.split()] for s in TEST]
    assert [len(p) for p in predicted] == [len(words_of(s)) for s in TEST]
    assert all(tag in CONLL03.labels for sentence in predicted for tag in sentence)
    words = [line.split()[0] for line in open(path) if line.strip()]
    assert words == [w for s in TEST for w in words_of(s)]


def test_pt_logits_line_up_with_the_input_tokens(conll_dir, cfg_factory):
    cfg = cfg_factory("method=pt", "method.prefix_len=5", "task=conll03", f"task.data_dir={conll_dir}")
    exp = build(plan(cfg))
    batch = TAGGING.collator(exp.tokenizer)([exp.data["dev"][i] for i in range(3)])
    exp.model.eval()
    with torch.no_grad():
        out = exp.model(**batch)
    assert out.logits.shape[:2] == batch["input_ids"].shape and torch.isfinite(out.loss)


def test_labels_taken_from_the_data_travel_with_the_record_and_the_export(tmp_path, cfg_factory):
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.predict import predict_file

    d = tmp_path / "conll04"
    d.mkdir()
    sentences = ["John/B-Peop saw/O Rome/B-Loc ./O", "IBM/B-Org hired/O Mary/B-Peop ./O"] * 3
    for name in ("train.txt", "dev.txt", "test.txt"):
        (d / name).write_text(conll_text(sentences, docstart=False), encoding="utf-8")
    cfg = cfg_factory("method=ptv2", "task=conll04", f"task.data_dir={d}")
    record = run(cfg)
    assert record["labels"] == ["O", "B-Loc", "I-Loc", "B-Org", "I-Org", "B-Peop", "I-Peop"]
    out = export_run(cfg.output_dir)
    path = predict_file(out, str(d / "test.txt"), str(tmp_path / "tags"))
    _, predicted = read_predictions(path)
    assert [len(p) for p in predicted] == [4] * 6 and all(t in record["labels"] for p in predicted for t in p)
