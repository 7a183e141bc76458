"""Interrupt and resume: the same result, one record over all segments, refusals that leave it as it was."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

from conftest import SMOKE, compose_cfg
from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.run import Interrupted, run
from ptune_exp.runs.callbacks import GracefulStop, Signalled

SHORT = [
    "method=ptv2",
    "method.reparam=true",
    "method.reparam_hidden=16",
    "train.max_steps=6",
    "train.eval_steps=2",
    "train.batch_size=4",
    "train.select=best",
]


class SignalAt(TrainerCallback):
    """Sends this process SIGTERM after the given step, as a scheduler's pre-emption would."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            signal.raise_signal(signal.SIGTERM)


def resume(out, *changes, callbacks=()):
    """`run` with SHORT (each change replacing the override of its key) plus train.resume=out."""
    keys = {c.split("=", 1)[0] for c in changes}
    overrides = [o for o in SHORT if o.split("=", 1)[0] not in keys]
    return run(compose_cfg(*SMOKE, *overrides, *changes, f"train.resume={out}"), callbacks=callbacks)


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """SHORT run uninterrupted ("full"), and SIGTERMed after step 3 ("stopped": checkpoints 2 and 4)."""
    root = tmp_path_factory.mktemp("stopped")
    full = run(compose_cfg(*SMOKE, *SHORT, f"output_dir={root / 'full'}"))
    with pytest.raises(Interrupted, match="train.resume="):
        run(compose_cfg(*SMOKE, *SHORT, f"output_dir={root / 'stopped'}"), callbacks=[SignalAt(3)])
    return root / "stopped", full


@pytest.fixture
def stopped(stopped_run, tmp_path) -> Path:
    """A fresh copy of the interrupted run."""
    shutil.copytree(stopped_run[0], tmp_path / "stopped")
    return tmp_path / "stopped"


def record_of(out) -> dict:
    return json.loads((Path(out) / "metrics.json").read_text())


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_result(stopped_run, stopped):
    full = stopped_run[1]
    record = record_of(stopped)
    assert record["status"] == "interrupted" and "train.resume" in record["error"]
    checkpoints = sorted(d.name for d in stopped.iterdir() if d.name.startswith("checkpoint-"))
    assert checkpoints == ["checkpoint-2", "checkpoint-4"]  # 4: the step that finished after the signal; 2 kept
    saved = load_file(stopped / "checkpoint-4" / "model.safetensors")
    assert saved and not any(k.startswith("backbone.") for k in saved)  # trainable state only

    resumed = resume(stopped)
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("checkpoint-4")
    assert resumed["output_dir"] == str(stopped)  # continued in the interrupted dir
    assert resumed["dev"] == full["dev"] and resumed["test"] == full["test"]
    assert [pt["dev"] for pt in resumed["curve"]] == [pt["dev"] for pt in full["curve"]]
    assert resumed["selection"] == full["selection"]
    a = load_file(os.path.join(full["output_dir"], "trainable.safetensors"))
    b = load_file(stopped / "trainable.safetensors")
    assert all((a[k] == b[k]).all() for k in a)
    assert not any(d.name.startswith("checkpoint-") for d in stopped.iterdir())  # cleaned after completion
    # the record covers both segments: the whole loss history, the mean loss over all steps, summed times
    assert resumed["loss_curve"] == full["loss_curve"] and [p["step"] for p in full["loss_curve"]] == [1, 2, 3, 4, 5, 6]
    assert resumed["train"]["loss"] == full["train"]["loss"] and resumed["train"]["steps"] == 6
    segments = resumed["segments"]
    assert [s["steps"] for s in segments] == [[0, 4], [4, 6]]
    assert [s["status"] for s in segments] == ["interrupted", "completed"]
    assert resumed["train"]["runtime_s"] == pytest.approx(sum(s["runtime_s"] for s in segments), abs=0.02)
    assert resumed["wall_time_s"] == pytest.approx(sum(s["wall_time_s"] for s in segments), abs=0.02)
    assert resumed["wall_time_s"] > segments[0]["wall_time_s"] > 0


