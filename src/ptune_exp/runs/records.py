"""The per-run record, `metrics.json`: self-describing, written atomically, read back by compare.

A resumed run is one record over several segments (one per process that trained it): `segments` holds
each one, `train` and `wall_time_s` their totals, `loss_curve` the training loss of every logged step."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata

from ptune_exp.storage.files import write_json

RECORD = "metrics.json"
SCHEMA = 1


def write_record(out_dir: str, record: dict) -> str:
    """Write `metrics.json` atomically (storage/files.py), so a reader never sees half a record, and as
    strict JSON (a non-finite number is written as null)."""
    os.makedirs(out_dir, exist_ok=True)
    return write_json(os.path.join(out_dir, RECORD), record, default=str)


def read_record(out_dir: str) -> tuple[dict | None, str | None]:
    """The record in `out_dir`: (record, None); (None, None) when there is none; (None, why) when unreadable."""
    path = os.path.join(out_dir, RECORD)
    if not os.path.lexists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{type(e).__name__}: {e}"
    if not isinstance(record, dict) or not isinstance(record.get("status"), str):
        return None, "not a ptune-exp record (no status)"
    return record, None


def read_records(roots: Iterable[str]) -> list[dict]:
    """Every `metrics.json` under the given files/directories. One that cannot be read, or is not a JSON
    object, comes back as `{"status": "unreadable", "error": <why>}`, so that the others still count."""
    records = []
    for root in roots:
        paths = (
            [root]
            if os.path.isfile(root)
            else sorted(os.path.join(d, RECORD) for d, _, files in os.walk(root) if RECORD in files)
        )
        for path in paths:
            try:
                with open(path, encoding="utf-8") as f:
                    record = json.load(f)
            except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON or bad UTF-8
                record = {"status": "unreadable", "error": f"unreadable record: {e}"}
            if not isinstance(record, dict):
                kind = "null" if record is None else type(record).__name__
                record = {"status": "unreadable", "error": f"unreadable record: a JSON {kind}, not an object"}
            record["record_path"] = path
            records.append(record)
    return records


def library_versions() -> dict[str, str]:
    names = [
        "ptune-exp",
        "torch",
        "transformers",
        "datasets",
        "hydra-core",
        "accelerate",
        "peft",
        "seqeval",
        "scikit-learn",
    ]
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """Commit of the source tree this package runs from (None when not a git checkout)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def loss_curve(log_history: list[dict]) -> list[dict]:
    """`[{step, loss}]` of the Trainer's training-loss logs (each the mean since the log before it)."""
    return [{"step": e["step"], "loss": e["loss"]} for e in log_history if "loss" in e and "step" in e]


def mean_loss(curve: list[dict], start: int = 0, end: int | None = None) -> float | None:
    """The mean training loss per step over steps (start, end], from a loss curve whose logs cover every step."""
    total, steps, last = 0.0, 0, start
    for point in curve:
        if point["step"] <= start or (end is not None and point["step"] > end):
            continue
        width = point["step"] - last
        total, steps, last = total + point["loss"] * width, steps + width, point["step"]
    return round(total / steps, 6) if steps else None


def totals(segments: list[dict], curve: list[dict], steps: int) -> dict:
    """What `train` and `wall_time_s` say about a run of one or more segments."""
    return {
        "train": {
            "steps": steps,
            "loss": mean_loss(curve, 0, steps),
            "runtime_s": round(sum(s.get("runtime_s") or 0.0 for s in segments), 2),
            "segments": len(segments),
        },
        "wall_time_s": round(sum(s.get("wall_time_s") or 0.0 for s in segments), 2),
    }


def new_record(p) -> dict:
    """The record of a run that starts now (status `running`), from its plan."""
    import torch

    return {
        "schema": SCHEMA,
        "status": "running",
        "error": None,
        "method": p.method.key,
        "method_title": p.method.title,
        "method_config": dataclasses.asdict(p.method_cfg),
        "table1": {
            "prompt_site": p.method.prompt_site,
            "deep": p.method.prompt_site == "every layer",
            "reparam": p.method_cfg.reparam,
            "no_verbalizer": p.method_cfg.head != "verbalizer",
            "head": p.method_cfg.head,
            "prompt_encoder": p.method_cfg.prompt_encoder or ("mlp" if p.method_cfg.reparam else "none"),
            "tuned": p.method.tuned,  # where the tuned parameters live
            "in_paper": p.method.in_paper,  # false: a reference method outside the P-Tuning v2 paper
        },
        "task": p.task.name,
        "task_source": p.task.source,
        "benchmark": p.task.benchmark,
        "family": p.task.family,
        "metrics": list(p.task.metrics),
        "main_metric": p.task.main_metric,
        "model": p.model.name,
        "seed": p.seed,
        "budget": {"epochs": p.train.epochs, "max_steps": p.train.max_steps, "from": p.epochs_from},
        "output_dir": os.path.abspath(p.out_dir),
        "started_at": now(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "versions": library_versions(),
        "git_commit": git_commit(),
        "config": p.config,
    }
