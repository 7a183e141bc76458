"""One run per output directory: claims, live and dead owners, the heartbeat, two runs at once."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import _claim, run
from ptune_exp.runs import rundir
from ptune_exp.runs.callbacks import GracefulStop
from ptune_exp.runs.records import write_record

BIN = Path(sys.executable).parent


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def running_record(out: Path, owner: dict) -> dict:
    record = {"status": "running", "error": None, "method": "ptv2", "owner": owner}
    write_record(str(out), record)
    return record


def on_disk(out) -> dict:
    return json.loads((Path(out) / "metrics.json").read_text())


def test_owners_alive_and_dead(monkeypatch):
    me = rundir.identity()
    assert rundir.is_alive(me)
    assert not rundir.is_alive({**me, "pid": dead_pid()})
    assert not rundir.is_alive({**me, "proc_start": (me["proc_start"] or 0) + 1})  # the pid, reused since
    assert not rundir.is_alive({**me, "boot_id": "another-boot"})
    assert not rundir.is_alive(None) and not rundir.is_alive({"pid": "x"})
    elsewhere = {**me, "host": "another-host"}
    assert rundir.is_alive(elsewhere)  # a fresh heartbeat on a host we cannot look into
    assert not rundir.is_alive({**elsewhere, "heartbeat": "2020-01-01T00:00:00+00:00"})


def test_a_directory_in_use_is_refused_and_left_alone(cfg_factory):
    cfg = cfg_factory("method=ptv2")
    out = Path(cfg.output_dir)
    before = running_record(out, rundir.identity(os.getppid()))  # a live process: our parent
    for extra in ((), ("overwrite=true",), ("train.resume=true",)):
        with pytest.raises(PtuneError, match=rf"{out} is in use by a running run \(pid {os.getppid()}"):
            run(cfg_factory("method=ptv2", f"output_dir={out}", *extra))
    assert on_disk(out) == before


def test_a_dead_runs_directory_is_taken_over_only_on_request(cfg_factory):
    cfg = cfg_factory("method=ptv2")
    out = Path(cfg.output_dir)
    before = running_record(out, {**rundir.identity(), "pid": dead_pid()})
    with pytest.raises(PtuneError, match=r"died while running .* train.resume=.* or pass overwrite=true"):
        run(cfg)
    assert on_disk(out) == before
    record = run(cfg_factory("method=ptv2", f"output_dir={out}", "overwrite=true"))
    assert record["status"] == on_disk(out)["status"] == "completed"
    assert record["owner"]["pid"] == os.getpid()


def test_a_fresh_run_refuses_a_directory_with_checkpoints(cfg_factory):
    cfg = cfg_factory("method=ptv2", "train.keep_checkpoints=true")
    run(cfg)
    record = on_disk(cfg.output_dir)
    (Path(cfg.output_dir) / "metrics.json").unlink()
    with pytest.raises(PtuneError, match=r"holds checkpoints of an earlier \(unrecorded\) run; continue it with"):
        run(cfg)
    fresh = run(cfg_factory("method=ptv2", f"output_dir={cfg.output_dir}", "overwrite=true"))
    assert fresh["started_at"] >= record["started_at"] and fresh["status"] == "completed"


def test_the_heartbeat_refreshes_the_running_record(tmp_path):
    rec = rundir.Recorder(str(tmp_path), {"status": "running", "owner": rundir.identity()})
    rec.write()
    path = tmp_path / "metrics.json"
    first = path.stat().st_mtime_ns
    with rec.beating(every=0.05):
        time.sleep(0.5)
    assert path.stat().st_mtime_ns > first and on_disk(tmp_path)["owner"]["heartbeat"]


def test_of_two_claims_at_once_one_wins(cfg_factory):
    p = plan(cfg_factory("method=ptv2"))
    start, outcomes = threading.Barrier(2), []

    def claim():
        start.wait()
        try:
            outcomes.append(_claim(p, GracefulStop()).record["status"])
        except PtuneError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0].endswith("choose another output dir") and "running" in outcomes


@pytest.mark.slow
def test_two_processes_into_one_directory_one_record(tmp_path):
    """The CLI twice into the same hydra.run.dir at once: one run trains, the other is refused."""
    smoke = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]
    args = [str(BIN / "ptune-exp"), *smoke, f"hydra.run.dir={tmp_path}/same"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((p.wait(timeout=600), p.stderr.read()) for p in procs)
    assert [code for code, _ in results] == [0, 2], results
    refused = [line for line in results[1][1].splitlines() if line.startswith("ptune-exp: error:")]
    assert refused and f"{tmp_path}/same" in refused[0], results[1][1][-2000:]
    assert on_disk(tmp_path / "same")["status"] == "completed"
