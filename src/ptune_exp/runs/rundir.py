"""One run per output directory.

A run claims its directory under an exclusive lock (`flock` on `.ptune-exp.lock`, released by the kernel
when the process ends, so a killed run never leaves it behind): it reads the record there, decides
whether it may use the directory, and writes its own `running` record before letting go. Two runs
started at once thus never both win; the second one finds the first one's `running` record.

The `running` record names its owner (`owner`: pid, host, boot id, process start time) and carries a
`heartbeat` refreshed every HEARTBEAT_S seconds by a thread. An owner is alive when, on the same host,
its process still exists (same pid and start time, same boot), or, on another host, when its heartbeat
is younger than STALE_AFTER_S. A live run's directory is never taken over; a dead one's only on request
(`overwrite=true`, or `train.resume` to continue it).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import socket
import threading
import time
from datetime import datetime

from ptune_exp.errors import PtuneError
from ptune_exp.runs.records import RECORD, now, write_record

log = logging.getLogger("ptune_exp")

LOCK = ".ptune-exp.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0
LOCK_WAIT_S = 60.0


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def _boot_id() -> str | None:
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip() if text else None


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot, from /proc), to tell a reused pid apart."""
    text = _read(f"/proc/{pid}/stat")
    try:
        return int(text.rsplit(")", 1)[1].split()[19]) if text else None
    except (IndexError, ValueError):
        return None


def identity(pid: int | None = None) -> dict:
    """The owner entry of a `running` record: this process (or `pid` on this host)."""
    pid = pid or os.getpid()
    host = socket.gethostname()
    return {"pid": pid, "host": host, "boot_id": _boot_id(), "proc_start": _start_ticks(pid), "heartbeat": now()}


def _age_s(stamp) -> float:
    try:
        return time.time() - datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return float("inf")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def is_alive(owner) -> bool:
    """Whether the process a `running` record names may still be running (see the module docstring)."""
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return False  # no owner to ask: a record of a run that cannot still be writing it
    if owner.get("host") != socket.gethostname():
        return _age_s(owner.get("heartbeat")) < STALE_AFTER_S
    if owner.get("boot_id") and _boot_id() and owner["boot_id"] != _boot_id():
        return False
    if not _process_exists(owner["pid"]):
        return False
    started = owner.get("proc_start")
    return started is None or _start_ticks(owner["pid"]) in (None, started)


def describe(owner) -> str:
    if not isinstance(owner, dict):
        return "no owner recorded"
    return f"pid {owner.get('pid')} on {owner.get('host')}, last heartbeat {owner.get('heartbeat')}"


@contextlib.contextmanager
def locked(out_dir: str):
    """Hold the directory's claim lock (created with the directory when needed), waiting up to LOCK_WAIT_S."""
    import filelock

    try:
        os.makedirs(out_dir, exist_ok=True)
        lock = filelock.FileLock(os.path.join(out_dir, LOCK), timeout=LOCK_WAIT_S)
        lock.acquire()
    except filelock.Timeout:
        raise PtuneError(f"{out_dir} stayed locked by another run for {LOCK_WAIT_S:.0f} s") from None
    except OSError as e:
        raise PtuneError(f"cannot use {out_dir} as the output dir ({type(e).__name__}: {e.strerror})") from None
    try:
        yield
    finally:
        lock.release()


def admit(out_dir: str, old: dict | None, unreadable: str | None, resume: bool, overwrite: bool) -> None:
    """Refuse a directory this run may not use, saying why and what to do; return when it may."""
    if unreadable is not None and not overwrite:
        raise PtuneError(
            f"{out_dir}/{RECORD} is unreadable ({unreadable}); move it away, or pass overwrite=true to replace it"
        )
    status = (old or {}).get("status")
    if status == "running" and is_alive(old.get("owner")):
        raise PtuneError(
            f"{out_dir} is in use by a running run ({describe(old.get('owner'))}); choose another output dir"
        )
    if status == "running" and not (overwrite or resume):
        raise PtuneError(
            f"{out_dir} holds a run that died while running ({describe(old.get('owner'))}); continue it with "
            f"train.resume={out_dir}, or pass overwrite=true to start afresh there"
        )
    if status == "completed" and not overwrite:
        what = "continue" if resume else "replace"
        raise PtuneError(
            f"{out_dir} already holds a completed run; choose another output dir, or pass overwrite=true to {what} it"
        )
    if not resume and not overwrite and checkpoints_in(out_dir):
        raise PtuneError(
            f"{out_dir} holds checkpoints of an earlier ({status or 'unrecorded'}) run; continue it with "
            f"train.resume={out_dir}, or pass overwrite=true to start afresh there (its checkpoints are removed)"
        )


def checkpoints_in(out_dir: str) -> list[str]:
    """The `checkpoint-<step>` folders of a run directory, newest first."""
    found = [d for d in glob.glob(os.path.join(out_dir, "checkpoint-*")) if os.path.isdir(d)]
    steps = {d: d.rsplit("-", 1)[1] for d in found}
    return sorted((d for d in found if steps[d].isdigit()), key=lambda d: -int(steps[d]))


def clear(out_dir: str, old: dict | None, weights: str) -> None:
    """Remove what an earlier run left (checkpoints, weights, predictions) before a fresh run takes over."""
    for folder in checkpoints_in(out_dir):
        shutil.rmtree(folder, ignore_errors=True)
    names = [weights, *((old or {}).get("predictions") or {}).values()]
    for name in names:
        if isinstance(name, str) and os.path.basename(name) == name:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(out_dir, name))


class Recorder:
    """The run's record and its only writer (the main process): changes go through `update`, writes through
    `write`, which also stamps the heartbeat; `beating()` refreshes it from a thread while the run lasts."""

    def __init__(self, out_dir: str, record: dict, main: bool = True):
        self.out_dir, self.record, self.main = out_dir, record, main
        self._lock = threading.Lock()

    def update(self, fields: dict) -> None:
        with self._lock:
            self.record.update(fields)

    def write(self) -> None:
        if not self.main:
            return
        with self._lock:
            if isinstance(self.record.get("owner"), dict):
                self.record["owner"]["heartbeat"] = now()
            write_record(self.out_dir, self.record)

    @contextlib.contextmanager
    def beating(self, every: float | None = None):
        stop = threading.Event()

        def beat():
            while not stop.wait(every or HEARTBEAT_S):
                try:
                    self.write()
                except OSError as e:  # a full disk must not end the run; the next beat tries again
                    log.warning("heartbeat: could not rewrite %s/%s: %s", self.out_dir, RECORD, e)

        thread = threading.Thread(target=beat, name="ptune-exp-heartbeat", daemon=True)
        if self.main:
            thread.start()
        try:
            yield self
        finally:
            stop.set()
            if thread.is_alive():
                thread.join()


def output_dir(cfg) -> str:
    """Where the run writes its record: the resumed run's dir, `output_dir`, or Hydra's run dir."""
    resume = cfg.train.get("resume")
    if isinstance(resume, str) and resume:  # continue a run in its own directory
        path = os.path.normpath(resume)
        return os.path.dirname(path) if os.path.basename(path).startswith("checkpoint-") else path
    if cfg.get("output_dir"):
        return str(cfg.output_dir)
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return HydraConfig.get().runtime.output_dir
    raise PtuneError("no output directory: set output_dir=DIR (the CLI sets it from Hydra's run dir)")