@pytest.mark.parametrize(
    "change, named",
    [
        ("train.batch_size=8", r"train.batch_size=4 \(now 8\)"),
        ("task.max_train_samples=100", r"task.max_train_samples=16 \(now 100\)"),
        ("seed=7", r"seed=42 \(now 7\)"),
        ("method.prefix_len=8", r"method.prefix_len=16 \(now 8\)"),
        ("method=prefix", r"method.name='ptv2' \(now 'prefix'\)"),
        ("model=tiny-roberta", r"model.name='tiny-bert' \(now 'tiny-roberta'\)"),
        ("train.grad_accum=2", r"train.grad_accum=1 \(now 2\)"),
        ("train.max_steps=8", r"train.max_steps=6 \(now 8\)"),
        ("train.lr_scheduler=constant", r"train.lr_scheduler='linear' \(now 'constant'\)"),
    ],
)
def test_resume_refuses_changed_settings_and_leaves_the_record(stopped, change, named):
    before = (stopped / "metrics.json").read_bytes()
    with pytest.raises(PtuneError, match=rf"checkpoint-4 was trained with other settings .*{named}"):
        resume(stopped, change)
    assert (stopped / "metrics.json").read_bytes() == before


def test_resume_without_the_record_still_checks_the_checkpoint(stopped):
    (stopped / "metrics.json").unlink()
    with pytest.raises(PtuneError, match=r"run.json\): seed=42 \(now 7\)"):
        resume(stopped, "seed=7")
    resumed = resume(stopped, "train.progress=true", "train.logging_steps=2")  # settings that change nothing
    assert resumed["status"] == "completed"
    assert [(s["steps"], s["status"]) for s in resumed["segments"]] == [([0, 4], "checkpointed"), ([4, 6], "completed")]


def test_resume_falls_back_to_the_newest_complete_checkpoint(stopped_run, stopped, caplog):
    (stopped / "checkpoint-4" / "trainer_state.json").unlink()  # e.g. the disk filled up while saving
    resumed = resume(stopped)
    assert resumed["resumed_from"] == str(stopped / "checkpoint-2")
    assert resumed["skipped_checkpoints"] == {str(stopped / "checkpoint-4"): "trainer_state.json is missing"}
    assert "checkpoint-4 is incomplete (trainer_state.json is missing); resuming from" in caplog.text
    full = stopped_run[1]
    assert resumed["dev"] == full["dev"] and resumed["curve"] == full["curve"]
    assert [s["steps"] for s in resumed["segments"]] == [[0, 4], [2, 6]]  # steps 3-4 ran twice: both count in time


def test_resume_from_a_named_earlier_checkpoint_supersedes_the_newer(stopped_run, stopped):
    resumed = resume(stopped / "checkpoint-2")
    assert resumed["resumed_from"] == str(stopped / "checkpoint-2")
    assert resumed["skipped_checkpoints"] == {
        str(stopped / "checkpoint-4"): "superseded: train.resume named the earlier checkpoint-2"
    }
    assert resumed["dev"] == stopped_run[1]["dev"] and resumed["train"]["loss"] == stopped_run[1]["train"]["loss"]


def test_signals_stop_at_once_outside_the_training_loop():
    with GracefulStop() as stop:
        with pytest.raises(Signalled):
            signal.raise_signal(signal.SIGTERM)  # loading data, building the model, evaluating
        stop.signal, stop.training = None, True
        signal.raise_signal(signal.SIGTERM)  # in the loop: noted, the step finishes and is saved
        assert stop.signal == signal.SIGTERM
        with pytest.raises(Signalled):
            signal.raise_signal(signal.SIGINT)  # a second one: at once
        stop.training, stop.holding = False, True
        signal.raise_signal(signal.SIGTERM)  # while the final record is written: noted only
        assert stop.signal == signal.SIGTERM


