"""Corpus: run directories, records and resume. `{run}` is a completed tiny run kept with its checkpoint
(`checkpoint-2`, the last step); most resume cases first mark its record `interrupted`."""

import json
import os
from pathlib import Path

from corpus import SMOKE, Case
from ptune_exp.runs import rundir

HYDRA = "hydra.run.dir={tmp}/hydra"  # Hydra's own files (config, log) out of the way
NO_PID = 2**22 + 1  # above any pid_max: a process that cannot exist


def cli(id, *args, message="", exit=2, setup=None):
    """`ptune-exp` with the smoke settings, each replaced where `args` sets the same key."""
    keys = {a.split("=", 1)[0] for a in args}
    smoke = [s for s in SMOKE if s.split("=", 1)[0] not in keys]
    return Case(f"runs-{id}", "ptune-exp", (*smoke, HYDRA, *args), exit, message, setup)


def resume(id, *args, message="", exit=2, setup=None, status="interrupted"):
    """Resume `{run}` after marking its record `status` (and after `setup`)."""

    def prepare(paths):
        edit(paths, status=status)
        if setup is not None:
            setup(paths)

    target = () if any(a.startswith("train.resume=") for a in args) else ("train.resume={run}",)
    return cli(f"resume-{id}", *target, *args, message=message, exit=exit, setup=prepare)


def edit(paths, **fields):
    path = Path(paths.run) / "metrics.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, **fields}))


def owner(live: bool, host: str | None = None, heartbeat: str | None = None):
    def setup(paths):
        me = rundir.identity(os.getppid() if live else None)
        me = me if live else {**me, "pid": NO_PID}
        edit(
            paths, status="running", owner={**me, "host": host or me["host"], "heartbeat": heartbeat or me["heartbeat"]}
        )

    return setup


def checkpoint_file(name: str, how: str):
    def setup(paths):
        path = Path(paths.run) / "checkpoint-2" / name
        if how == "missing":
            path.unlink()
        elif how == "garbled":
            path.write_bytes(b"\x00garbled\xff" * 8)
        else:  # truncated: cut short, as by a full disk
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return setup


def write(name: str, content: str):
    def setup(paths):
        (Path(paths.run) / name).write_text(content)

    return setup


def remove(name: str):
    return lambda paths: (Path(paths.run) / name).unlink()


RECORD = r"record: .*metrics\.json"
OLD = "2020-01-01T00:00:00+00:00"
CASES = [
    # one run per directory
    cli("completed-dir", "output_dir={run}", message=r"already holds a completed run; .*overwrite=true to replace"),
    cli("completed-hydra-dir", "hydra.run.dir={run}", message="already holds a completed run"),
    cli("completed-overwrite", "output_dir={run}", "overwrite=true", exit=0, message=RECORD),
    cli("running-live", "output_dir={run}", setup=owner(True), message=r"is in use by a running run \(pid \d+ on "),
    cli("running-live-overwrite", "output_dir={run}", "overwrite=true", setup=owner(True), message="is in use"),
    cli("running-dead", "output_dir={run}", setup=owner(False), message=r"died while running \(pid 4194305"),
    cli("running-dead-overwrite", "output_dir={run}", "overwrite=true", setup=owner(False), exit=0, message=RECORD),
    cli("running-elsewhere-silent", "output_dir={run}", setup=owner(True, "node-17", OLD), message="died while"),
    cli("running-elsewhere-beating", "output_dir={run}", setup=owner(True, "node-17"), message="in use .* on node-17"),
    cli("record-garbled", "output_dir={run}", setup=write("metrics.json", "{not json"), message=r"unreadable \(JSON"),
    cli("record-not-a-record", "output_dir={run}", setup=write("metrics.json", "[1, 2]"), message="not a ptune-exp"),
    cli("output-dir-is-a-file", "output_dir={run}/metrics.json", message="metrics.json: cannot write there"),
    cli("checkpoints-no-record", "output_dir={run}", setup=remove("metrics.json"), message="holds checkpoints"),
    cli(
        "interrupted-fresh", "output_dir={run}", setup=lambda p: edit(p, status="interrupted"), message="train.resume="
    ),
    # resume: what it may continue
    resume("completed", status="completed", message=r"completed run; .*overwrite=true to continue it"),
    resume("completed-overwrite", "overwrite=true", status="completed", exit=0, message=RECORD),
    resume("interrupted", exit=0, message=RECORD),
    resume("interrupted-same-settings-moved", "train.progress=true", "train.eval_batch_size=2", exit=0, message=RECORD),
    resume("running-dead", setup=owner(False), exit=0, message=RECORD),
    resume("running-live", setup=owner(True), message="is in use by a running run"),
    resume("no-such-dir", "train.resume={tmp}/nowhere", message=r"no checkpoint-\* in .*nowhere"),
    resume("named-checkpoint-absent", "train.resume={run}/checkpoint-9", message="checkpoint-9 is not a directory"),
    resume("record-garbled", setup=write("metrics.json", "{"), message=r"metrics.json is unreadable"),
    resume("record-garbled-overwrite", "overwrite=true", setup=write("metrics.json", "{"), exit=0, message=RECORD),
    # resume: changed settings, named with both values
    resume("seed", "seed=7", message=r"other settings .*seed=42 \(now 7\)"),
    resume("batch-size", "train.batch_size=8", message=r"train.batch_size=4 \(now 8\)"),
    resume("subset", "task.max_train_samples=100", message=r"task.max_train_samples=16 \(now 100\)"),
    resume("method", "method=pt", message=r"method.name='ptv2' \(now 'pt'\)"),
    resume("model", "model=tiny-roberta", message=r"model.name='tiny-bert' \(now 'tiny-roberta'\)"),
    resume("max-steps", "train.max_steps=3", message=r"train.max_steps=2 \(now 3\)"),
    resume("lr-schedule", "train.lr_scheduler=constant", message=r"train.lr_scheduler='linear' \(now 'constant'\)"),
    resume("grad-accum", "train.grad_accum=2", message=r"train.grad_accum=1 \(now 2\)"),
    resume("seq-len", "task.max_seq_len=32", message=r"task.max_seq_len=64 \(now 32\)"),
    resume("no-record-seed", "seed=7", setup=remove("metrics.json"), message=r"run.json\): seed=42 \(now 7\)"),
    # resume: damaged or partial checkpoints, refused with the file's name
    *(
        resume(
            f"{how}-{name}",
            setup=checkpoint_file(name, how),
            message=rf"no complete checkpoint .*checkpoint-2: {name} is {'missing' if how == 'missing' else 'unreadable'}",
        )
        for name, how in [
            ("trainer_state.json", "missing"),
            ("trainer_state.json", "garbled"),
            ("optimizer.pt", "missing"),
            ("optimizer.pt", "garbled"),
            ("optimizer.pt", "truncated"),
            ("scheduler.pt", "missing"),
            ("rng_state.pth", "missing"),
            ("rng_state.pth", "truncated"),
            ("selection.json", "missing"),
            ("selection.json", "garbled"),
            ("selection.safetensors", "missing"),
            ("model.safetensors", "missing"),
            ("model.safetensors", "truncated"),
            ("run.json", "missing"),
            ("run.json", "garbled"),
        ]
    ),
    resume(
        "named-checkpoint-partial",
        "train.resume={run}/checkpoint-2",
        setup=checkpoint_file("scheduler.pt", "missing"),
        message=r"checkpoint-2 cannot be resumed from: scheduler.pt is missing",
    ),
]
