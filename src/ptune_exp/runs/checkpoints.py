"""What a run may continue from (`train.resume`): a complete checkpoint of the same run.

A checkpoint is complete when every state file is there and readable: the trainable weights, optimizer,
scheduler, RNG and Trainer state, the dev-selection state, and `run.json` (written last, by `RunLog`),
which holds the settings the run was trained with and its segments so far. A resume must match those
settings: every setting that changes what a run measures (`config.py`: not marked `splits_rows=False`),
the method, task and model, and the digests of the data files it read.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from dataclasses import dataclass

from ptune_exp.config.schema import non_splitting_keys
from ptune_exp.errors import PtuneError
from ptune_exp.runs.callbacks import RUN_FILE
from ptune_exp.runs.records import loss_curve
from ptune_exp.runs.rundir import checkpoints_in
from ptune_exp.storage.weights import sha256_file

log = logging.getLogger("ptune_exp")

WEIGHTS_FILE = "model.safetensors"
STATE_FILES = (WEIGHTS_FILE, "trainer_state.json", "selection.json", RUN_FILE)
OPTIMIZER_FILES = ("optimizer.pt", "scheduler.pt")  # the Trainer's own layout (not DeepSpeed's or FSDP's)
IDENTITY = {"method.name", "task.name", "task.source"}  # never averaged apart by compare, but a different run
NOT_SETTINGS = {"output_dir", "overwrite"}


def _flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def settings_of(config: dict, data: dict) -> dict:
    """The settings of a composed config that a resume must keep, plus the data files' digests."""
    same = {k if "." in k else f"method.{k}" for k in non_splitting_keys()} - IDENTITY
    flat = {k: v for k, v in _flatten(config).items() if k not in same | NOT_SETTINGS}
    return {**flat, **{f"data.{role}": digest for role, digest in sorted(data.items())}}


def data_digests(p) -> dict:
    """sha256 of each split's file in task.data_dir (nothing for data from the hub); `<member>.<role>` for
    the members of a multi-task plan."""
    out = {}
    for m in getattr(p.task, "members", ()):
        out |= {f"{m.name}.{role}": digest for role, digest in data_digests(m).items()}
    out |= getattr(p.task.reader, "digests", None) or {}  # a custom task's files (or hub splits)
    for role, split in sorted(p.task.splits.items()):
        path = os.path.join(p.data.data_dir, split.file) if p.data.data_dir and split.file else None
        if path and os.path.isfile(path):
            out[role] = sha256_file(path)
    return out


_UNSET = object()


def differences(then: dict, now: dict) -> list[str]:
    """`key=old (now new)` for every setting that differs (a key on one side only included)."""
    show = lambda v: "unset" if v is _UNSET else repr(v)
    pairs = {k: (then.get(k, _UNSET), now.get(k, _UNSET)) for k in sorted(set(then) | set(now))}
    return [f"{k}={show(a)} (now {show(b)})" for k, (a, b) in pairs.items() if a != b]


def _unreadable(path: str) -> str | None:
    """Why a state file cannot be loaded (cheap checks: JSON parses, archive and header intact), or None."""
    try:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                return None if isinstance(json.load(f), dict) else "not a JSON object"
        if path.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(path, "pt") as f:
                list(f.keys())
            return None
        with zipfile.ZipFile(path) as z:  # torch.save's format: a zip archive with checksums
            bad = z.testzip()
        return f"{bad} is damaged" if bad else None
    except Exception as e:  # any failure to read is the answer
        return f"{type(e).__name__}: {e}"


def problem(folder: str, fsdp_or_deepspeed: bool = False) -> str | None:
    """What makes a checkpoint folder unusable (its first missing or unreadable file), or None."""
    rng = sorted(f for f in os.listdir(folder) if f.startswith("rng_state") and f.endswith(".pth"))
    names = [*STATE_FILES, *(() if fsdp_or_deepspeed else OPTIMIZER_FILES), *(rng or ["rng_state.pth"])]
    why = _first_bad(folder, names)
    if why is None and _json(folder, "selection.json").get("best_point") is not None:
        why = _first_bad(folder, ["selection.safetensors"])
    step = None if why else _json(folder, "trainer_state.json").get("global_step")
    if why is None and str(step) != folder.rsplit("-", 1)[1]:
        why = f"trainer_state.json is at step {step}, not at this checkpoint's step"
    return why


def _first_bad(folder: str, names: list[str]) -> str | None:
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return f"{name} is missing"
        why = _unreadable(path)
        if why:
            return f"{name} is unreadable ({why})"
    return None


