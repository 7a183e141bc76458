"""The Python API (`ptune_exp.api`): an experiment run from Python with the real configs, its export,
and `Predictor.predict` on a list giving what `ptune-exp-predict` gives on a file of the same inputs;
bad overrides raise PtuneError with the command's message; lists become each family's input format;
and the export's model card reads like a Hub model's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from corpus import SMOKE
from ptune_exp import api
from ptune_exp.errors import PtuneError
from ptune_exp.predict import predict_main
from ptune_exp.tasks import get_task

INPUTS = ["the movie was great", {"sentence": "the soup was not awful", "idx": 9}, {"sentence": "the plot was dull"}]


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory) -> tuple[dict, str]:
    """A tiny ptv2 run on synth_sentiment, run and exported from Python: (record, export folder)."""
    root = tmp_path_factory.mktemp("api")
    record = api.run_experiment(*SMOKE, output_dir=str(root / "run"))
    return record, api.export(record["output_dir"], str(root / "export"))


def same_predictions(listed: list[dict], filed: list[dict]) -> None:
    assert len(listed) == len(filed)
    for a, b in zip(listed, filed):
        assert {k: v for k, v in a.items() if k != "scores"} == {k: v for k, v in b.items() if k != "scores"}
        assert a.get("scores", {}).keys() == b.get("scores", {}).keys()
        assert all(abs(a["scores"][k] - b["scores"][k]) <= 1e-6 for k in a.get("scores", {}))


def test_run_from_python_then_predict_on_a_list_equals_ptune_exp_predict(sentiment, tmp_path, capsys):
    record, folder = sentiment
    assert record["status"] == "completed" and record["method"] == "ptv2" and record["model"] == "tiny-bert"
    assert Path(record["output_dir"], "metrics.json").is_file()
    predictor = api.load_export(folder)
    listed = predictor.predict(INPUTS)
    path = tmp_path / "in.jsonl"
    rows = [{"sentence": x} if isinstance(x, str) else x for x in INPUTS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert predict_main([folder, str(path), "-o", str(tmp_path / "preds")]) == 0, capsys.readouterr().err
    filed = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    same_predictions(listed, filed)
    assert [p["idx"] for p in listed] == [0, 9, 2]
    assert all(p["prediction"] in predictor.labels and set(p["scores"]) == set(predictor.labels) for p in listed)
    assert predictor.predict(INPUTS[:1]) == listed[:1]  # a prediction does not depend on the others


def test_predict_takes_a_list_and_names_the_bad_input(sentiment):
    predictor = api.load_export(sentiment[1])
    assert predictor.predict([]) == []
    with pytest.raises(PtuneError, match="takes a list of inputs"):
        predictor.predict("the movie was great")
    with pytest.raises(PtuneError, match=r"inputs\[1\]: missing field 'sentence'"):
        predictor.predict([{"sentence": "fine"}, {"text": "no such field"}])
    with pytest.raises(PtuneError, match=r"inputs\[0\] is int: give a dict with the task's fields or a string"):
        predictor.predict([3])
    with pytest.raises(PtuneError, match="should be a string"):
        predictor.predict([{"sentence": ["a", "list"]}])


def no_temporary_files(monkeypatch, tmp_path) -> list[Path]:
    """tempfile's functions raise; the working folder and the temp folder are fresh and empty. Returns the
    folders that must stay empty, with the Trainer's output_dir for predictions (which must not change)."""
    import tempfile

    from ptune_exp import predict

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was made")

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryDirectory", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    folders = [tmp_path / "cwd", tmp_path / "tmp"]
    for folder in folders:
        folder.mkdir()
    monkeypatch.chdir(folders[0])
    monkeypatch.setattr(tempfile, "tempdir", str(folders[1]))
    return [*folders, Path(predict.NOWHERE)]


