"""`ptune-exp-serve EXPORT_DIR [EXPORT_DIR ...]`: one frozen backbone, every export built on it, one HTTP server.

    POST /v1/predict   {"task": "<export name>", "inputs": [...]}  ->  {"task", "predictions": [...]}
    GET  /v1/tasks     name, method, task, labels, prefix length, scores at export time; and the refused
    GET  /health       "ok" once the model is loaded (LitServe's)

Inputs are in the task's own fields (as `ptune-exp-predict` and `Predictor.predict` take them);
predictions are what `Predictor.predict` returns (labels with probabilities, tags, answers), an input
longer than the task's max_seq_len marked `"truncated": true` (cut as in training).

Batching is LitServe's (https://lightning.ai/docs/litserve): requests that arrive within
`--batch-timeout` seconds, up to `--max-batch` of them, form one batch, whatever their tasks; the batch
goes through the backbone in forwards of at most `--max-rows` rows, each row with its own task's
prompt and head (`batch.py`, `rows.py`); `--per-task` runs one forward per task instead (the
benchmark's baseline). The exports are checked when the server starts (`registry.py`): a refused one is
reported with its reason and the rest are served, or nothing with `--strict`. A malformed request is
answered 4xx with a message that names the field, before it reaches the model (`RequestCheck`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import sys

from ptune_exp.artifacts.export_reader import TRUST_FLAG
from ptune_exp.errors import PtuneError, command
from ptune_exp.serve.limits import (
    DEFAULT_CHARS,
    Limits,
    default_bytes,
    on_stop_signals,
    parse_body,
    read_body,
    replay,
)
from ptune_exp.tasks.text import bad_text, cut_texts

PREDICT, TASKS = "/v1/predict", "/v1/tasks"
log = logging.getLogger("ptune_exp")


def check_request(tasks: dict, body: bytes, limits: Limits) -> tuple[int, str] | None:
    """(HTTP status, message) for a malformed predict request, None for a good one. `tasks`: name -> Served."""
    from ptune_exp.tasks.inputs import input_rows

    request, problem = parse_body(body)
    if problem is not None:
        return problem
    problem = _fields_problem(tasks, request, limits)
    if problem is not None:
        return problem
    inputs, _ = cut_texts(request["inputs"], limits.max_chars)
    try:
        input_rows(tasks[request["task"]].parts.task, inputs)  # read as the worker will read them, no file written
    except PtuneError as e:
        return 422, f"field 'inputs': {e}"
    return None


def _fields_problem(tasks: dict, request, limits: Limits) -> tuple[int, str] | None:
    """The request's fields: an object with a served `task` and a non-empty list of valid-Unicode `inputs`."""
    if not isinstance(request, dict):
        return 400, "the body must be a JSON object with the fields 'task' and 'inputs'"
    task, inputs = request.get("task"), request.get("inputs")
    if not isinstance(task, str):
        return 422, f"field 'task' must be the name of a served export, one of {sorted(tasks)}"
    if task not in tasks:
        return 404, f"field 'task': no export named {task!r} is served; served: {sorted(tasks)} (GET {TASKS})"
    if not isinstance(inputs, list) or not inputs:
        return 422, "field 'inputs' must be a non-empty list of inputs in the task's own fields"
    if len(inputs) > limits.max_inputs:
        return 413, f"field 'inputs' holds {len(inputs)} inputs; send at most {limits.max_inputs} per request"
    unknown = sorted(set(request) - {"task", "inputs"})
    if unknown:
        return 422, f"field {unknown[0]!r} is not a request field; send only 'task' and 'inputs'"
    problem = bad_text(inputs)
    return (422, f"field 'inputs': {problem}") if problem else None


def request_check_middleware(tasks: dict, limits: Limits):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    class RequestCheck:
        """Reads a predict request's body (at most limits.max_bytes) and answers a malformed one itself
        (4xx), so it never joins a batch of good ones; the rest go on with the body already read."""

        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PREDICT:
                return await self.app(scope, receive, send)
            body, problem = await read_body(scope, receive, limits)
            if problem is None:
                problem = await run_in_threadpool(check_request, tasks, body, limits)
            if problem is not None:
                return await JSONResponse({"error": problem[1]}, status_code=problem[0])(scope, receive, send)
            await self.app(scope, replay(body, receive), send)

    return RequestCheck


