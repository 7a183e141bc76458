"""`run(cfg) -> record`: plan, claim the output dir, build, train with the HF Trainer, evaluate, record.

The record (`metrics.json`) is written once the run has claimed its directory (status `running`, with
its owner and a heartbeat: rundir.py), and again when it ends: `completed`, `failed` with the error, or
`interrupted` (SIGINT/SIGTERM at any point after the first write) saying whether and how to continue.
A run refuses a directory in use, or holding a completed run or checkpoints (unless `overwrite=true`),
and a resume refuses an incomplete checkpoint or changed settings (checkpoints.py), all before it
writes anything, so a refused run leaves the directory as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass

from omegaconf import DictConfig

from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.distributed import agree_on, is_main
from ptune_exp.pipeline.engine import WEIGHTS, Interrupted, selector_for, train_and_evaluate
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import Plan, plan
from ptune_exp.runs.callbacks import GracefulStop, RunLog, Signalled
from ptune_exp.runs.checkpoints import Resume, data_digests, resume_point, settings_of
from ptune_exp.runs.cost import Meter, run_cost
from ptune_exp.runs.records import RECORD, mean_loss, new_record, now, read_record, totals, write_record
from ptune_exp.runs.rundir import Recorder, admit, checkpoints_in, clear, identity, locked
from ptune_exp.storage.files import WriteError, remove_stale

__all__ = ["Interrupted", "run"]

log = logging.getLogger("ptune_exp")


@dataclass
class Start:
    """A claimed run directory: the running record written there, and what the run continues (if it does)."""

    record: dict
    resume: Resume | None
    settings: dict  # what a resume of this run must match (into each checkpoint's run.json)
    segments: list  # the earlier segments of a resumed run


def run(cfg: DictConfig, callbacks=()) -> dict:
    """Plan, claim, build, train, evaluate and record one run; `callbacks` are extra TrainerCallbacks."""
    p = plan(cfg)
    with GracefulStop() as stop:  # from here on, SIGINT/SIGTERM end in an interrupted record
        try:
            start = _claim(p, stop)
        except Signalled as e:
            raise Interrupted(f"stopped by signal {e.signum} before the run started; nothing was written") from None
        record = _run(p, start, stop, callbacks)
        if not p.train.keep_checkpoints and is_main():
            for folder in checkpoints_in(p.out_dir):
                shutil.rmtree(folder, ignore_errors=True)
    return record


def _claim(p: Plan, stop: GracefulStop) -> Start:
    """The main process claims p.out_dir (or refuses it); every process gets the same answer. From the
    running record on, `stop` holds signals until `_run` takes them (and records them)."""
    outcome = None
    if is_main():
        try:
            outcome = _claim_here(p, stop)
        except PtuneError as e:
            outcome = e
    outcome = agree_on(outcome)
    if isinstance(outcome, PtuneError):
        raise outcome
    return outcome


def _claim_here(p: Plan, stop: GracefulStop) -> Start:
    resuming = bool(p.train.resume)
    if resuming and not os.path.isdir(p.out_dir):
        raise PtuneError(f"train.resume: no checkpoint-* in {p.out_dir} (no such directory)")
    digests = data_digests(p)
    settings = settings_of(p.config, digests)
    with locked(p.out_dir):
        old, unreadable = read_record(p.out_dir)
        admit(p.out_dir, old, unreadable, resuming, p.overwrite)
        remove_stale(p.out_dir, [RECORD])  # what a process killed while writing the record left
        resume = resume_point(p, settings, old) if resuming else None
        if resume is None:
            clear(p.out_dir, old, WEIGHTS)
        for folder in resume.skipped if resume else ():
            shutil.rmtree(folder, ignore_errors=True)  # incomplete or superseded: newer than where it continues
        earlier = _earlier_segments(old, resume)
        record = {**new_record(p), "owner": identity(), "data_sha256": digests, "segments": earlier}
        if resume is not None:
            log.info("train.resume: continuing from %s (step %d)", resume.checkpoint, resume.step)
            record.update(resume.facts(), curve=resume.curve, loss_curve=resume.loss_curve)
        else:
            record.update(resumed_from=None, curve=[], loss_curve=[])
        stop.holding = True
        try:
            write_record(p.out_dir, record)
        except OSError as e:
            raise PtuneError(f"cannot write the record into {p.out_dir} ({type(e).__name__}: {e})") from None
    return Start(record, resume, settings, earlier)


def _earlier_segments(old: dict | None, resume: Resume | None) -> list:
    """A resumed run's earlier segments: from the record the last one finished, else from the checkpoint."""
    if resume is None:
        return []
    if old and old.get("status") in ("interrupted", "failed") and isinstance(old.get("segments"), list):
        return old["segments"]
    return resume.segments