def test_predict_check_and_batch_write_no_file(sentiment, monkeypatch, tmp_path):
    from types import SimpleNamespace

    from ptune_exp.serve.batch import answers, job_from_list, run_jobs
    from ptune_exp.serve.limits import Limits
    from ptune_exp.serve.registry import load_registry
    from ptune_exp.serve.server import check_request

    predictor = api.load_export(sentiment[1])
    want = predictor.predict(INPUTS)
    registry = load_registry([sentiment[1]])
    folders = no_temporary_files(monkeypatch, tmp_path)
    before = [sorted(f.iterdir()) for f in folders]
    assert predictor.predict(INPUTS) == want
    tasks = {"sentiment": SimpleNamespace(parts=SimpleNamespace(task=predictor.task))}
    body = json.dumps({"task": "sentiment", "inputs": INPUTS}).encode()
    limits = Limits(max_inputs=10, max_chars=10_000, max_bytes=1 << 20)
    assert check_request(tasks, body, limits) is None
    bad = json.dumps({"task": "sentiment", "inputs": ["ok", {"text": "x"}]}).encode()
    assert check_request(tasks, bad, limits) == (
        422,
        "field 'inputs': inputs[1]: missing field 'sentence' (expected the official layout of task=synth_sentiment)",
    )
    job = job_from_list(next(iter(registry.tasks.values())), INPUTS)
    run_jobs(registry, [job])
    same_predictions(answers(job), want)
    assert [sorted(f.iterdir()) for f in folders] == before


def test_load_export_keeps_the_export_checks(sentiment, tmp_path):
    with pytest.raises(PtuneError, match="has no export.json"):
        api.load_export(tmp_path)
    meta = json.loads(Path(sentiment[1], "export.json").read_text())
    meta["model"]["trust_remote_code"] = True
    (tmp_path / "export.json").write_text(json.dumps(meta))
    with pytest.raises(PtuneError, match="pass --trust-remote-code only if you trust them"):
        api.load_export(tmp_path)


def cli_error(capsys, monkeypatch, *overrides: str) -> str:
    """What `ptune-exp OVERRIDES` prints on stderr for a config it cannot compose (exit 1, Hydra's report)."""
    from ptune_exp.cli import main

    monkeypatch.setattr(sys, "argv", ["ptune-exp", *overrides])
    with pytest.raises(SystemExit):
        main()
    return capsys.readouterr().err


@pytest.mark.parametrize("override", ["method=bitfit", "method.prefix_lenght=8", "method.lr=abc", "seed=1,2"])
def test_a_bad_override_raises_the_message_the_command_prints(override, capsys, monkeypatch):
    with pytest.raises(PtuneError) as e:
        api.run_experiment(override, "model=tiny-bert")
    message = str(e.value)
    printed = cli_error(capsys, monkeypatch, override, "model=tiny-bert")
    assert message.splitlines()[0] in printed and message.splitlines()[-1] in printed, (message, printed)


def test_a_refused_plan_raises_as_the_command_says(tmp_path):
    with pytest.raises(PtuneError, match="no prompt"):
        api.run_experiment("method=fft", "method.prefix_len=8", output_dir=str(tmp_path))


def test_the_output_directory_defaults_to_the_command_s(tmp_path):
    cfg = api.compose("model=tiny-bert", "task=rte")
    assert cfg.output_dir.startswith("outputs/runs/rte/tiny-bert/ptv2/") and "hydra" not in cfg
    assert api.compose("output_dir=a", output_dir=str(tmp_path)).output_dir == str(tmp_path)
    assert api.compose("output_dir=a").output_dir == "a"
    with pytest.raises(PtuneError, match="strings as on the command line"):
        api.compose(("method", "pt"))


# ---------------------------------------------------------------- lists in each family's input format


def read_back(name: str, inputs: list, source: str | None = None) -> list[dict]:
    from ptune_exp.tasks.inputs import input_dataset

    return input_dataset(get_task(name, source), inputs).to_list()


