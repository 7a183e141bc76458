"""The bad-input corpus (tests/corpus.py): every case ends in its exit status and one clear line."""

import contextlib
import http.client
import importlib
import json
import os
import pkgutil
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import bad_inputs_serve as serve_table
from corpus import SMOKE, Paths, check, fresh_paths, run_case
from test_serve import SRC, call, free_port

HERE = Path(__file__).parent
TABLES = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bad_inputs_"))
CASES = [case for name in TABLES for case in importlib.import_module(name).CASES]


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Paths:
    """One completed tiny run (checkpoint kept) and its export, copied afresh for every case."""
    from conftest import compose_cfg
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.pipeline.run import run

    root = tmp_path_factory.mktemp("trained")
    cfg = compose_cfg(*SMOKE, f"output_dir={root / 'run'}", "train.keep_checkpoints=true")
    run(cfg)
    export = export_run(str(root / "run"), str(root / "export"))
    return Paths(root, root / "run", Path(export))


def test_the_corpus_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert len(CASES) >= 80, f"{len(CASES)} cases"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, trained, tmp_path):
    paths = fresh_paths(trained, tmp_path)
    check(case, run_case(case, paths))
    if case.verify is not None:
        case.verify(paths)


def test_the_trained_run_is_complete(trained):
    record = json.loads((trained.run / "metrics.json").read_text())
    assert record["status"] == "completed" and any(p.name.startswith("checkpoint-") for p in trained.run.iterdir())


# ------------------------------------------------------------------ the server (tests/bad_inputs_serve.py)

SERVE_FLAGS = ("--max-request-bytes", str(serve_table.LIMIT), "--max-input-chars", str(serve_table.CHARS))


def start_server(export: Path, log: Path, *flags: str) -> tuple[subprocess.Popen, int]:
    """`ptune-exp-serve EXPORT` in its own process group on a free port of 127.0.0.1, once /health says ok
    (at most 240 s)."""
    port = free_port()
    command = [sys.executable, "-m", "ptune_exp.serve.server", f"sentiment={export}", "--port", str(port), *flags]
    env = {**os.environ, "PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            if call(port, "/health")[0] == 200:
                return proc, port
        time.sleep(0.3)
    stop(proc)
    raise AssertionError(log.read_text()[-3000:])


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def served(trained, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "server.log"
    proc, port = start_server(trained.export, log, *SERVE_FLAGS)
    try:
        yield port, log
    finally:
        stop(proc)


def send(port: int, request: serve_table.Request) -> tuple[int, str]:
    """One request over a fresh connection (at most 60 s): its status and body text."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if request.body is None:
            connection.request("GET", request.path)
        elif request.length is not None:
            connection.putrequest("POST", request.path)
            connection.putheader("Content-Length", str(request.length))
            connection.endheaders()
        else:
            chunks = [request.body[i : i + 4096] for i in range(0, len(request.body), 4096)]
            data = iter(chunks) if request.chunked else request.body
            connection.request("POST", request.path, body=data, encode_chunked=request.chunked)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("request_case", serve_table.REQUESTS, ids=[r.id for r in serve_table.REQUESTS])
def test_bad_request(request_case, served):
    port, log = served
    status, text = send(port, request_case)
    assert status == request_case.status, f"{request_case.id}: {status} {text[:500]}\n{log.read_text()[-2000:]}"
    if status >= 400:
        error = json.loads(text)["error"]
        assert "\n" not in error and re.search(request_case.message, error), (request_case.id, error)
    else:
        assert re.search(request_case.message, text), (request_case.id, text[:500])
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT-group"])
def test_the_server_stops_on_a_signal_answering_what_is_in_flight_and_frees_its_port(trained, tmp_path, how):
    """SIGTERM to the server (as a service manager sends it) or SIGINT to its group (Ctrl+C): requests in
    flight are answered or refused, the processes end within a few seconds and the port is free again."""
    proc, port = start_server(trained.export, tmp_path / "server.log", *SERVE_FLAGS, "--batch-timeout", "0.5")
    request = serve_table.Request("one", serve_table.body([{"sentence": "fine"}]), 200)
    try:
        with ThreadPoolExecutor(4) as pool:
            flying = [pool.submit(send, port, request) for _ in range(4)]
            time.sleep(0.2)  # in the batch that waits 0.5 s to fill
            if how == "SIGTERM":
                os.kill(proc.pid, signal.SIGTERM)
            else:
                os.killpg(proc.pid, signal.SIGINT)
            for future in flying:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    assert future.result(timeout=20)[0] in (200, 503)
        assert proc.wait(timeout=20) == 0, (tmp_path / "server.log").read_text()[-3000:]
        answers = [future.result() for future in flying if future.exception() is None]
        with socket.socket() as s:  # released: a new server can listen there (as uvicorn does, reusing the address)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        deadline = time.time() + 10
        while time.time() < deadline and _group_alive(proc.pid):
            time.sleep(0.2)
        assert not _group_alive(proc.pid), "inference workers or LitServe's manager left running"
        with pytest.raises(OSError):
            send(port, request)
    finally:
        if proc.poll() is None:
            stop(proc)
    assert "Traceback" not in (tmp_path / "server.log").read_text(), (tmp_path / "server.log").read_text()[-3000:]
    assert all(status == 200 for status, _ in answers), answers  # those answered were answered in full


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
