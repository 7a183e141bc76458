"""How long a one-input request waits while the largest request `ptune-exp-serve` accepts is in flight.

    python scripts/serve_wait.py EXPORT_DIR [--rounds 3] [SERVER FLAGS ...]

Starts `ptune-exp-serve EXPORT_DIR` on a free port of 127.0.0.1 (a classification export: one field per
input), then, `--rounds` times: the largest request alone (--max-inputs inputs of --max-input-chars
characters each, the default limits unless given), a one-input request alone, and the one-input request sent
0.2 s after the largest one. Prints each latency; the small request's wait should stay within the large
one's own time. A measurement, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ptune_exp.serve.limits import DEFAULT_CHARS


def post(port: int, body: bytes) -> float:
    start = time.perf_counter()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", data=body)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
    return time.perf_counter() - start


def start(export: str, flags: list[str]) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "ptune_exp.serve.server", f"sentiment={export}", "--port", str(port), *flags]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--inputs", type=int, default=256)
    ap.add_argument("--chars", type=int, default=DEFAULT_CHARS)
    args, flags = ap.parse_known_args()
    words = ("the movie was great but the soup was awful " * (args.chars // 40 + 1))[: args.chars]
    large = json.dumps({"task": "sentiment", "inputs": [{"sentence": words}] * args.inputs}).encode()
    small = json.dumps({"task": "sentiment", "inputs": [{"sentence": "fine"}]}).encode()
    proc, port = start(args.export, flags)
    print(f"large request: {args.inputs} inputs of {args.chars} characters, {len(large)} bytes")
    try:
        post(port, small)
        for i in range(args.rounds):
            alone, small_alone = post(port, large), post(port, small)
            with ThreadPoolExecutor(2) as pool:
                big = pool.submit(post, port, large)
                time.sleep(0.2)
                waited = pool.submit(post, port, small).result()
                together = big.result()
            print(
                f"round {i}: large alone {alone:.2f} s, small alone {small_alone:.3f} s; "
                f"small sent 0.2 s after large: {waited:.2f} s (large then {together:.2f} s)"
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