def test_lists_become_each_family_s_rows():
    rte = [{"premise": "A man sleeps.", "hypothesis": "Someone rests.", "idx": 4}]
    assert [(r["text_a"], r["text_b"], r["idx"]) for r in read_back("rte", rte, "superglue")] == [
        ("A man sleeps.", "Someone rests.", 4)
    ]
    glue = [{"sentence1": "A man sleeps.", "sentence2": "Someone rests.", "label": "entailment"}]
    assert [(r["text_a"], r["label"]) for r in read_back("rte", glue, "glue")] == [("A man sleeps.", 0)]
    assert [r["text_a"] for r in read_back("sst2", ["a fine film", "dull"])] == ["a fine film", "dull"]
    assert [r["label"] for r in read_back("sst2", [{"sentence": "x", "label": 1}])] == [1]  # as a tsv cell: "1"
    copa = [{"premise": "It rained.", "choice1": "We got wet.", "choice2": "We got dry.", "question": "effect"}]
    assert len(read_back("copa", copa)) == 1
    qa = [{"question": "who won?", "context": "John won."}, {"question": "who?", "context": "Mary.", "id": "q7"}]
    assert [(r["id"], r["question"]) for r in read_back("squad", qa)] == [("0", "who won?"), ("q7", "who?")]
    hub = [{"question": "who?", "context": "John won.", "id": 3, "answers": {"text": ["John"], "answer_start": [0]}}]
    assert [(r["id"], r["answer_texts"]) for r in read_back("squad", hub)] == [("3", ["John"])]
    words = [{"tokens": ["John", "saw", "Rome"]}, ["IBM", "hired"], "Mary left ."]
    assert [r["tokens"] for r in read_back("conll03", words)] == [
        ["John", "saw", "Rome"],
        ["IBM", "hired"],
        ["Mary", "left", "."],
    ]
    tagged = [{"tokens": ["John", "saw", "Rome"], "tags": ["I-PER", "O", "I-LOC"]}]
    assert [r["tags"] for r in read_back("conll03", tagged)] == [["B-PER", "O", "B-LOC"]]  # IOB1 -> IOB2
    props = [{"tokens": ["John", "saw", "Rome"], "predicate": 1}]
    assert [(r["tokens"], r["predicate"], r["tags"]) for r in read_back("conll05", props)] == [
        (["John", "saw", "Rome"], 1, [])
    ]
    # what only a file's format refused now reads: a text with a tab, inputs with other fields
    assert [r["text_a"] for r in read_back("rte", [{"sentence1": "a\tb", "sentence2": "c", "x": [1]}], "glue")] == [
        "a\tb"
    ]


@pytest.mark.parametrize(
    "name, source, inputs, message",
    [
        (
            "rte",
            "glue",
            [{"sentence1": "a", "sentence2": "b"}, {"sentence1": "a"}],
            r"inputs\[1\]: missing field 'sentence2'",
        ),
        ("rte", "glue", [{"sentence1": ["a"], "sentence2": "b"}], r"inputs\[0\]: field 'sentence1' should be a string"),
        ("cola", None, ["a sentence"], "without a header"),
        ("rte", "superglue", ["a lone string"], r"inputs\[0\] is str: give a dict"),
        ("squad", None, [{"question": "q"}], r"inputs\[0\] \(id 0\): missing field 'context'"),
        (
            "squad",
            None,
            [{"question": "q", "context": "c", "id": "x"}] * 2,
            r"inputs\[1\]: question id 'x' appears twice",
        ),
        (
            "squad",
            None,
            [{"question": "q", "context": "c", "answers": [{"text": "d", "answer_start": 0}]}],
            "does not point",
        ),
        ("conll03", None, [{"tokens": []}], r"inputs\[0\] needs words"),
        ("conll03", None, [["two words", "x"]], "without spaces"),
        (
            "conll03",
            None,
            [{"tokens": ["a"], "tags": ["S-PER"]}],
            r"inputs\[0\]: word 0 \('a'\): tag 'S-PER' is not an IOB tag",
        ),
        ("conll03", None, [{"tokens": ["a"], "tags": ["B-X"]}], r"entity type 'X', which task=conll03 does not have"),
        ("conll05", None, [{"tokens": ["a", "b"], "predicate": 2}], r"'predicate': the index .* \(0\.\.1\)"),
        ("conll05", None, [["a", "b"]], "'predicate'"),
    ],
)
def test_a_bad_input_is_refused_by_its_index(name, source, inputs, message):
    with pytest.raises(PtuneError, match=message):
        read_back(name, inputs, source)


def conll04(folder: Path) -> Path:
    sentences = [["John/B-Peop", "saw/O", "Rome/B-Loc", "./O"], ["IBM/B-Org", "hired/O", "Mary/B-Peop", "./O"]] * 3
    folder.mkdir()
    text = "".join("".join(f"{w} {t}\n" for w, t in (x.split("/") for x in s)) + "\n" for s in sentences)
    for name in ("train.txt", "dev.txt", "test.txt"):
        (folder / name).write_text(text)
    return folder


def squad(folder: Path) -> Path:
    context = "john won the game in paris and mary lost the match in london."
    qas = [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for i, (q, a) in enumerate([("who won?", "john"), ("where?", "paris"), ("who lost?", "mary")])
    ]
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
    folder.mkdir()
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        (folder / name).write_text(json.dumps(data))
    return folder


