"""Corpus: HTTP requests to a real `ptune-exp-serve` process on 127.0.0.1 (started by tests/test_bad_inputs.py
on `{export}`, served as `sentiment`, with `--max-request-bytes 65536 --max-input-chars 200`). Each must be
answered with its status and, for a 4xx, a one-line JSON error matching `message`; never a 500."""

from __future__ import annotations

import json
from dataclasses import dataclass

LIMIT = 65536
CHARS = 200


@dataclass(frozen=True)
class Request:
    id: str
    body: bytes | None  # None: a GET
    status: int
    message: str = ""  # a regex the error (or, for 2xx, the whole answer) must match
    path: str = "/v1/predict"
    chunked: bool = False  # sent without Content-Length, in chunks
    length: int | None = None  # a Content-Length header that lies (the body is not sent)


def body(inputs, task="sentiment", **extra) -> bytes:
    return json.dumps({"task": task, "inputs": inputs, **extra}).encode()


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


TOO_LARGE = rf"send at most {LIMIT} bytes per request \(--max-request-bytes\)"
SURROGATE = r"field 'inputs': inputs\[{i}\] holds '\\ud800', a lone surrogate, which is not valid Unicode text"
REQUESTS = [
    Request("bytes-content-length", b"", 413, TOO_LARGE, length=10**9),
    Request(
        "bytes-body", body([{"sentence": "a" * LIMIT}]), 413, r"the request body is \d+ bytes or more; " + TOO_LARGE
    ),
    Request("bytes-chunked", body([{"sentence": "b" * LIMIT}]), 413, TOO_LARGE, chunked=True),
    Request("bytes-just-under", body([{"sentence": "c " * (LIMIT // 2 - 100)}]), 200, r'"truncated": ?true'),
    Request("depth-30000", b"[" * 30000 + b"]" * 30000, 422, r"nests lists or objects deeper than 32 levels"),
    Request("depth-40", body(nested(40)), 422, r"deeper than 32 levels"),
    Request("surrogate-escaped", body([{"sentence": "\ud800"}]), 422, SURROGATE.format(i=0)),
    Request("surrogate-second", body(["fine", "x\udfffy"]), 422, SURROGATE.replace("ud800", "udfff").format(i=1)),
    Request("surrogate-task", body(["fine"], task="\ud800"), 404, r"no export named '\\ud800' is served"),
    Request("utf8-invalid", b'{"task": "sentiment", "inputs": ["\xff"]}', 400, r"the body is not UTF-8 text"),
    Request("utf8-encoded-surrogate", b'{"task": "sentiment", "inputs": ["\xed\xa0\x80"]}', 400, r"not UTF-8 text"),
    Request("utf16-body", json.dumps({"task": "sentiment", "inputs": ["x"]}).encode("utf-16"), 400, "not UTF-8"),
    Request("json-nan", b'{"task": "sentiment", "inputs": ["x"], "n": NaN}', 422, r"field 'n' is not a request field"),
    Request("long-input-cut", body([{"sentence": "good " * 1000}]), 200, r'"truncated": ?true'),
    Request("tasks-no-folders", None, 200, r'^(?!.*"path")(?!.*/pytest-)(?!.*/tmp/).*"sentiment"', path="/v1/tasks"),
]
CASES: list = []  # no in-process cases: tests/test_bad_inputs.py sends these to a server
