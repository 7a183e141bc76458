"""Local official formats (GLUE tsv, SuperGLUE jsonl) parse from fixture files the tests write."""

import json
import re

import pytest
from omegaconf import OmegaConf

from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.run import run
from ptune_exp.tasks import FAMILIES, TASKS, family_of, get_task
from ptune_exp.tasks.families.base import UNLABELLED, Family

CLASSIFICATION = FAMILIES["classification"]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path, rows):
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


def test_glue_rte_tsv(tmp_path):
    write(
        tmp_path / "train.tsv",
        "index\tsentence1\tsentence2\tlabel\n0\tA man sleeps.\tA person rests.\tentailment\n"
        '1\tIt "rained".\tIt was dry.\tnot_entailment\n',
    )
    rows = CLASSIFICATION.load_split(get_task("rte", "glue"), "train", str(tmp_path)).to_list()
    assert rows == [
        {"idx": 0, "text_a": "A man sleeps.", "text_b": "A person rests.", "label": 0},
        {"idx": 1, "text_a": 'It "rained".', "text_b": "It was dry.", "label": 1},  # quotes kept verbatim
    ]


def test_glue_cola_has_no_header(tmp_path):
    write(tmp_path / "dev.tsv", "gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n")
    rows = CLASSIFICATION.load_split(get_task("cola"), "dev", str(tmp_path)).to_list()
    assert [(r["text_a"], r["text_b"], r["label"]) for r in rows] == [
        ("The cat sat.", None, 1),
        ("Cat the sat.", None, 0),
    ]


def test_glue_stsb_scores_and_mnli_mismatched(tmp_path):
    write(
        tmp_path / "dev.tsv",
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        "0\tmain\tx\t2012\t1\tnone\tnone\tA plane.\tAn airplane.\t4.750\n",
    )
    row = CLASSIFICATION.load_split(get_task("stsb"), "dev", str(tmp_path)).to_list()[0]
    assert row["label"] == pytest.approx(4.75) and row["text_b"] == "An airplane."
    header = "index\tsentence1\tsentence2\tgold_label\n"
    write(tmp_path / "dev_mismatched.tsv", header + "0\tA\tB\tneutral\n1\tC\tD\tcontradiction\n")
    rows = CLASSIFICATION.load_split(get_task("mnli"), "dev_mismatched", str(tmp_path)).to_list()
    assert [r["label"] for r in rows] == [1, 2]


def test_glue_mrpc_columns(tmp_path):
    write(tmp_path / "train.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said.\tHe stated.\n")
    row = CLASSIFICATION.load_split(get_task("mrpc"), "train", str(tmp_path)).to_list()[0]
    assert (row["text_a"], row["text_b"], row["label"]) == ("He said.", "He stated.", 1)


def test_superglue_jsonl_labels_and_wic_word(tmp_path):
    jsonl(
        tmp_path / "val.jsonl",
        [
            {"question": "is it?", "passage": "It is.", "label": True, "idx": 0},
            {"question": "is it not?", "passage": "No.", "label": False, "idx": 1},
        ],
    )
    rows = CLASSIFICATION.load_split(get_task("boolq"), "dev", str(tmp_path)).to_list()
    assert [(r["text_a"], r["label"]) for r in rows] == [("is it?", 1), ("is it not?", 0)]
    jsonl(
        tmp_path / "train.jsonl",
        [
            {
                "word": "bank",
                "sentence1": "A river bank.",
                "sentence2": "A bank loan.",
                "start1": 8,
                "end1": 12,
                "start2": 2,
                "end2": 6,
                "label": False,
                "idx": 0,
            }
        ],
    )
    row = CLASSIFICATION.load_split(get_task("wic"), "train", str(tmp_path)).to_list()[0]
    assert row["text_a"] == "bank: A river bank." and row["text_b"] == "A bank loan." and row["label"] == 0


def test_a_dev_file_without_labels_is_an_error_but_inputs_to_predict_may_go_without(tmp_path):
    jsonl(tmp_path / "val.jsonl", [{"premise": "P", "hypothesis": "H", "idx": 0}])
    with pytest.raises(PtuneError, match=r"val\.jsonl:1: no label \(field 'label'\)"):
        CLASSIFICATION.load_split(get_task("cb"), "dev", str(tmp_path))
    split = CLASSIFICATION.read_inputs(get_task("cb"), str(tmp_path / "val.jsonl"))
    assert split["label"] == [UNLABELLED] and not CLASSIFICATION.is_labelled(split)
    jsonl(
        tmp_path / "val.jsonl",
        [{"premise": "P", "hypothesis": "H", "label": "neutral"}, {"premise": "P", "hypothesis": "H"}],
    )
    with pytest.raises(PtuneError, match=r"val\.jsonl:2: no label"):  # one unlabelled row is enough
        CLASSIFICATION.load_split(get_task("cb"), "dev", str(tmp_path))


