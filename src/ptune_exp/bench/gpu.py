"""`make bench-gpu`: the one-shot GPU matrix, eager and compiled, into a JSON file and a markdown table.

    python -m ptune_exp.bench.gpu --out outputs/bench_gpu             # on a GPU box (what make bench-gpu runs)
    python -m ptune_exp.bench.gpu --shape tiny --device cpu --out DIR  # a dry run of the same code on a CPU

The matrix: roberta-large's shape with random weights (no download), batch x tokens 32x128 and 64x256,
prefix 16 and 128, methods fft/pt/prefix/ptv2 and the frozen-backbone floor, each eager and compiled,
bf16 autocast with the frozen backbone in bf16 (fp32 on a CPU). Needs torch and transformers only.
Cases run cheapest first; once `--max-minutes` have passed no new case starts, and the rest are listed
as skipped in both outputs (so the command always ends in time; a skipped case is never a measured one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from ptune_exp.bench.cli import floor_ms, measure, parse_args
from ptune_exp.model import compile as compiling

MATRIX = {  # shape -> (model, [(batch, tokens)], prefix lengths)
    "roberta-large": ("roberta-large-shape", [(32, 128), (64, 256)], [16, 128]),
    "tiny": ("tiny-shape", [(2, 16)], [2]),  # the dry run: one size, one prefix length exercise every code path
}
METHODS = ("fft", "pt", "prefix", "ptv2", "floor")


def cases(shape: str) -> list[dict]:
    _, sizes, prefixes = MATRIX[shape]
    out = []
    for batch, seq in sizes:
        for method in METHODS:
            for n in [0] if method in ("fft", "floor") else prefixes:
                for compiled in (False, True):
                    out.append({"batch": batch, "seq": seq, "method": method, "prefix_len": n, "compiled": compiled})
    return out


def run_case(case: dict, opts, device) -> dict:
    precision = "bf16" if device.type == "cuda" else "fp32"
    argv = ["--model", MATRIX[opts.shape][0], "--batch", str(case["batch"]), "--seq", str(case["seq"])]
    argv += ["--precision", precision, "--steps", str(opts.steps), "--warmup", str(opts.warmup), "--no-eval"]
    args = parse_args(argv + (["--compile"] if case["compiled"] else []))
    if case["method"] == "floor":
        return {**case, "train_ms": floor_ms(args, device), "peak_gib": None, "compile_s": None, "loss_gap": None}
    r = measure(args, case["method"], case["prefix_len"], device)
    keep = ("train_ms", "peak_gib", "compile_s", "loss_gap", "trainable", "total")
    return {**case, **{k: r[k] for k in keep}}


def _cell(r: dict, key: str, spec: str = "{:.1f}") -> str:
    if r.get(key) is not None:
        return spec.format(r[key])
    return "skipped" if r.get("skipped") else "–"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def markdown(rows: list[dict], header: str) -> str:
    """One line per (size, method, prefix): eager and compiled side by side, ratios to eager fft."""
    pairs: dict[tuple, dict] = {}
    for r in rows:
        pairs.setdefault((r["batch"], r["seq"], r["method"], r["prefix_len"]), {})[r["compiled"]] = r
    lines = [
        header,
        "",
        "| batch x tokens | method | prefix | eager ms/step | compiled ms/step | compile s | eager × fft "
        "| best × fft | peak GiB eager / compiled | loss gap compiled vs eager |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (batch, seq, method, n), pair in pairs.items():
        eager, comp = pair.get(False, {}), pair.get(True, {})
        fft = pairs.get((batch, seq, "fft", 0), {}).get(False, {}).get("train_ms")
        best = min((r["train_ms"] for r in pair.values() if r.get("train_ms") is not None), default=None)
        peaks = f"{_cell(eager, 'peak_gib', '{:.2f}')} / {_cell(comp, 'peak_gib', '{:.2f}')}"
        cells = [f"{batch}x{seq}", method, str(n or "–"), _cell(eager, "train_ms"), _cell(comp, "train_ms")]
        cells += [_cell(comp, "compile_s"), _ratio(eager.get("train_ms"), fft), _ratio(best, fft), peaks]
        lines.append("| " + " | ".join([*cells, _cell(comp, "loss_gap", "{:.1e}")]) + " |")
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m ptune_exp.bench.gpu", description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(MATRIX), default="roberta-large")
    ap.add_argument("--device", choices=["cuda", "cpu"], default=None, help="default: cuda when available")
    ap.add_argument("--out", default="outputs/bench_gpu", help="folder for bench_gpu.json and bench_gpu.md")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--max-minutes", type=float, default=7.5, help="start no case after this many minutes")
    ap.add_argument("--backend", default=None, help="torch.compile backend (default inductor; tests: aot_eager)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    opts = parse(argv)
    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    compiling.BACKEND = opts.backend or compiling.BACKEND
    torch._dynamo.config.automatic_dynamic_shapes = False  # one static graph per size: fair step times
    torch._dynamo.config.recompile_limit = 256  # every case's graphs stay cached in this one process
    start, rows = time.perf_counter(), []
    for case in cases(opts.shape):
        if time.perf_counter() - start > 60 * opts.max_minutes:
            rows.append({**case, "skipped": True})
            continue
        rows.append(run_case(case, opts, device))
        print(f"  {case} -> {rows[-1]['train_ms']:.1f} ms", file=sys.stderr, flush=True)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    header = (
        f"{MATRIX[opts.shape][0]} (random weights) on {where}, {'bf16' if device.type == 'cuda' else 'fp32'}, "
        f"median of {opts.steps} steps after {opts.warmup} warm-up; whole matrix {time.perf_counter() - start:.0f} s; "
        f"torch {torch.__version__}; {sum('skipped' in r for r in rows)} cases skipped (time limit)"
    )
    table = markdown(rows, header)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "bench_gpu.json"), "w") as f:
        json.dump({"header": header, "options": vars(opts), "rows": rows}, f, indent=2)
    with open(os.path.join(opts.out, "bench_gpu.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