@pytest.mark.slow
def test_tagging_lists_predict_as_ptune_exp_predict_does(tmp_path, capsys):
    data = conll04(tmp_path / "conll04")
    record = api.run_experiment(*SMOKE, "task=conll04", f"task.data_dir={data}", output_dir=str(tmp_path / "run"))
    folder = api.export(record["output_dir"])
    listed = api.load_export(folder).predict([["John", "saw", "Rome"], "IBM hired Mary ."])
    (tmp_path / "in.txt").write_text("John\nsaw\nRome\n\nIBM\nhired\nMary\n.\n")
    assert predict_main([folder, str(tmp_path / "in.txt"), "-o", str(tmp_path / "tags")]) == 0
    sentences = (tmp_path / "tags.conll").read_text().strip().split("\n\n")
    filed = [[line.split()[-1] for line in s.splitlines()] for s in sentences]
    assert [p["tags"] for p in listed] == filed and [p["tokens"][0] for p in listed] == ["John", "IBM"]


@pytest.mark.slow
def test_qa_lists_predict_as_ptune_exp_predict_does(tmp_path):
    data = squad(tmp_path / "squad")
    overrides = ("task=squad", f"task.data_dir={data}", "task.max_seq_len=64", "task.doc_stride=16")
    record = api.run_experiment(*SMOKE, *overrides, output_dir=str(tmp_path / "run"))
    folder = api.export(record["output_dir"])
    context = "mary won the match in london while john lost."
    listed = api.load_export(folder).predict(
        [{"question": "who won?", "context": context, "id": "a"}, {"question": "where?", "context": context}]
    )
    data = {
        "version": "1.1",
        "data": [
            {
                "title": "",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [{"id": "a", "question": "who won?"}, {"id": "1", "question": "where?"}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "in.json").write_text(json.dumps(data))
    assert predict_main([folder, str(tmp_path / "in.json"), "-o", str(tmp_path / "answers")]) == 0
    filed = json.loads((tmp_path / "answers.json").read_text())
    assert [p["id"] for p in listed] == ["a", "1"] and {p["id"]: p["answer"] for p in listed} == filed


# ---------------------------------------------------------------- the model card


def test_the_export_has_a_hub_model_card(sentiment):
    from huggingface_hub import ModelCard

    record, folder = sentiment
    card = ModelCard.load(Path(folder, "README.md"))  # parsed as the Hub parses it
    assert card.data.library_name == "ptune-exp" and "p-tuning-v2" in card.data.tags
    assert card.data.base_model is None and card.data.datasets is None  # a tiny built model, generated data
    text = card.text
    for expected in ("tiny random-weight `bert`", "prefix length 16", "`synth_sentiment`", "`negative`, `positive`"):
        assert expected in text, expected
    assert f"| dev | 16 | {record['dev']['accuracy']:.2f} |" in text and "| test | 16 |" in text
    assert f"{record['params']['trainable']:,} of {record['params']['total']:,}" in text
    assert "ptune-exp-predict my-export INPUT" in text and "api.load_export('my-export')" in text
    assert "[{'sentence': '...'}]" in text and "10.18653/v1/2022.acl-short.8" in text


def test_a_hub_backbone_and_hub_data_are_named_in_the_front_matter(sentiment, tmp_path):
    import yaml

    from ptune_exp.artifacts.modelcard import model_card

    record, folder = sentiment
    meta = json.loads(Path(folder, "export.json").read_text())
    meta["model"] = {"name": "roberta-large", "name_or_path": "FacebookAI/roberta-large", "revision": "abc123"}
    meta["task"] = {"name": "rte", "source": "superglue", "max_seq_len": 128}
    meta["labels"] = ["entailment", "not_entailment"]
    on_hub = {**record, "config": {**record["config"], "task": {"name": "rte", "data_dir": None}}}
    card = model_card(meta, on_hub, "me/rte-ptv2")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["base_model"] == "FacebookAI/roberta-large" and front["datasets"] == ["aps/super_glue"]
    assert "`FacebookAI/roberta-large` at revision `abc123`" in card and "hf download me/rte-ptv2" in card
    assert "[{'premise': '...', 'hypothesis': '...'}]" in card
    local = {**record, "config": {**record["config"], "task": {"name": "rte", "data_dir": str(tmp_path)}}}
    meta["model"]["name_or_path"] = str(tmp_path)
    front = yaml.safe_load(model_card(meta, local).split("---\n")[1])
    assert "base_model" not in front and "datasets" not in front