def _json(folder: str, name: str) -> dict:
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


@dataclass
class Resume:
    """Where a resumed run starts: its checkpoint and what the record says of the run so far."""

    checkpoint: str
    step: int
    skipped: dict  # newer checkpoints passed over: path -> what is wrong with them
    segments: list  # the segments that led to the checkpoint (from run.json)
    curve: list  # dev evaluations so far
    loss_curve: list  # training losses so far

    def facts(self) -> dict:
        return {"resumed_from": self.checkpoint, "skipped_checkpoints": self.skipped or None}


UNFINISHED = ("running", "interrupted", "failed")  # a record a resume may continue (a live owner is refused before)


def resume_point(p, now: dict, old: dict | None) -> Resume | None:
    """The checkpoint `train.resume` continues from, after checking it is complete and of the same run;
    newer incomplete ones are passed over (and named). `now`: this run's settings. None: the run dir holds
    the record of this run, stopped before its first checkpoint, so it starts again from step 0."""
    old_settings = None
    if old is not None and isinstance(old.get("config"), dict):
        old_settings = (settings_of(old["config"], old.get("data_sha256") or {}), f"{p.out_dir}/metrics.json")
    if _before_any_checkpoint(p, old) and old_settings:
        _same_settings(p.out_dir, [old_settings], now)
        log.warning("train.resume: %s holds no checkpoint yet; the run starts again from step 0", p.out_dir)
        return None
    folder, skipped = _choose(p)
    saved = _json(folder, RUN_FILE)
    _same_settings(
        folder, [(saved.get("settings"), f"{folder}/{RUN_FILE}"), *([old_settings] if old_settings else [])], now
    )
    state = _json(folder, "trainer_state.json")
    return Resume(
        checkpoint=folder,
        step=state["global_step"],
        skipped=skipped,
        segments=list(saved.get("segments") or []),
        curve=list(_json(folder, "selection.json").get("curve") or []),
        loss_curve=loss_curve(state.get("log_history") or []),
    )


def _before_any_checkpoint(p, old: dict | None) -> bool:
    """train.resume names a run dir that holds no checkpoint, and the record of a run that did not finish."""
    target = os.path.basename(os.path.normpath(str(p.train.resume)))
    unfinished = old is not None and old.get("status") in UNFINISHED
    return unfinished and not target.startswith("checkpoint-") and not checkpoints_in(p.out_dir)


def _same_settings(folder: str, sources: list, now: dict) -> None:
    for then, where in sources:
        changed = differences(then if isinstance(then, dict) else {}, now)
        if changed:
            raise PtuneError(
                f"train.resume: {folder} was trained with other settings ({where}): {', '.join(changed)}; resume "
                "with the settings of the run it continues, or start a new run in another output dir"
            )


def _choose(p) -> tuple[str, dict]:
    target, odd = p.train.resume, bool(p.train.fsdp or p.train.deepspeed)
    if isinstance(target, str) and os.path.basename(os.path.normpath(target)).startswith("checkpoint-"):
        if not os.path.isdir(target):
            raise PtuneError(f"train.resume: {target} is not a directory")
        why = problem(target, odd)
        if why:
            raise PtuneError(
                f"train.resume: {target} cannot be resumed from: {why}; pass train.resume={p.out_dir} to continue "
                "from the run's newest complete checkpoint"
            )
        step = int(target.rsplit("-", 1)[1])
        newer = [f for f in checkpoints_in(p.out_dir) if int(f.rsplit("-", 1)[1]) > step]
        for folder in newer:
            log.warning("train.resume: %s continues from an earlier step; %s is superseded", target, folder)
        return target, dict.fromkeys(newer, f"superseded: train.resume named the earlier {os.path.basename(target)}")
    folders = checkpoints_in(p.out_dir)
    if not folders:
        raise PtuneError(
            f"train.resume: no checkpoint-* in {p.out_dir}. Pass train.resume=<run dir> of the "
            "interrupted run (or its checkpoint dir), or drop train.resume to start fresh."
        )
    skipped = {}
    for folder in folders:
        why = problem(folder, odd)
        if why is None:
            for bad, reason in skipped.items():
                log.warning("train.resume: %s is incomplete (%s); resuming from %s", bad, reason, folder)
            return folder, skipped
        skipped[folder] = why
    listed = "; ".join(f"{os.path.basename(f)}: {why}" for f, why in skipped.items())
    raise PtuneError(f"train.resume: no complete checkpoint in {p.out_dir} ({listed}); start afresh: overwrite=true")