def serve(args) -> None:
    """Check and load the exports here (refusals reported, --strict honoured), then start LitServe, whose
    worker loads the accepted ones."""
    from ptune_exp.serve.registry import load_registry

    registry = load_registry(args.exports, args.strict, args.trust_remote_code)
    for name, reason in registry.refused.items():
        print(f"ptune-exp-serve: refused {name}: {reason}", file=sys.stderr)
    for task in registry.tasks.values():
        meta, prefix = task.parts.meta, task.parts.method_cfg.prefix_len
        print(f"serving {task.name}: {meta['method']} on {task.parts.task.name} (prefix {prefix})")
    server = _litserver(args, registry)
    registry.backbone = None  # the worker process holds the model; this one only checks requests
    for served in registry.tasks.values():
        served.model = served.prompt = None
    server.uvicorn_graceful_timeout = args.shutdown_timeout
    on_stop_signals(server, args.shutdown_timeout)
    print(f"ptune-exp-serve: starting on http://{args.host}:{args.port} (GET /health: ok once loaded)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # a signal before LitServe was up: nothing in flight yet
        server.run(
            host=args.host,
            port=args.port,
            generate_client_file=False,
            api_server_worker_type="thread",
            log_level=args.log_level,
        )
    print("ptune-exp-serve: stopped", flush=True)


def limits_of(args) -> Limits:
    max_bytes = args.max_request_bytes or default_bytes(args.max_inputs, args.max_input_chars)
    return Limits(args.max_inputs, args.max_input_chars, max_bytes)


def _litserver(args, registry):
    import litserve as ls

    from ptune_exp.serve.litapi import PromptAPI

    limits = limits_of(args)
    specs = [f"{name}={served.path}" for name, served in registry.tasks.items()]
    batching = {"max_batch_size": args.max_batch, "batch_timeout": args.batch_timeout, "api_path": PREDICT}
    api = PromptAPI(specs, args.max_rows, args.per_task, args.trust_remote_code, limits.max_chars, **batching)
    middleware = (request_check_middleware(registry.tasks, limits), {})
    server = ls.LitServer(api, accelerator=args.accelerator, middlewares=[middleware])
    described = public_listing(registry)
    server.app.add_api_route(TASKS, lambda: described, methods=["GET"])
    return server


def public_listing(registry) -> dict:
    """What GET /v1/tasks shows any client: the served exports and the refused ones, without the server's
    folders (an absolute path is cut to its last part)."""
    tasks = [{k: v for k, v in t.describe().items() if k != "path"} for t in registry.tasks.values()]
    refused = {_no_folders(name): _no_folders(reason) for name, reason in registry.refused.items()}
    return {"tasks": tasks, "refused": refused}


def _no_folders(text: str) -> str:
    return re.sub(r"(?<![\w.~-])(?:/[^\s'\"/]+)+/([^\s'\"/]*)", r"\1", str(text))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ptune-exp-serve", description="Serve many exported prompts on one backbone.")
    ap.add_argument("exports", nargs="+", metavar="EXPORT_DIR", help="export folders (NAME=DIR names one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--max-batch", type=int, default=16, help="requests batched together at most (default 16)")
    ap.add_argument("--batch-timeout", type=float, default=0.01, help="seconds a batch waits to fill (default 0.01)")
    ap.add_argument("--max-rows", type=int, default=64, help="rows per forward at most (default 64)")
    ap.add_argument("--max-inputs", type=int, default=256, help="inputs per request at most (default 256)")
    ap.add_argument(
        "--max-input-chars",
        type=int,
        default=DEFAULT_CHARS,
        help=f"characters per text of an input; longer ones are cut before tokenizing (default {DEFAULT_CHARS})",
    )
    ap.add_argument(
        "--max-request-bytes",
        type=int,
        default=0,
        help="bytes per request body at most, 413 beyond (default: --max-inputs inputs of --max-input-chars, as JSON)",
    )
    ap.add_argument(
        "--shutdown-timeout", type=float, default=5.0, help="seconds to answer the requests in flight on SIGTERM"
    )
    ap.add_argument("--per-task", action="store_true", help="one forward per task instead of mixed forwards")
    ap.add_argument("--strict", action="store_true", help="refuse to start when any export is refused")
    ap.add_argument("--accelerator", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    ap.add_argument("--log-level", default="warning")
    ap.add_argument(TRUST_FLAG, action="store_true", help="allow a backbone's own code (trust_remote_code)")
    return ap


@command("ptune-exp-serve")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    for flag in ("max_batch", "max_rows", "max_inputs", "max_input_chars"):
        if getattr(args, flag) < 1:
            raise PtuneError(f"--{flag.replace('_', '-')} must be >= 1")
    if args.batch_timeout < 0:
        raise PtuneError("--batch-timeout must be >= 0 seconds")
    if args.max_request_bytes < 0 or args.shutdown_timeout < 0:
        raise PtuneError("--max-request-bytes and --shutdown-timeout must be >= 0 (0 bytes: the default)")
    serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
