"""What `ptune-exp-serve` accepts before a request reaches the model, and how it stops.

- bytes: at most `max_bytes` per request body, from its Content-Length and counted again while it is
  read (a chunked body has none), 413 beyond; the default is the largest sensible request: `max_inputs`
  inputs of `max_chars` characters, each written as JSON's widest form of a character (`\\uXXXX`, 6 bytes);
- the body is strict UTF-8 JSON (400 otherwise), nested at most `MAX_DEPTH` deep (422);
- texts: valid Unicode (a lone surrogate such as "\\ud800": 422, `tasks/text.py`), each cut to
  `max_chars` characters before it is tokenized (the input is then marked `"truncated": true`);
- SIGTERM/SIGINT: the HTTP server stops taking connections, answers the requests in flight (at most
  `grace` seconds), then the inference workers and LitServe's manager are stopped and the port released.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import dataclass

MAX_DEPTH = 32  # a request nests 3 levels; a MultiRC passage with its questions and answers 8
DEFAULT_CHARS = 10_000  # characters per text: a long SQuAD or MultiRC passage is 4,000 to 6,000
JSON_CHAR_BYTES = 6  # "\uXXXX": the widest JSON form of a character of the Basic Multilingual Plane
ENVELOPE_BYTES = 64 * 1024  # the request's own fields, brackets and separators
log = logging.getLogger("ptune_exp")


@dataclass(frozen=True)
class Limits:
    max_inputs: int
    max_chars: int
    max_bytes: int


def default_bytes(max_inputs: int, max_chars: int) -> int:
    """The largest sensible request: `max_inputs` inputs of `max_chars` characters, each written as `\\uXXXX`."""
    return max_inputs * max_chars * JSON_CHAR_BYTES + ENVELOPE_BYTES


def too_large(size: int, limits: Limits) -> tuple[int, str]:
    return 413, (
        f"the request body is {size} bytes or more; send at most {limits.max_bytes} bytes per request "
        f"(--max-request-bytes), e.g. fewer inputs per request"
    )


def depth(value) -> int:
    """How deep lists and objects nest in a parsed JSON value (a scalar: 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack += [(x, level + 1) for x in (item.values() if isinstance(item, dict) else item)]
    return deepest


def parse_body(body: bytes) -> tuple[object, tuple[int, str] | None]:
    """(the parsed body, None), or (None, (status, message)): strict UTF-8, JSON, at most MAX_DEPTH deep."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, (400, f"the body is not UTF-8 text (byte {e.start}: {e.reason}); send JSON in UTF-8")
    try:
        request = json.loads(text)
    except RecursionError:
        return None, (422, f"the body nests lists or objects deeper than {MAX_DEPTH} levels")
    except ValueError as e:
        return None, (400, f'the body is not JSON ({e}); send {{"task": ..., "inputs": [...]}}')
    if depth(request) > MAX_DEPTH:
        return None, (422, f"the body nests lists or objects deeper than {MAX_DEPTH} levels")
    return request, None


async def read_body(scope, receive, limits: Limits) -> tuple[bytes | None, tuple[int, str] | None]:
    """The whole body, or a problem: larger than the limit (by Content-Length, or counted as it comes), or
    the client gone."""
    length = dict(scope.get("headers") or []).get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limits.max_bytes:
        return None, too_large(int(length), limits)
    chunks, total = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, (400, "the client closed the connection before the body was sent")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limits.max_bytes:
            return None, too_large(total, limits)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), None


def replay(body: bytes, receive):
    """An ASGI `receive` that gives the body already read, then whatever the client sends (a disconnect)."""
    sent = False

    async def again():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def ignore_stop_signals() -> None:
    """In an inference worker: SIGTERM/SIGINT are for the main process, which stops the workers itself once
    the requests in flight are answered (a Ctrl+C reaches every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def on_stop_signals(server, grace: float) -> None:
    """SIGTERM/SIGINT in this process: stop the HTTP server threads (requests in flight answered, at most
    `grace` seconds), kill the inference workers, then let LitServe's own shutdown (KeyboardInterrupt) end
    `run`. Processes forked from this one inherit the handler and ignore the signal."""
    main = os.getpid()

    def stop(signum, frame):
        if os.getpid() != main:
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.warning("ptune-exp-serve: %s: stopping", signal.Signals(signum).name)
        threads = [t for t in threading.enumerate() if t.name.startswith("LitServer-")]
        for thread in threads:
            http = getattr(getattr(thread, "_target", None), "__self__", None)  # LitServe's uvicorn server
            if http is not None:
                http.should_exit = True
        for thread in threads:
            thread.join(grace + 2)
        for worker in getattr(server, "inference_workers", None) or []:
            worker.kill()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
