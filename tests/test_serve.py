"""ptune-exp-serve and mixed batching, end to end: three tiny exports of different tasks and methods (ptv2
sentiment, pt tagging, prefix QA) on one backbone, an fft and a lora export and two exports made for
another backbone (refused with their reasons). The server runs as a real subprocess on a free port; its answers
must be `ptune-exp-predict`'s, and a mixed batch must give what the same rows give task by task."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corpus import SMOKE
from ptune_exp.errors import PtuneError
from ptune_exp.predict import predict_main
from test_api import conll04, squad

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[1] / "src")
LONG = " ".join(["the movie was great but the soup was awful"] * 4)  # over the sentiment export's 16 tokens
INPUTS = {
    "sentiment": [{"sentence": "the movie was great"}, {"sentence": "the soup was awful"}, {"sentence": LONG}],
    "tags": [["John", "saw", "Rome"], "IBM hired Mary ."],
    "qa": [{"question": "who won?", "context": "john won the game in paris and mary lost the match in london."}],
}
RUNS = {
    "sentiment": ("method=ptv2", "method.prefix_len=6", "task.max_seq_len=16"),
    "tags": ("method=pt", "method.prefix_len=3", "task=conll04"),
    "qa": ("method=prefix", "method.prefix_len=4", "task=squad", "task.max_seq_len=64", "task.doc_stride=16"),
    "whole": ("method=fft",),
    "adapter": ("method=lora",),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    from ptune_exp import api

    root = tmp_path_factory.mktemp("serve")
    data = {"tags": f"task.data_dir={conll04(root / 'conll04')}", "qa": f"task.data_dir={squad(root / 'squad')}"}
    for name, overrides in RUNS.items():
        extra = (data[name],) if name in data else ()
        record = api.run_experiment(*SMOKE, *overrides, *extra, output_dir=str(root / f"run_{name}"))
        api.export(record["output_dir"], str(root / name))
    for name, change in (("weights", {"weights_sha256": "0" * 64}), ("arch", {"model_type": "roberta"})):
        shutil.copytree(root / "sentiment", root / name)
        meta = json.loads((root / name / "export.json").read_text())
        meta["backbone"].update(change)
        (root / name / "export.json").write_text(json.dumps(meta))
    return root


def call(port: int, path: str, body=None) -> tuple[int, object]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, _parsed(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _parsed(body: bytes):
    """JSON, or the text of a plain answer (LitServe's `/health` says `ok`)."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(paths: list[str], log_path: Path, *flags: str):
    """`ptune-exp-serve PATHS` as a real subprocess on a free port, until /health answers; yields the port."""
    port = free_port()
    command = [sys.executable, "-m", "ptune_exp.serve.server", *paths]
    env = {**os.environ, "PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1"}
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--batch-timeout", "0.2", *flags],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            try:
                if call(port, "/health")[0] == 200:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        assert proc.poll() is None and time.time() < deadline, log_path.read_text()[-3000:]
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)  # LitServe's workers may ignore SIGTERM: do not wait on them
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def server(exports):
    names = ["sentiment", "tags", "qa", "whole", "adapter", "weights", "arch"]
    with running_server([str(exports / n) for n in names], exports / "server.log") as port:
        yield port


def input_file(name: str, folder: Path) -> Path:
    """INPUTS[name] as a file in the task's local format (what `ptune-exp-predict` reads)."""
    if name == "sentiment":
        path = folder / "in.jsonl"
        path.write_text("".join(json.dumps(x) + "\n" for x in INPUTS[name]))
    elif name == "tags":
        path = folder / "in.conll"
        path.write_text(
            "".join("".join(w + "\n" for w in (x.split() if isinstance(x, str) else x)) + "\n" for x in INPUTS[name])
        )
    else:
        path = folder / "in.json"
        paragraphs = [
            {"context": x["context"], "qas": [{"id": str(i), "question": x["question"]}]}
            for i, x in enumerate(INPUTS[name])
        ]
        path.write_text(json.dumps({"version": "1.1", "data": [{"title": "", "paragraphs": paragraphs}]}))
    return path


def predicted_by_the_command(exports: Path, name: str, tmp: Path) -> list[dict]:
    """`ptune-exp-predict` on the same inputs, read back as the API returns them."""
    path = input_file(name, tmp)
    assert predict_main([str(exports / name), str(path), "-o", str(tmp / name)]) == 0
    out = next(p for p in tmp.iterdir() if p.name.startswith(f"{name}."))
    if name == "sentiment":
        return [json.loads(line) for line in out.read_text().splitlines()]
    if name == "qa":
        answers = json.loads(out.read_text())
        return [{"id": str(i), "answer": answers[str(i)]} for i in range(len(INPUTS[name]))]
    words = [s.split("\n") for s in out.read_text().strip().split("\n\n")]
    return [{"tokens": [w.split()[0] for w in s], "tags": [w.split()[-1] for w in s]} for s in words]


def same(got: dict, want: dict) -> None:
    for key, value in want.items():
        if key == "scores":
            assert got[key] == pytest.approx(value, abs=1e-5)
        else:
            assert got[key] == value, (key, got, want)


