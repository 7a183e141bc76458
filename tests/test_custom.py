"""task=custom: a task of the user's own (files in every format, or a hub-style dataset folder) on the
family code the built-in tasks use; equivalence with task=rte / conll03 / squad on the same files; export
and predict with the user's labels; any checkpoint under its own name."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from custom_fixtures import (
    CHOICES,
    CONLL,
    PAIRS,
    QUESTIONS,
    SCORES,
    SENTIMENT,
    TAGGED,
    sentiment_args,
    squad_json,
    write,
)
from ptune_exp.pipeline.run import run
from ptune_exp.tasks.custom import CustomTaskConfig, custom_spec
from ptune_exp.tasks.custom.spec import load_data, stratified

BASE = {"name": "mine", "family": "classification"}


def declared(**keys) -> CustomTaskConfig:
    return CustomTaskConfig.from_cfg({**BASE, "data_files": None, "hub_id": None, **keys})


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_each_table_format_reads_into_classification_rows(fmt, tmp_path):
    train = write(tmp_path / f"train.{fmt}", SENTIMENT)
    data = load_data(declared(data_files={"train": train, "dev": train}))
    assert [r["text_a"] for r in data.rows["train"]] == [r["text"] for r in SENTIMENT]
    assert data.resolved["labels"] == ("neg", "pos")  # strings: sorted
    assert [r["label"] for r in data.rows["dev"][:2]] == [1, 0]


def test_conll_and_squad_files_read_through_their_families_readers(tmp_path):
    (tmp_path / "train.txt").write_text(CONLL)
    data = load_data(
        declared(
            family="tagging", data_files={"train": str(tmp_path / "train.txt"), "dev": str(tmp_path / "train.txt")}
        )
    )
    assert data.rows["train"][0] == {
        "idx": 0,
        "tokens": ["John", "lives", "in", "Paris", "0"],
        "tags": ["B-PER", "O", "O", "B-LOC", "O"],
    }
    (tmp_path / "train.json").write_text(squad_json(QUESTIONS))
    path = str(tmp_path / "train.json")
    qa = load_data(declared(family="qa", data_files={"train": path, "dev": path}))
    assert qa.rows["dev"][0]["answer_texts"] == ["Paris"] and qa.rows["dev"][0]["answer_starts"] == [21]


def test_numbers_with_fractions_are_regression_and_integers_are_classes(tmp_path):
    path = write(tmp_path / "s.jsonl", SCORES)
    spec = custom_spec(OmegaConf.create({**BASE, "data_files": {"train": path, "dev": path}}))
    assert spec.is_regression and spec.metrics == ("pearson", "spearman")
    rows = [{"text": f"t{i}", "label": i % 3} for i in range(6)]
    path = write(tmp_path / "c.jsonl", rows)
    spec = custom_spec(OmegaConf.create({**BASE, "data_files": {"train": path, "dev": path}}))
    assert spec.labels == ("0", "1", "2")


def test_dev_fraction_carves_the_same_rows_every_time_and_stratify_keeps_shares(tmp_path):
    path = write(tmp_path / "train.csv", SENTIMENT)
    a = load_data(declared(data_files={"train": path}, dev_fraction=0.25))
    b = load_data(declared(data_files={"train": path}, dev_fraction=0.25))
    assert [r["idx"] for r in a.rows["dev"]] == [r["idx"] for r in b.rows["dev"]] and len(a.rows["dev"]) == 3
    assert len(a.rows["train"]) == 9
    picked = stratified([0] * 90 + [1] * 10, 10)
    assert sum(i >= 90 for i in picked) == 1 and len(picked) == 10


FAMILY_DATA = {
    "classification": (PAIRS, "jsonl", ["task.text_fields=[premise,hypothesis]"]),
    "tagging": (TAGGED, "json", []),
    "qa": (QUESTIONS, "jsonl", ["task.max_seq_len=64", "task.doc_stride=16"]),
    "multiple_choice": (CHOICES, "csv", []),
}
METHODS = ["fft", "pt", "prefix", "ptv2", "lora", "ia3"]


@pytest.mark.parametrize("family", sorted(FAMILY_DATA))
def test_every_method_trains_on_each_family_from_configuration_alone(family, tmp_path, cfg_factory):
    rows, fmt, extra = FAMILY_DATA[family]
    path = write(tmp_path / f"train.{fmt}", rows)
    args = ["task=custom", f"task.name=my_{family}", f"task.family={family}", f"task.data_files.train={path}"]
    args += [f"task.data_files.dev={path}", "train.max_steps=2", *extra]
    for method in METHODS:
        record = run(cfg_factory(*args, f"method={method}"))
        assert record["status"] == "completed" and record["train"]["steps"] == 2, (family, method)
    assert record["task"] == f"my_{family}" and record["provenance"]["data"]["source"] == "custom"
    assert record["data_sha256"]["train"] == record["provenance"]["data"]["sha256"]["train"]


def test_a_local_folder_laid_out_like_a_dataset_repository_loads_through_hub_id(tmp_path, cfg_factory):
    write(tmp_path / "ds" / "train.csv", SENTIMENT)
    write(tmp_path / "ds" / "validation.csv", SENTIMENT[:6])
    record = run(cfg_factory("task=custom", "task.name=mine", f"task.hub_id={tmp_path / 'ds'}"))
    assert record["status"] == "completed" and record["data"]["dev"] == 6
    assert record["provenance"]["data"]["hub_id"] == str(tmp_path / "ds")


# ---------------------------------------------------------------- the same as the built-in tasks


def _same_run(cfg_factory, builtin: list[str], custom: list[str]) -> None:
    a, b = run(cfg_factory(*builtin)), run(cfg_factory(*custom))
    assert a["dev"] == b["dev"] and a["labels"] == b["labels"]
    for role in a["predictions"]:
        first = (a["output_dir"] + "/" + a["predictions"][role], b["output_dir"] + "/" + b["predictions"][role])
        assert open(first[0]).read() == open(first[1]).read(), role


def test_rte_declared_as_custom_predicts_and_scores_as_task_rte(tmp_path, cfg_factory):
    rows = [{**r, "idx": i, "label": ("entailment", "not_entailment")[i % 2]} for i, r in enumerate(PAIRS)]
    train, dev = write(tmp_path / "train.jsonl", rows), write(tmp_path / "val.jsonl", rows[:6])
    custom = ["task=custom", "task.name=my_rte", f"task.data_files.train={train}", f"task.data_files.dev={dev}"]
    _same_run(cfg_factory, ["task=rte", "task.source=superglue", f"task.data_dir={tmp_path}"], custom)


def test_conll03_and_squad_declared_as_custom_match_the_built_in_tasks(tmp_path, cfg_factory):
    from ptune_exp.tasks import get_task

    for name in ("train.txt", "valid.txt", "test.txt"):
        (tmp_path / name).write_text(CONLL)
    labels = ",".join(get_task("conll03").labels)
    files = [
        f"task.data_files.{r}={tmp_path / n}"
        for r, n in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt"))
    ]
    custom = ["task=custom", "task.name=my_ner", "task.family=tagging", f"task.labels=[{labels}]", *files]
    _same_run(cfg_factory, ["task=conll03", f"task.data_dir={tmp_path}"], custom)
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        (tmp_path / name).write_text(squad_json(QUESTIONS))
    small = ["task.max_seq_len=64", "task.doc_stride=16"]
    files = [
        f"task.data_files.train={tmp_path / 'train-v1.1.json'}",
        f"task.data_files.dev={tmp_path / 'dev-v1.1.json'}",
    ]
    custom = ["task=custom", "task.name=my_squad", "task.family=qa", *files, *small]
    _same_run(cfg_factory, ["task=squad", f"task.data_dir={tmp_path}", *small], custom)


# ---------------------------------------------------------------- export, predict, API


def test_export_predict_and_the_api_return_the_users_label_strings(tmp_path, cfg_factory):
    from ptune_exp import api
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.predict import predict_main

    record = run(cfg_factory(*sentiment_args(tmp_path / "d")))
    assert record["labels"] == ["neg", "pos"] and record["config"]["task"]["text_fields"] == ["text"]
    folder = export_run(record["output_dir"], str(tmp_path / "export"))
    inputs = write(tmp_path / "in.csv", [{"text": "it was good"}, {"text": "it was bad"}])
    assert predict_main([folder, inputs, "-o", str(tmp_path / "out")]) == 0
    lines = [json.loads(line) for line in open(tmp_path / "out.jsonl")]
    assert len(lines) == 2 and {line["prediction"] for line in lines} <= {"neg", "pos"}
    predicted = api.load_export(folder).predict([{"text": "it was good"}, "it was bad"])
    assert [p["prediction"] for p in predicted] == [line["prediction"] for line in lines]


# ---------------------------------------------------------------- any checkpoint under its own name


def test_a_checkpoint_folder_is_filed_under_its_own_name_and_tabled_apart(tmp_path, cfg_factory, capsys):
    from ptune_exp.compare import main as compare_main
    from ptune_exp.config.names import derived_name
    from ptune_exp.model.tiny import tiny_backbone

    model, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    folder = tmp_path / "run3" / "checkpoint-500"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    assert derived_name(str(folder)) == "run3--checkpoint-500" and derived_name("org/m") == "org--m"
    mine = run(cfg_factory(*sentiment_args(tmp_path / "d"), "model=bert-base", f"model.name_or_path={folder}"))
    tiny = run(cfg_factory(*sentiment_args(tmp_path / "d")))
    assert mine["model"] == "run3--checkpoint-500" and mine["config"]["model"]["name"] == "run3--checkpoint-500"
    named = run(
        cfg_factory(*sentiment_args(tmp_path / "d"), "model=auto", f"model.name_or_path={folder}", "model.name=mybert")
    )
    assert named["model"] == "mybert"
    assert compare_main([mine["output_dir"], tiny["output_dir"]]) == 0
    out = capsys.readouterr().out
    assert "run3--checkpoint-500" in out and "tiny-bert" in out


def test_the_declaration_and_the_config_schema_name_the_same_keys():
    """`task=custom`'s keys are listed twice: as Hydra's typed schema (config/tasks.py `CustomConfig`, what
    composition accepts) and as the checked declaration (`CustomTaskConfig`, what the family reads). A key in
    one and not the other would be either refused at composition or silently dropped."""
    import dataclasses

    from ptune_exp.config.tasks import CustomConfig

    schema = {f.name for f in dataclasses.fields(CustomConfig)}
    declared = {f.name for f in dataclasses.fields(CustomTaskConfig)}
    assert declared <= schema, declared - schema
    # the schema's other keys are every task's (DataConfig) or a family's options, read where they apply
    from ptune_exp.config.tasks import DataConfig
    from ptune_exp.tasks.custom.config import FAMILY_OPTIONS

    rest = schema - declared - {f.name for f in dataclasses.fields(DataConfig)}
    assert rest <= {*FAMILY_OPTIONS, "template", "label_words"}, rest