MRPC_HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def test_official_mrpc_files_with_a_byte_order_mark_load_their_labels(tmp_path):
    """The official MRPC train.tsv/dev.tsv start with a UTF-8 BOM: the header must still name `Quality`."""
    body = '1\t702876\t702977\tAmrozi accused his brother .\tReferring to him as "the witness" .\n0\t2108705\t2108831\tA b .\tC d .\n'
    for name in ("train.tsv", "dev.tsv"):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (MRPC_HEADER + body).encode("utf-8"))
    for role in ("train", "dev"):
        rows = CLASSIFICATION.load_split(get_task("mrpc"), role, str(tmp_path)).to_list()
        assert [(r["text_a"], r["text_b"], r["label"]) for r in rows] == [
            ("Amrozi accused his brother .", 'Referring to him as "the witness" .', 1),
            ("A b .", "C d .", 0),
        ]


def test_every_reader_drops_a_byte_order_mark(tmp_path):
    bom = b"\xef\xbb\xbf"
    (tmp_path / "train.tsv").write_bytes(bom + b"sentence\tlabel\nit is good .\t1\n")
    assert CLASSIFICATION.load_split(get_task("sst2"), "train", str(tmp_path))["label"] == [1]
    (tmp_path / "train.jsonl").write_bytes(bom + b'{"premise": "a", "hypothesis": "b", "label": "neutral"}\n')
    assert CLASSIFICATION.load_split(get_task("cb"), "train", str(tmp_path))["label"] == [2]


def test_a_label_column_missing_from_the_header_names_the_file_and_the_column(tmp_path):
    write(tmp_path / "dev.tsv", "#1 ID\t#2 ID\t#1 String\t#2 String\n1\t2\tA.\tB.\n")
    with pytest.raises(PtuneError, match=r"dev\.tsv:1: the header has no column 'Quality'"):
        CLASSIFICATION.load_split(get_task("mrpc"), "dev", str(tmp_path))
    inputs = CLASSIFICATION.read_inputs(get_task("mrpc"), str(tmp_path / "dev.tsv"))  # a test file predicts
    assert inputs["label"] == [UNLABELLED]


@pytest.mark.parametrize(
    "task, name, content, error",
    [
        (
            "cb",
            "train.jsonl",
            '{"premise": null, "hypothesis": "b", "label": "neutral"}\n',
            r":1: field 'premise' should be a string, got null",
        ),
        (
            "cb",
            "train.jsonl",
            '{"premise": 3, "hypothesis": "b", "label": "neutral"}\n',
            r":1: field 'premise' should be a string, got a number",
        ),
        (
            "cb",
            "train.jsonl",
            '{"premise": "\\ud800", "hypothesis": "b", "label": "neutral"}\n',
            r":1: field 'premise' holds .*surrogate",
        ),
        ("cb", "train.jsonl", "[1, 2]\n", r":1: expected a JSON object \{...\}, got an array"),
        ("cb", "train.jsonl", '"text"\n', r":1: expected a JSON object \{...\}, got a string"),
        ("cb", "train.jsonl", "[" * 100000 + "\n", r":1: not valid JSON \(nested too deeply\)"),
        ("cb", "train.jsonl", '{"premise": "a", "hypothesis": "b", "label": 1.5}\n', r":1: label 1\.5 is not one of"),
        (
            "boolq",
            "train.jsonl",
            '{"question": "a", "passage": "b", "label": 1}\n',
            r":1: label 1 is not one of \[False, True\] \(1 is a number; a label here is a boolean\)",
        ),
        (
            "cb",
            "train.jsonl",
            '{"premise": "a", "hypothesis": "b", "label": true}\n',
            r":1: label True is not one of .* \(True is a boolean; a label here is a string\)",
        ),
        (
            "stsb",
            "train.tsv",
            "index\tsentence1\tsentence2\tscore\n0\ta\tb\tnan\n",
            r":2: score 'nan' is not a finite number",
        ),
        (
            "stsb",
            "train.tsv",
            "index\tsentence1\tsentence2\tscore\n0\ta\tb\thigh\n",
            r":2: score 'high' is not a number",
        ),
        ("sst2", "train.tsv", "sentence\tlabel\na\t1\tb\n", r":2: 3 tab-separated fields, but the header has 2"),
        ("sst2", "train.tsv", "sentence\tsentence\tlabel\na\tb\t1\n", r":1: the header names a column twice"),
        (
            "cola",
            "train.tsv",
            "gj04\t1\t\tA.\ngj04\t1\tB.\n",
            r":2: 3 tab-separated fields, but the file's first line has 4",
        ),
        ("cola", "train.tsv", "gj04\t1\n", r":1: 2 tab-separated fields, but the layout needs 4"),
        (
            "sst2",
            "train.tsv",
            b"sentence\tlabel\ncaf\xe9\t1\n",
            r":2: not UTF-8 text \(byte 0xe9 at byte offset 18\); save the file as UTF-8",
        ),
        ("sst2", "train.tsv", "sentence\tlabel\n".encode("utf-16"), r":1: the file is UTF-16 text; save it as UTF-8"),
        ("sst2", "train.tsv", "", r": task=sst2: the train split is empty"),
        ("sst2", "train.tsv", "sentence\tlabel\n", r": task=sst2: the train split is empty"),
    ],
)
def test_bad_files_are_one_located_error(tmp_path, task, name, content, error):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (tmp_path / name).write_bytes(data)
    with pytest.raises(PtuneError, match=re.escape(str(tmp_path / name)) + error):
        CLASSIFICATION.load_split(get_task(task), "train", str(tmp_path))