def test_concurrent_requests_for_different_tasks_answer_as_ptune_exp_predict(server, exports, tmp_path):
    bodies = [{"task": name, "inputs": inputs} for name, inputs in INPUTS.items()] * 3
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda b: call(server, "/v1/predict", b), bodies))
    for name in INPUTS:
        wanted = predicted_by_the_command(exports, name, tmp_path)
        for status, answer in (a for a, b in zip(answers, bodies) if b["task"] == name):
            assert status == 200 and answer["task"] == name
            assert len(answer["predictions"]) == len(wanted)
            for got, want in zip(answer["predictions"], wanted):
                same(got, want)
    sentiment = next(a for s, a in answers if a["task"] == "sentiment")["predictions"]
    assert [p.get("truncated", False) for p in sentiment] == [False, False, True]


def test_tasks_lists_the_served_exports_and_the_refused_with_reasons(server):
    status, listed = call(server, "/v1/tasks")
    assert status == 200
    tasks = {t["name"]: t for t in listed["tasks"]}
    assert set(tasks) == {"sentiment", "tags", "qa"}
    assert (tasks["sentiment"]["method"], tasks["sentiment"]["prefix_len"]) == ("ptv2", 6)
    assert tasks["sentiment"]["labels"] == ["negative", "positive"] and "dev" in tasks["sentiment"]["scores"]
    assert (tasks["tags"]["method"], tasks["qa"]["method"]) == ("pt", "prefix")
    refused = listed["refused"]
    assert "fft" in refused["whole"] and "whole fine-tuned model" in refused["whole"]
    assert "lora exports put adapter layers inside the backbone" in refused["adapter"]
    assert "backbone weights differ" in refused["weights"]
    assert "model_type 'roberta' vs the loaded 'bert'" in refused["arch"]
    assert call(server, "/health")[0] == 200


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not JSON"),
        ({"inputs": [{"sentence": "x"}]}, 422, "field 'task'"),
        ({"task": "nope", "inputs": [{"sentence": "x"}]}, 404, "field 'task': no export named 'nope'"),
        ({"task": "whole", "inputs": [{"sentence": "x"}]}, 404, "field 'task'"),
        ({"task": "sentiment", "inputs": "x"}, 422, "field 'inputs'"),
        ({"task": "sentiment", "inputs": [{"sentence": "x"}], "top_k": 2}, 422, "field 'top_k'"),
        (
            {"task": "qa", "inputs": [{"question": "who?"}]},
            422,
            r"field 'inputs': inputs\[0\] \(id 0\): missing field 'context'",
        ),
    ],
)
def test_a_malformed_request_gets_a_4xx_naming_the_field_and_the_server_keeps_serving(server, body, status, message):
    got, answer = call(server, "/v1/predict", body)
    assert got == status and re.search(message, answer["error"]), answer
    ok, answer = call(server, "/v1/predict", {"task": "sentiment", "inputs": [{"sentence": "good"}]})
    assert ok == 200 and answer["predictions"][0]["prediction"] in ("negative", "positive")


def test_a_mixed_batch_gives_what_the_same_rows_give_task_by_task(exports):
    from ptune_exp.serve.batch import answers, job_from_list, run_jobs
    from ptune_exp.serve.registry import load_registry

    registry = load_registry([str(exports / n) for n in INPUTS])
    results = {}
    for mixed in (True, False):
        jobs = [job_from_list(registry.tasks[n], inputs) for n, inputs in INPUTS.items()]
        run_jobs(registry, jobs, max_rows=4, mixed=mixed)  # several forwards, rows of every task in each
        results[mixed] = [answers(job) for job in jobs]
    for got_job, want_job in zip(results[True], results[False]):
        for got, want in zip(got_job, want_job):
            same(got, want)


def test_strict_refuses_to_start_with_any_refused_export(exports):
    from ptune_exp.serve.registry import load_registry

    with pytest.raises(PtuneError, match=r"--strict: refused whole: fft .*weights: .*backbone weights differ"):
        load_registry([str(exports / n) for n in ("sentiment", "whole", "weights")], strict=True)


def test_predict_takes_several_exports_and_rows_that_name_their_task(exports, tmp_path):
    rows = [{"task": n, **(x if isinstance(x, dict) else {"tokens": x})} for n in INPUTS for x in INPUTS[n]]
    rows = rows[::-1]  # tasks interleaved
    (tmp_path / "mixed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths = [str(exports / n) for n in INPUTS]
    assert predict_main([*paths, str(tmp_path / "mixed.jsonl"), "-o", str(tmp_path / "out")]) == 0
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [g["task"] for g in got] == [r["task"] for r in rows]
    for name in INPUTS:
        (tmp_path / name).mkdir()
        want = predicted_by_the_command(exports, name, tmp_path / name)
        mine = [g for g in got if g["task"] == name][::-1]
        assert len(mine) == len(want)
        for g, w in zip(mine, want):
            same(g, {k: v for k, v in w.items() if k != "idx"})  # idx counts the task's rows in the mixed file
        if name == "sentiment":
            assert [g["idx"] for g in mine] == [2, 1, 0]  # the file holds them in reverse
