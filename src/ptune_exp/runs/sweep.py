"""A sweep's outcome (`ptune-exp -m ...`). Every job runs whatever the others do; each writes
`job_status.json` into its own dir, and once the sweep is over `ptune-exp` counts them: exit status 1
when any job failed, with a last line naming where the failed jobs' records are.

Files, not Hydra's job return values: those never reach the console script, and the jobs of the joblib
or Slurm launchers run in other processes. `SweepReport` (a Hydra callback, `hydra.callbacks` in
conf/config.yaml) notes in the launching process where the sweep writes and when it started, so
statuses left by an earlier sweep into the same folder are not counted.
"""

from __future__ import annotations

import json
import os
import time

from hydra.experimental.callback import Callback

from ptune_exp.storage.files import write_json

STATUS = "job_status.json"
_SWEEP: dict = {}  # the sweep this process launched: dir, started


class SweepReport(Callback):
    def on_multirun_start(self, config, **kwargs) -> None:
        _SWEEP.update(dir=os.path.abspath(str(config.hydra.sweep.dir)), started=time.time())


def start() -> None:
    """Forget the previous sweep (one process may run several commands: tests)."""
    _SWEEP.clear()


def record_of(cfg) -> str:
    """Where a job's story is: its metrics.json when the run got that far, else the job's log."""
    from hydra.core.hydra_config import HydraConfig

    from ptune_exp.runs.rundir import output_dir

    hydra = HydraConfig.get()
    try:
        record = os.path.join(output_dir(cfg), "metrics.json")
    except Exception:  # a config too broken to name its output dir: the log says why
        record = ""
    if os.path.isfile(record):
        return os.path.abspath(record)
    return os.path.abspath(os.path.join(hydra.runtime.output_dir, f"{hydra.job.name}.log"))


def job_done(cfg, status: str, error: str | None = None) -> None:
    """Write this job's `job_status.json` (status, error, record) into the job's dir."""
    from hydra.core.hydra_config import HydraConfig

    job_dir = HydraConfig.get().runtime.output_dir
    os.makedirs(job_dir, exist_ok=True)
    write_json(os.path.join(job_dir, STATUS), {"status": status, "error": error, "record": record_of(cfg)})


def _statuses(root: str, since: float) -> list[dict]:
    out = []
    for folder, _, files in os.walk(root):
        path = os.path.join(folder, STATUS)
        if STATUS in files and os.stat(path).st_mtime >= since - 1.0:
            try:
                with open(path, encoding="utf-8") as f:
                    out.append(json.load(f))
            except (OSError, ValueError):
                out.append({"status": "unknown", "record": path})
    return out


def outcome() -> tuple[int, str] | None:
    """After a sweep: (exit status, last line); None when this process ran no sweep."""
    if "dir" not in _SWEEP:
        return None
    statuses = _statuses(_SWEEP["dir"], _SWEEP["started"])
    failed = [s for s in statuses if s.get("status") != "completed"]
    if failed:
        where = ", ".join(sorted(str(s.get("record")) for s in failed))
        return 1, f"{len(failed)} of {len(statuses)} jobs failed; their records: {where}"
    return 0, f"{len(statuses)} of {len(statuses)} jobs completed; records under {_SWEEP['dir']}"
