"""The installed `ptune-exp` command: help, a real multirun over all methods, clean errors."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ptune_exp.methods import METHODS

# experiment=table's grid (conf/experiment/table.yaml): every method that runs on a model without an MLM head
TABLE_METHODS = [m for m in METHODS if m != "ptv1"]

EXE = str(Path(sys.executable).parent / "ptune-exp")
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def cli(*args, cwd):
    return subprocess.run([EXE, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def test_help_lists_every_group_and_option(tmp_path):
    out = cli("--help", cwd=tmp_path)  # outside the repo: configs come from the installed package
    assert out.returncode == 0, out.stderr
    # `base` is each group's typed schema (src/ptune_exp/config/schema.py) that the presets extend
    for line in (
        "method: base, fft, ia3, lora, prefix, pt, ptv1, ptv2",
        "model: auto, base, ",  # auto: any checkpoint (model.name_or_path=...)
        "task: ",
        "train: base, default, smoke",
    ):
        assert line in out.stdout
    assert "tiny-bert" in out.stdout and "minilm" in out.stdout and "rte" in out.stdout
    assert ", custom, " in next(line for line in out.stdout.splitlines() if line.startswith("task: "))
    assert "task=custom task.name=" in out.stdout  # the example of a task of one's own
    header = out.stdout.split("== Configuration groups ==")[0]
    assert all(re.search(rf"\b{key}\b", header) for key in METHODS), header  # the registered methods


@pytest.mark.slow
def test_multirun_over_all_methods_writes_one_record_each(tmp_path):
    out = cli("-m", f"method={','.join(METHODS)}", *SMOKE, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").rglob("metrics.json"))]
    assert sorted(r["method"] for r in records) == sorted(METHODS)
    assert all(r["status"] == "completed" for r in records)
    assert "record:" in out.stdout


@pytest.mark.slow
def test_bad_value_is_a_clear_error_not_a_traceback(tmp_path):
    out = cli("method.prefix_len=0", *SMOKE, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert out.returncode == 2
    assert "ptune-exp: error: method.prefix_len=0 must be a positive number" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_table_preset_runs_the_grid_in_parallel_with_the_local_launcher(tmp_path):
    out = cli(
        "-m",
        "experiment=table",
        "hydra/launcher=local",
        "seed=1",
        *SMOKE,
        f"hydra.sweep.dir={tmp_path}/grid",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    n = len(TABLE_METHODS)
    assert f"ptune-exp: {n} of {n} jobs completed; records under {tmp_path}/grid" in out.stdout
    records = [json.loads(p.read_text()) for p in (tmp_path / "grid").rglob("metrics.json")]
    assert sorted((r["method"], r["seed"], r["status"]) for r in records) == [
        (m, 1, "completed") for m in sorted(TABLE_METHODS)
    ]


def test_hydra_flags_still_work_and_a_composition_error_is_one_line(tmp_path):
    out = cli("--cfg", "job", "method=fft", cwd=tmp_path)
    assert out.returncode == 0 and "name: fft" in out.stdout, out.stderr
    assert cli("--hydra-help", cwd=tmp_path).returncode == 0
    assert "Defaults List" in cli("--info", "defaults", cwd=tmp_path).stdout
    for args, line in [
        (["--cfg", "job", "method.lr=abc"], "ptune-exp: error: method.lr=abc: expected a number"),
        (["train.batch_size=abc"], "ptune-exp: error: train.batch_size=abc: expected an integer"),
        (
            ["method.prefix_lenght=8"],
            "ptune-exp: error: method.prefix_lenght: no such key; did you mean method.prefix_len?",
        ),
        (
            ["method=bitfit"],
            "ptune-exp: error: method=bitfit: no such method; choose one of fft, ia3, lora, prefix, pt, ptv1, ptv2",
        ),
        (["model.name=../../escape"], "ptune-exp: error: model.name=../../escape: expected a plain name"),
    ]:
        out = cli(*args, cwd=tmp_path)
        assert out.returncode == 2 and out.stdout == "", (args, out.stdout, out.stderr)
        assert out.stderr.splitlines() == [out.stderr.splitlines()[0]] and out.stderr.startswith(line), out.stderr
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "escape").exists()  # no run dir was made


def statuses(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.rglob("job_status.json"))]


@pytest.mark.slow
def test_sweep_with_failed_jobs_runs_every_job_then_exits_1_naming_their_records(tmp_path):
    out = cli("-m", "method.prefix_len=0,-1,-2,2", *SMOKE, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-3000:]
    assert sorted(s["status"] for s in statuses(tmp_path / "sweep")) == ["completed", "failed", "failed", "failed"]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ptune-exp: error: 3 of 4 jobs failed; their records: ")
    named = last.split("their records: ")[1].split(", ")
    assert len(named) == 3 and all(os.path.isfile(p) and "must be a positive number" in open(p).read() for p in named)
    assert "Traceback" not in out.stdout + out.stderr
    assert "record:" in out.stdout  # the job that worked still ran and reported


@pytest.mark.slow
def test_sweep_with_a_failed_job_exits_1_with_the_local_joblib_launcher(tmp_path):
    out = cli(
        "-m", "hydra/launcher=local", "method.prefix_len=0,2", *SMOKE, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path
    )
    assert out.returncode == 1, out.stderr[-3000:]
    assert sorted(s["status"] for s in statuses(tmp_path / "sweep")) == ["completed", "failed"]
    assert out.stderr.strip().splitlines()[-1].startswith("ptune-exp: error: 1 of 2 jobs failed; their records: ")


@pytest.mark.slow
def test_a_run_that_fails_exits_1_with_one_line_and_its_traceback_in_the_log(tmp_path):
    diverge = ["method.lr=1e30", "train.max_grad_norm=1e30", "train.max_steps=6", "train.batch_size=4"]
    out = cli(*SMOKE, *diverge, "train.logging_steps=1", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if "ptune-exp: error: " in line]
    assert len(errors) == 1 and "run failed: TrainingDiverged: " in errors[0]
    assert errors[0].endswith(f"record: {tmp_path}/run/metrics.json")
    assert "Traceback" not in out.stdout + out.stderr
    assert "Traceback" in (tmp_path / "run" / "ptune-exp.log").read_text()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_the_run_summary_shows_scores_and_only_the_counts_that_are_not_zero():
    from ptune_exp.cli import summary

    record = {
        "method": "ptv2",
        "task": "synth_ner",
        "model": "minilm",
        "seed": 1,
        "main_metric": "f1",
        "selection": {"strategy": "best", "step": 64},
        "dev": {"f1": 71.25, "windowed_sentences": 0},
        "test": {"f1": 0.0, "windowed_sentences": 3},
        "params": {"trainable": 10, "total": 1000, "trainable_pct": 1.0},
        "train": {"steps": 64},
        "wall_time_s": 12.0,
        "output_dir": "/runs/x",
    }
    dev, test = summary(record).splitlines()[1:3]
    assert dev.startswith("dev   f1 71.25   (selected") and "windowed" not in dev
    assert test == "test  f1 0.00  windowed_sentences 3"