def _run(p: Plan, start: Start, stop: GracefulStop, callbacks) -> dict:
    rec, started = Recorder(p.out_dir, start.record, is_main()), time.time()
    checkpoint = start.resume.checkpoint if start.resume else None
    first = start.resume.step if start.resume else 0
    segment = {"resumed_from": checkpoint, "started_at": now(), "steps": [first, first]}
    runlog = RunLog({"settings": start.settings, "segments": start.segments}, segment, started)
    meter = Meter(segment, count_tensors=not p.train.compile)  # from here on, this run's peak (a GPU's: reset now)
    selector, status, error, phase = None, "failed", None, "loading the data and building the model"
    try:
        with rec.beating():
            stop.holding = False
            if stop.signal is not None:  # it came while the running record was being written
                raise Signalled(stop.signal)
            exp = build(p)
            rec.update(exp.facts())
            selector = selector_for(exp, checkpoint)
            phase = "training and evaluating"
            rec.update(train_and_evaluate(exp, selector, checkpoint, [runlog, *callbacks], stop, meter))
        status = "completed"
    except Signalled as e:
        status, error = "interrupted", Interrupted(_stopped(p, e.signum, phase))
        raise error from None
    except BaseException as e:  # errors and interrupts alike: the record says so, then the error goes on
        status, error = ("interrupted" if isinstance(e, Interrupted) else "failed"), e
        raise
    finally:
        stop.holding = True  # the final record is written whatever signal comes now
        try:
            _finish(rec, start, segment, runlog, selector, status, error, started)
        except OSError as e:  # e.g. a full disk: say so, and what the run itself ended with
            raise _unrecorded(p, status, error, e) from None
    return rec.record


def _unrecorded(p: Plan, status: str, error, cause: OSError) -> WriteError:
    ended = f"the run ended {status}" + (f" ({type(error).__name__}: {error})" if error else "")
    return WriteError(
        cause.errno,
        f"{ended}, but its record could not be written ({cause}); it still says 'running'. Free space, then "
        f"continue with the same overrides plus train.resume={p.out_dir}",
    )


def _finish(rec: Recorder, start: Start, segment: dict, runlog: RunLog, selector, status, error, started) -> None:
    """The final record: status, error, the curves so far, this segment, and the totals over all segments."""
    curve = selector.curve if selector is not None else rec.record.get("curve") or []
    losses = runlog.losses() or rec.record.get("loss_curve") or []
    first = segment["steps"][0]
    step = runlog.state.global_step if runlog.state is not None else first
    segment.update(status=status, finished_at=now(), steps=[first, step], loss=mean_loss(losses, first, step))
    segment.update(runtime_s=runlog.runtime_s(), wall_time_s=round(time.time() - started, 2))
    segments = [*start.segments, segment]
    summary = totals(segments, losses, step)
    summary["cost"] = run_cost(segments, (rec.record.get("cost") or {}).get("stored_bytes"))
    if runlog.state is None and not start.segments:
        del summary["train"]  # refused or failed before any training: no training to report
    rec.update(
        {
            "status": status,
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "curve": curve,  # a failure mid-run still records the curves so far
            "loss_curve": losses,
            "segments": segments,
            **summary,
            "finished_at": now(),
        }
    )
    rec.write()


def _stopped(p: Plan, signum: int, phase: str) -> str:
    """What an interrupted run says: where it stopped, and whether and how it can continue."""
    newest = next(iter(checkpoints_in(p.out_dir)), None)  # named, not verified: a pre-empted job has seconds
    if newest is None:
        return (
            f"stopped by signal {signum} while {phase}, before any checkpoint was saved; nothing to resume: "
            "run the same command again to start afresh"
        )
    return (
        f"stopped by signal {signum} while {phase}; the newest checkpoint is {newest}. "
        f"Continue with the same overrides plus train.resume={p.out_dir}"
    )
