"""`run(cfg) -> record`: plan, build, train with the HF Trainer, evaluate, record.

The record (`metrics.json`) is written when the run starts (status `running`), and again when it ends
(`completed`, `failed` with the error, or `interrupted` with a checkpoint to resume from). A run refuses
a directory that holds a completed run (unless `overwrite=true`), so a failed run never replaces a good
record.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import time

from omegaconf import DictConfig

from ptune_exp.distributed import is_main
from ptune_exp.engine import Interrupted, selector_for, train_and_evaluate
from ptune_exp.errors import PtuneError
from ptune_exp.experiment import build
from ptune_exp.plan import Plan, plan
from ptune_exp.records import RECORD, new_record, now, write_record
from ptune_exp.training import latest_checkpoint

__all__ = ["Interrupted", "run"]


def run(cfg: DictConfig, callbacks=()) -> dict:
    """Plan, build, train, evaluate and record one run; `callbacks` are extra TrainerCallbacks."""
    p = plan(cfg)
    checkpoint = _resume_checkpoint(p)
    started = time.time()
    record = {**new_record(p), "resumed_from": checkpoint}
    _write(p.out_dir, record)
    selector = None
    try:
        exp = build(p)
        record.update(exp.facts())
        selector = selector_for(exp, checkpoint)
        record.update(train_and_evaluate(exp, selector, checkpoint, callbacks))
        record["status"] = "completed"
    except BaseException as e:  # Ctrl-C and errors alike: the record says so, then the error goes on
        record["status"] = "interrupted" if isinstance(e, Interrupted) else "failed"
        record["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        if selector is not None:
            record["curve"] = selector.curve  # a failure mid-run still records the curve so far
        record["wall_time_s"] = round(time.time() - started, 2)
        record["finished_at"] = now()
        _write(p.out_dir, record)
    if not p.train.keep_checkpoints and is_main():
        for folder in glob.glob(os.path.join(p.out_dir, "checkpoint-*")):
            shutil.rmtree(folder, ignore_errors=True)
    return record


def _write(out_dir: str, record: dict) -> None:
    if is_main():  # one record per run, whatever the number of processes
        write_record(out_dir, record)


def _resume_checkpoint(p: Plan) -> str | None:
    """The checkpoint to continue from (train.resume), after checking it belongs to this plan;
    otherwise refuse to overwrite a completed run's record."""
    previous = os.path.join(p.out_dir, RECORD)
    old = None
    if os.path.isfile(previous):
        with open(previous, encoding="utf-8") as f:
            old = json.load(f)
    if not p.train.resume:
        if old and old.get("status") == "completed" and not p.overwrite:
            raise PtuneError(
                f"{p.out_dir} already holds a completed run; choose another output dir, "
                "or pass overwrite=true to replace it"
            )
        return None
    checkpoint = latest_checkpoint(p.out_dir)
    if checkpoint is None:
        raise PtuneError(
            f"train.resume: no checkpoint-* in {p.out_dir}. Pass train.resume=<run dir> of the "
            "interrupted run (or its checkpoint dir), or drop train.resume to start fresh."
        )
    if old is not None:
        new = {
            "method": p.method.key,
            "task": p.task.name,
            "model": p.model.name,
            "seed": p.seed,
            "method_config": dataclasses.asdict(p.method_cfg),
        }
        differ = [k for k in new if old.get(k) != new[k]]
        if differ:
            raise PtuneError(
                f"train.resume: {checkpoint} was trained with different {differ} "
                f"({ {k: old.get(k) for k in differ} }); pass the same overrides as the interrupted run"
            )
    return checkpoint
