"""Data parallel through the real entrypoint (torchrun, 2 CPU processes, gloo) and tracking."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptune_exp.pipeline.run import run
from ptune_exp.predict import eval_run

BIN = Path(sys.executable).parent
SMOKE = [
    "model=tiny-bert",
    "train=smoke",
    "task.max_train_samples=16",
    "task.max_eval_samples=15",
    "train.eval_batch_size=4",
    "train.max_steps=3",
]


@pytest.mark.slow
def test_two_process_data_parallel_run(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [
            str(BIN / "torchrun"),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "ptune_exp",
            "method=ptv2",
            *SMOKE,
            f"output_dir={out}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = list(tmp_path.rglob("metrics.json"))
    assert records == [out / "metrics.json"]  # one record, written by the main process
    record = json.loads(records[0].read_text())
    assert record["status"] == "completed"
    assert record["replicas"]["world_size"] == 2 and record["replicas"]["in_sync"]  # same prompt on both ranks
    assert record["data"]["dev"] == 15  # odd: the last batch is padded across ranks, duplicates must be dropped
    single = eval_run(str(out))  # one process, same weights, same data
    assert single["dev"] == record["dev"] and single["test"] == record["test"]
    predictions = (out / "predictions_dev.jsonl").read_text().splitlines()
    assert len(predictions) == 15


def test_tensorboard_events_land_in_the_run_dir(cfg_factory):
    cfg = cfg_factory("method=ptv2", "train.report_to=tensorboard")
    run(cfg)
    events = list(Path(cfg.output_dir).rglob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)