@pytest.mark.parametrize("missing", ["scheduler.pt", "optimizer.pt", "rng_state.pth", "selection.json", "run.json"])
def test_an_incomplete_checkpoint_is_refused_by_name(stopped, missing):
    before = (stopped / "metrics.json").read_bytes()
    for step in (2, 4):
        (stopped / f"checkpoint-{step}" / missing).unlink()
    with pytest.raises(PtuneError, match=rf"checkpoint-4 cannot be resumed from: {missing} is missing"):
        resume(stopped / "checkpoint-4")
    with pytest.raises(PtuneError, match=rf"no complete checkpoint .*checkpoint-4: {missing} is missing; checkpoint-2"):
        resume(stopped)
    assert (stopped / "metrics.json").read_bytes() == before


def test_a_resumed_run_that_fails_keeps_the_run_so_far(stopped, monkeypatch):
    so_far = record_of(stopped)
    monkeypatch.setattr("ptune_exp.pipeline.run.build", lambda p: (_ for _ in ()).throw(RuntimeError("out of memory")))
    with pytest.raises(RuntimeError):
        resume(stopped)
    record = record_of(stopped)
    assert record["status"] == "failed" and record["error"] == "RuntimeError: out of memory"
    assert record["curve"] == so_far["curve"] and len(record["curve"]) == 2
    assert record["loss_curve"] == so_far["loss_curve"] and record["train"]["steps"] == 4
    assert [s["status"] for s in record["segments"]] == ["interrupted", "failed"]


def test_sigterm_while_building_ends_in_an_interrupted_record(cfg_factory, monkeypatch):
    real = build

    def build_then_sigterm(p):
        signal.raise_signal(signal.SIGTERM)
        return real(p)

    monkeypatch.setattr("ptune_exp.pipeline.run.build", build_then_sigterm)
    cfg = cfg_factory("method=ptv2")
    with pytest.raises(Interrupted, match=r"signal 15 while loading .* before any checkpoint was saved"):
        run(cfg)
    record = record_of(cfg.output_dir)
    assert record["status"] == "interrupted" and "nothing to resume" in record["error"]
    monkeypatch.undo()
    assert run(cfg)["status"] == "completed"  # as the error says: the same command starts afresh


