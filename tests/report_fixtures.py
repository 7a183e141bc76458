"""Hand-made run records for the figure and report tests: what a real run writes (`runs/records.py`),
with the cost fields (`record["cost"]`), so the figures and the report can be checked without training."""

import json
from pathlib import Path

# method, reparam, epochs, prefix_len, trainable %, peak MB, step s, {task: base score}
RUNS = [
    ("fft", False, 2, 0, 100.0, 900.0, 0.30, {"rte": 60.0, "cola": 40.0}),
    ("fft", False, 10, 0, 100.0, 900.0, 0.30, {"rte": 70.0, "cola": 50.0}),
    ("ptv2", False, 10, 4, 0.1, 400.0, 0.20, {"rte": 64.0, "cola": 42.0}),
    ("ptv2", False, 10, 16, 0.3, 420.0, 0.21, {"rte": 68.0, "cola": 48.0}),
    ("ptv2", True, 10, 16, 1.5, 430.0, 0.22, {"rte": 66.0, "cola": 47.0}),
    ("pt", False, 10, 16, 0.01, 380.0, 0.18, {"rte": 55.0, "cola": 20.0}),
]
METRIC = {"rte": "accuracy", "cola": "mcc"}


def record(method, reparam, epochs, prefix_len, pct, mb, step, task, score, seed, **extra) -> dict:
    curve = [{"step": 10 * i, "epoch": i, "dev": {METRIC[task]: score - 3.0 * (3 - i)}} for i in (1, 2, 3)]
    return {
        "status": "completed",
        "model": "m",
        "task": task,
        "task_source": "glue",
        "seed": seed,
        "method": method,
        "method_title": {"fft": "Fine-tuning", "ptv2": "P-Tuning v2", "pt": "Prompt tuning"}[method],
        "family": "classification",
        "metrics": [METRIC[task]],
        "main_metric": METRIC[task],
        "dev": {METRIC[task]: score},
        "test": None,
        "curve": curve,
        "params": {"trainable_pct": pct},
        "table1": {"deep": method == "ptv2", "tuned": "prompt"},
        "method_config": {"name": method, "lr": 0.01, "prefix_len": prefix_len, "reparam": reparam},
        "config": {"train": {"epochs": epochs}, "task": {"name": task}},
        "budget": {"epochs": epochs, "max_steps": -1, "from": "method.epochs"},
        "finished_at": f"2025-01-01T00:00:{seed:02d}",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "provenance": {"data": {"source": "generated", "task": task}, "model": {"source": "tiny"}},
        "cost": {
            "step_time_s": step,
            "train_examples_per_s": 16 / step,
            "eval_examples_per_s": 48 / step,
            "peak_memory_mb": mb,
            "memory_kind": "cpu_tracemalloc",
            "stored_bytes": int(pct * 1e6),
            "device": "cpu",
        },
        **extra,
    }


def write_runs(root: Path, runs=RUNS, seeds=(1, 2)) -> Path:
    """One metrics.json per (run, task, seed) under `root`; the seeds' scores differ by 1 point."""
    for i, (method, reparam, epochs, plen, pct, mb, step, scores) in enumerate(runs):
        for task, score in scores.items():
            for seed in seeds:
                folder = root / f"{i}-{method}-{task}-s{seed}"
                folder.mkdir(parents=True)
                rec = record(method, reparam, epochs, plen, pct, mb, step, task, score + seed - 1, seed)
                (folder / "metrics.json").write_text(json.dumps(rec))
    return root
