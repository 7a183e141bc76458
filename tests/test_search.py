"""Hyperparameter search through Hydra's Optuna sweeper: every trial is a run with its own record."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXE = str(Path(sys.executable).parent / "ptune-exp")
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]


@pytest.mark.slow
def test_a_three_trial_search_writes_a_record_per_trial_and_the_best(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    args = ["-m", "hparams_search=ptv2", *SMOKE, "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={tmp_path}/search"]
    out = subprocess.run([EXE, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "search").rglob("metrics.json"))]
    assert len(records) == 3 and all(r["status"] == "completed" and r["method"] == "ptv2" for r in records)
    tried = {(r["method_config"]["lr"], r["method_config"]["prefix_len"]) for r in records}
    assert len(tried) == 3  # the sampler proposed three different points
    assert all(1e-3 <= lr <= 6e-2 and n in (4, 8, 16, 32, 64, 128) for lr, n in tried)
    best = yaml.safe_load((tmp_path / "search" / "optimization_results.yaml").read_text())
    assert best["best_value"] == max(r["dev"]["accuracy"] for r in records)
    from ptune_exp.compare import build_tables
    from ptune_exp.compare.headline import headline
    from ptune_exp.runs.records import read_records

    # the headline table sees the trials came from a search (their .hydra/hydra.yaml) and picks the best on dev
    (row,) = headline(build_tables(read_records([str(tmp_path / "search")]), split="dev")[0]).rows
    assert row.note == "best of 3 on dev" and row.cells["synth_sentiment"]["accuracy"].mean == best["best_value"]
    assert row.chosen_by == {"synth_sentiment": "best of 3 on dev"}