@pytest.mark.slow
def test_a_real_sigterm_while_building_exits_with_one_line(tmp_path):
    """SIGTERM to a real process stuck in the data/model build: one error line, an interrupted record."""
    hold = "import sys,time; import ptune_exp.pipeline.run as r; real = r.build; r.build = lambda p: (time.sleep(300), real(p))[1]"
    code = f"{hold}; from ptune_exp.cli import main; sys.argv[0] = 'ptune-exp'; main()"
    out = tmp_path / "run"
    args = [sys.executable, "-c", code, *SMOKE, f"output_dir={out}", f"hydra.run.dir={tmp_path}/hydra"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "metrics.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("ptune-exp: error: stopped by signal 15 while loading")
    assert record_of(out)["status"] == "interrupted"


def test_a_completed_run_kept_with_checkpoints_is_not_resumed(cfg_factory):
    cfg = cfg_factory("method=ptv2", "train.keep_checkpoints=true")
    run(cfg)
    before = (Path(cfg.output_dir) / "metrics.json").read_bytes()
    with pytest.raises(PtuneError, match="already holds a completed run; .* overwrite=true to continue it"):
        run(cfg_factory("method=ptv2", f"train.resume={cfg.output_dir}"))
    assert (Path(cfg.output_dir) / "metrics.json").read_bytes() == before
    again = run(cfg_factory("method=ptv2", f"train.resume={cfg.output_dir}", "overwrite=true"))
    assert again["status"] == "completed" and again["resumed_from"].endswith("checkpoint-2")


def test_resume_without_a_checkpoint_says_what_to_do(cfg_factory, tmp_path):
    with pytest.raises(PtuneError, match="no checkpoint"):
        run(cfg_factory(*SHORT, f"train.resume={tmp_path}"))


def test_a_completed_record_is_never_overwritten(cfg_factory):
    cfg = cfg_factory("method=ptv2")
    first = run(cfg)
    with pytest.raises(PtuneError, match="already holds a completed run"):
        run(cfg)
    assert json.load(open(os.path.join(cfg.output_dir, "metrics.json")))["finished_at"] == first["finished_at"]


def _rte_fixture(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    rows = [
        {
            "premise": f"The {w} sat on the mat number {i}.",
            "hypothesis": f"A {w} is sitting.",
            "idx": i,
            "label": "entailment" if i % 3 else "not_entailment",
        }
        for i, w in enumerate(["cat", "dog", "john"] * 4)
    ]
    for name, part in (("train.jsonl", rows), ("val.jsonl", rows[:7])):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    return tmp_path


def test_resume_checks_the_data_files_not_where_they_lie(cfg_factory, tmp_path):
    data = _rte_fixture(tmp_path / "data")
    task = ["task=rte", "task.source=superglue"]
    cfg = cfg_factory("method=ptv2", *task, f"task.data_dir={data}", "train.keep_checkpoints=true")
    record = run(cfg)
    assert set(record["data_sha256"]) == {"train", "dev"}
    path = Path(cfg.output_dir) / "metrics.json"
    path.write_text(json.dumps({**record, "status": "interrupted"}))  # as if stopped at its last checkpoint
    moved = shutil.copytree(data, tmp_path / "moved")
    with open(moved / "train.jsonl", "a") as f:
        f.write(json.dumps({"premise": "A new one.", "hypothesis": "New.", "idx": 99, "label": "entailment"}) + "\n")
    with pytest.raises(PtuneError, match=r"other settings .*: data.train='[0-9a-f]{64}' \(now '[0-9a-f]{64}'\)"):
        run(cfg_factory("method=ptv2", *task, f"task.data_dir={moved}", f"train.resume={cfg.output_dir}"))
    shutil.copy(data / "train.jsonl", moved / "train.jsonl")  # the same files elsewhere: the same run
    resumed = run(cfg_factory("method=ptv2", *task, f"task.data_dir={moved}", f"train.resume={cfg.output_dir}"))
    assert resumed["status"] == "completed" and resumed["data_sha256"] == record["data_sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ptv2", "prefix", "pt", "fft"])
def test_saved_weights_evaluate_and_export_to_the_same_predictions(method, cfg_factory, tmp_path):
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.artifacts.export_reader import EXPORT_WEIGHTS
    from ptune_exp.predict import eval_run, predict_file

    data = _rte_fixture(tmp_path / "data")
    knobs = ["method.reparam=true", "method.reparam_hidden=16"] if method in ("ptv2", "pt") else []
    cfg = cfg_factory(
        f"method={method}", *knobs, "task=rte", "task.source=superglue", f"task.data_dir={data}", "train.max_steps=3"
    )
    record = run(cfg)

    again = eval_run(cfg.output_dir)  # from trainable.safetensors, no training
    assert again["dev"] == record["dev"]

    out = export_run(cfg.output_dir)
    exported = load_file(os.path.join(out, EXPORT_WEIGHTS))
    assert all(k == "prompt.encoder.rows" for k in exported if k.startswith("prompt."))  # the MLP is folded away
    if method != "fft":
        assert sum(t.numel() for t in exported.values()) < record["params"]["backbone"] / 10

    path = predict_file(out, str(data / "val.jsonl"), str(tmp_path / "preds"))
    predicted = [json.loads(line) for line in open(path)]
    trained = [json.loads(line) for line in open(os.path.join(cfg.output_dir, "predictions_dev.jsonl"))]
    assert len(predicted) == 7
    for a, b in zip(predicted, trained):
        assert a["prediction"] == b["prediction"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