def test_a_directory_where_a_file_belongs_is_named(tmp_path):
    (tmp_path / "train.tsv").mkdir()
    with pytest.raises(PtuneError, match=r"train\.tsv is a directory"):
        CLASSIFICATION.load_split(get_task("sst2"), "train", str(tmp_path))
    with pytest.raises(PtuneError, match=r"train\.tsv is a directory"):
        CLASSIFICATION.read_inputs(get_task("sst2"), str(tmp_path / "train.tsv"))


def test_missing_file_names_what_is_there(tmp_path):
    write(tmp_path / "other.jsonl", "{}\n")
    with pytest.raises(PtuneError, match=r"train\.tsv.*other\.jsonl"):
        CLASSIFICATION.load_split(get_task("rte", "glue"), "train", str(tmp_path))


def test_the_other_layout_of_a_task_names_its_source(tmp_path):
    write(tmp_path / "train.jsonl", "{}\n")
    with pytest.raises(PtuneError, match="add task.source=superglue"):
        CLASSIFICATION.load_split(get_task("rte", "glue"), "train", str(tmp_path))


def test_malformed_json_line_is_located(tmp_path):
    write(tmp_path / "train.jsonl", '{"premise": "a", "hypothesis": "b", "label": "entailment"}\n{"premise": oops}\n')
    with pytest.raises(PtuneError, match=r"train\.jsonl:2: not valid JSON"):
        CLASSIFICATION.load_split(get_task("rte", "superglue"), "train", str(tmp_path))


def test_label_outside_the_label_set_is_located(tmp_path):
    jsonl(
        tmp_path / "train.jsonl",
        [
            {"premise": "a", "hypothesis": "b", "label": "entailment"},
            {"premise": "a", "hypothesis": "b", "label": "maybe"},
        ],
    )
    with pytest.raises(PtuneError, match=r"train\.jsonl:2: label 'maybe' is not one of"):
        CLASSIFICATION.load_split(get_task("rte", "superglue"), "train", str(tmp_path))


def test_wrong_number_of_tsv_fields_is_located(tmp_path):
    write(tmp_path / "train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tonly two\n")
    with pytest.raises(PtuneError, match=r"train\.tsv:2: 2 tab-separated fields"):
        CLASSIFICATION.load_split(get_task("rte", "glue"), "train", str(tmp_path))


def test_missing_field_is_located(tmp_path):
    jsonl(tmp_path / "train.jsonl", [{"premise": "a", "label": "entailment"}])
    with pytest.raises(PtuneError, match=r"train\.jsonl:1: missing field 'hypothesis'"):
        CLASSIFICATION.load_split(get_task("rte", "superglue"), "train", str(tmp_path))


def test_empty_split_is_refused(tmp_path):
    write(tmp_path / "train.jsonl", "\n")
    with pytest.raises(PtuneError, match="empty"):
        CLASSIFICATION.load_split(get_task("rte", "superglue"), "train", str(tmp_path))


def test_run_on_local_superglue_rte_files(tmp_path, cfg_factory):
    rows = [
        {
            "premise": f"Premise number {i}.",
            "hypothesis": f"Hypothesis {i}.",
            "idx": i,
            "label": "entailment" if i % 2 else "not_entailment",
        }
        for i in range(12)
    ]
    jsonl(tmp_path / "train.jsonl", rows)
    jsonl(tmp_path / "val.jsonl", rows[:6])
    record = run(cfg_factory("task=rte", "task.source=superglue", f"task.data_dir={tmp_path}", "method=ptv2"))
    assert record["status"] == "completed" and record["task_source"] == "superglue"
    assert record["data"] == {"train": 12, "dev": 6} and record["test"] is None


def test_every_task_has_its_family_in_the_registry():
    for spec in TASKS.values():
        family = family_of(spec)
        assert isinstance(family, Family) and family.key == spec.family and FAMILIES[spec.family] is family
    assert sorted(FAMILIES) == sorted({spec.family for spec in TASKS.values()})
    sst2 = get_task("sst2")  # classification's options: the template and label words (null: the task's defaults)
    configured = CLASSIFICATION.configure(sst2, OmegaConf.create({"max_seq_len": 8}))
    assert (configured.template, configured.label_words) == ("[P] {text_a} It was [MASK] .", ("terrible", "great"))
    assert CLASSIFICATION.fit(sst2, {}) is sst2
