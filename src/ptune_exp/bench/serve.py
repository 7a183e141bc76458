"""The serving benchmark (`make bench-serve`): K exported prompts on one backbone, a stream of requests spread
over the K tasks, mixed batching against one batch per task.

    python -m ptune_exp.bench.serve --k 1,4,16 --model minilm --requests 256 --inputs 1 --batch 16 --json out.json

Exports: one `ptv2` run on an RTE-like pair task (SuperGLUE jsonl written here; 2 training steps: speed
does not depend on training), exported, then copied into K exports with their own random prompts and
heads, prefix lengths alternating 16 and 8 (rows of different prefix lengths meet in one batch).

Throughput and latency: what the server's worker does for a batch, in this process (no HTTP): LitServe
hands `predict` full batches of `--batch` requests when `--batch` clients keep one request each in
flight, so every request waits for its batch: its latency is the batch's time (reading and tokenizing
each request, the forwards, the predictions). `mixed`: one forward for all rows of the batch;
`per-task`: one forward per task in the batch, through the same backbone. A request carries `--inputs`
inputs; `reading` is the share of the time spent reading and tokenizing requests, the same work in
both modes (each request is read by its family's reader and tokenized by its family's `tokenize`, into
in-memory `Columns`: about 2 ms a one-input request on all-MiniLM-L6-v2).

Memory: resident set size (RSS) of a fresh process that loads the backbone with K prompts (the
registry, as `ptune-exp-serve` does), against one that loads whole models the way `ptune-exp-predict`
does, one per export (measured for up to 4 copies; the per-copy cost is the mean increment).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

WORDS = "the a man woman child dog cat city team company film book".split()
VERBS = "saw liked visited bought read watched praised left".split()


def pairs(n: int, seed: int) -> list[dict]:
    """Short RTE-like premise/hypothesis pairs (about 12-20 tokens together)."""
    rng = random.Random(seed)
    sentence = lambda: f"the {rng.choice(WORDS)} {rng.choice(VERBS)} the {rng.choice(WORDS)} {rng.choice(WORDS)}"
    return [{"premise": f"{sentence()} yesterday", "hypothesis": sentence()} for _ in range(n)]


def make_exports(root: str, k: int, model: str) -> list[str]:
    """One 2-step ptv2 run on the pair task, exported, and K exports derived from it (module docstring)."""
    from ptune_exp import api

    data = os.path.join(root, "rte")
    os.makedirs(data, exist_ok=True)
    for name in ("train.jsonl", "val.jsonl"):
        with open(os.path.join(data, name), "w", encoding="utf-8") as f:
            for i, row in enumerate(pairs(32, 0)):
                f.write(json.dumps({**row, "idx": i, "label": ["entailment", "not_entailment"][i % 2]}) + "\n")
    overrides = [f"model={model}", "method=ptv2", "method.prefix_len=16", "task=rte", "task.source=superglue"]
    overrides += [f"task.data_dir={data}", "task.max_seq_len=64", "train.max_steps=2", "train.batch_size=8"]
    overrides += ["task.max_eval_samples=8", "train.progress=false"]
    record = api.run_experiment(*overrides, output_dir=os.path.join(root, "run"))
    base = api.export(record["output_dir"], os.path.join(root, "base"))
    return [derive(base, os.path.join(root, f"task{i:02d}"), i, 16 if i % 2 == 0 else 8) for i in range(k)]


def derive(base: str, out: str, seed: int, prefix_len: int) -> str:
    """A copy of export `base` with its own random prompt (`prefix_len` rows) and head."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from ptune_exp.storage.weights import sha256_file

    shutil.copytree(base, out, dirs_exist_ok=True)
    state = load_file(os.path.join(base, "weights.safetensors"))
    generator = torch.Generator().manual_seed(seed)
    noise = lambda t: torch.randn(t.shape, generator=generator) * (float(t.std()) or 0.02)
    state = {k: noise(v[:prefix_len] if k.endswith("encoder.rows") else v) for k, v in state.items()}
    save_file(state, os.path.join(out, "weights.safetensors"), metadata={"format": "ptune-exp-export/1"})
    with open(os.path.join(out, "export.json"), encoding="utf-8") as f:
        meta = json.load(f)
    meta["method_config"]["prefix_len"] = prefix_len
    meta["weights_sha256"] = sha256_file(os.path.join(out, "weights.safetensors"))
    with open(os.path.join(out, "export.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    return out


def stream(names: list[str], n: int, seed: int = 1, inputs: int = 1) -> list[tuple[str, list[dict]]]:
    """`n` requests of `inputs` inputs each, each request for a task drawn uniformly from `names`."""
    rng, rows = random.Random(seed), pairs(n * inputs, seed)
    return [(rng.choice(names), rows[i * inputs : (i + 1) * inputs]) for i in range(n)]


def time_mode(registry, requests: list, batch: int, mixed: bool, max_rows: int) -> dict:
    """examples/s and p50/p95 latency (ms) of full batches of `batch` requests (module docstring), and the
    share of the time spent reading and tokenizing the requests (the same work in both modes)."""
    from ptune_exp.serve.batch import answers, job_from_list, run_jobs

    reading = [0.0]

    def one(chunk):
        began = time.perf_counter()
        jobs = [job_from_list(registry.tasks[name], xs) for name, xs in chunk]
        reading[0] += time.perf_counter() - began
        run_jobs(registry, jobs, max_rows, mixed)
        return [answers(job) for job in jobs]

    one(requests[:batch])  # warm-up
    latencies, reading[0], start = [], 0.0, time.perf_counter()
    for i in range(0, len(requests), batch):
        began = time.perf_counter()
        one(requests[i : i + batch])
        latencies += [time.perf_counter() - began] * len(requests[i : i + batch])
    total = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=20)
    examples = sum(len(xs) for _, xs in requests)
    return {
        "examples_per_s": examples / total,
        "p50_ms": 1e3 * cuts[9],
        "p95_ms": 1e3 * cuts[18],
        "reading_share": round(reading[0] / total, 3),
    }


def rss_of(kind: str, exports: list[str]) -> float:
    """RSS (MiB) of a fresh process after loading `exports` as a registry (`prompts`) or as whole models."""
    code = "import sys; from ptune_exp.bench.serve import probe; print(probe(sys.argv[1], sys.argv[2:]))"
    out = subprocess.run([sys.executable, "-c", code, kind, *exports], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def probe(kind: str, exports: list[str]) -> float:
    import gc

    if kind == "prompts":
        from ptune_exp.serve.registry import load_registry

        held = load_registry(exports)
    else:
        from ptune_exp.artifacts.export_reader import load_export

        held = [load_export(path) for path in exports]
    gc.collect()
    assert held
    return current_rss_mib()


def current_rss_mib() -> float:
    """This process's resident set size now (Linux /proc; elsewhere its peak, from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(exports: list[str], k: int) -> dict:
    prompts_1, prompts_k = rss_of("prompts", exports[:1]), rss_of("prompts", exports[:k])
    copies = [rss_of("models", exports[:c]) for c in (1, min(k, 4))]
    per_copy = (copies[1] - copies[0]) / max(min(k, 4) - 1, 1) if k > 1 else copies[0]
    return {
        "rss_mib_1_prompt": round(prompts_1, 1),
        "rss_mib_k_prompts": round(prompts_k, 1),
        "prompts_add_pct": round(100 * (prompts_k - prompts_1) / prompts_1, 2),
        "rss_mib_k_models": round(copies[0] + per_copy * (k - 1), 1),
        "rss_mib_per_model_copy": round(per_copy, 1),
    }


def run(args) -> dict:
    """Every K: both modes' speed on the same request stream, then the memory of K prompts and K models."""
    from datasets.utils.logging import disable_progress_bar

    from ptune_exp.serve.registry import load_registry

    disable_progress_bar()
    ks = sorted(int(k) for k in args.k.split(","))
    exports = make_exports(args.workdir, max(ks), args.model)
    rows = []
    for k in ks:
        registry = load_registry(exports[:k])
        requests = stream(sorted(registry.tasks), args.requests, inputs=args.inputs)
        speed = {mixed: time_mode(registry, requests, args.batch, mixed, args.max_rows) for mixed in (True, False)}
        del registry
        held = memory(exports, k) if k == max(ks) else None  # fresh processes: measured once, for the largest K
        rows.append({"k": k, "mixed": speed[True], "per_task": speed[False], "memory": held})
        print(table_row(rows[-1]), flush=True)
    facts = {"model": args.model, "batch": args.batch, "requests": args.requests, "inputs": args.inputs}
    return {**facts, "machine": machine(), "rows": rows}


def machine() -> dict:
    import torch

    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform()}


HEADER = (
    "| K | mixed ex/s | per-task ex/s | × | mixed p50 / p95 ms | per-task p50 / p95 ms | reading (mixed) "
    "| RSS 1 prompt | RSS K prompts (+%) | RSS K models |\n|---|---|---|---|---|---|---|---|---|---|"
)


def table_row(row: dict) -> str:
    m, t, mem = row["mixed"], row["per_task"], row["memory"]
    held = "| | | |"
    if mem:
        held = (
            f"| {mem['rss_mib_1_prompt']:.0f} MiB | {mem['rss_mib_k_prompts']:.0f} MiB "
            f"(+{mem['prompts_add_pct']:.1f}%) | {mem['rss_mib_k_models']:.0f} MiB |"
        )
    return (
        f"| {row['k']} | {m['examples_per_s']:.1f} | {t['examples_per_s']:.1f} "
        f"| {m['examples_per_s'] / t['examples_per_s']:.2f} | {m['p50_ms']:.0f} / {m['p95_ms']:.0f} "
        f"| {t['p50_ms']:.0f} / {t['p95_ms']:.0f} | {100 * m['reading_share']:.0f}% {held}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ptune_exp.bench.serve", description=__doc__.splitlines()[0])
    ap.add_argument("--k", default="1,4,16", help="numbers of exported prompts (default 1,4,16)")
    ap.add_argument("--model", default="minilm", help="a conf/model name (default minilm)")
    ap.add_argument("--requests", type=int, default=256, help="requests per case (default 256)")
    ap.add_argument("--inputs", type=int, default=1, help="inputs per request (default 1)")
    ap.add_argument("--batch", type=int, default=16, help="requests per batch (LitServe's max_batch_size)")
    ap.add_argument("--max-rows", type=int, default=64, help="rows per forward at most (default 64)")
    ap.add_argument("--workdir", help="where the exports go (default: a temporary folder)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ptune-exp-bench-serve-") as scratch:
        args.workdir = args.workdir or scratch
        print(HEADER, flush=True)
        result = run(args)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
