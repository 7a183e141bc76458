"""The installed `ptune-exp` command: help, a real multirun over all methods, clean errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptune_exp.methods import METHODS

EXE = str(Path(sys.executable).parent / "ptune-exp")
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def cli(*args, cwd):
    return subprocess.run([EXE, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def test_help_lists_every_group_and_option(tmp_path):
    out = cli("--help", cwd=tmp_path)  # outside the repo: configs come from the installed package
    assert out.returncode == 0, out.stderr
    # `base` is each group's typed schema (src/ptune_exp/config.py) that the presets extend
    for line in ("method: base, fft, prefix, pt, ptv2", "model: base, ", "task: ", "train: base, default, smoke"):
        assert line in out.stdout
    assert "tiny-bert" in out.stdout and "minilm" in out.stdout and "rte" in out.stdout


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
    records = [json.loads(p.read_text()) for p in (tmp_path / "grid").rglob("metrics.json")]
    assert sorted((r["method"], r["seed"], r["status"]) for r in records) == [
        (m, 1, "completed") for m in sorted(METHODS)
    ]
