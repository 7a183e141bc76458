"""`ptune-exp-bench --settings`: every case at several settings (eager/compiled x fp32/bf16), the best
setting of each method next to the reference (first) setting, and the compiled-vs-eager loss check.

A compiled case's loss is compared with the same model's eager loss on the same batch (eval mode, so no
dropout draws differ; `torch.compiler.set_stance("force_eager")` runs the compiled layers eagerly).
The gap must stay within `TOLERANCE` (inductor reorders floating-point sums; bf16 keeps 8 bits of
mantissa), else the row is flagged.
"""

from __future__ import annotations

import argparse

import torch

SETTINGS = ("eager-fp32", "compiled-fp32", "eager-bf16", "compiled-bf16")
TOLERANCE = {"fp32": 1e-3, "bf16": 3e-2}  # absolute loss gap, compiled vs eager, same batch


def setting_name(args) -> str:
    return f"{'compiled' if args.compile else 'eager'}-{args.precision}"


def for_setting(args, name: str) -> argparse.Namespace:
    """`args` with one setting's compile flag, precision and frozen-backbone dtype."""
    if name not in SETTINGS:
        raise SystemExit(f"--settings: {name!r} is not one of {', '.join(SETTINGS)}")
    mode, precision = name.split("-")
    frozen = args.frozen_dtype if args.frozen_dtype_given else precision
    return argparse.Namespace(
        **{**vars(args), "compile": mode == "compiled", "precision": precision, "frozen_dtype": frozen}
    )


@torch.inference_mode()
def loss_gap(model, batch: dict, amp) -> float:
    """|compiled loss - eager loss| of `model` (its layers compiled) on `batch`, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with amp:
            compiled = model(**batch)["loss"].float().item()
            with torch.compiler.set_stance("force_eager"):
                eager = model(**batch)["loss"].float().item()
    finally:
        model.train(was_training)
    return abs(compiled - eager)


def _ms(value: float | None, per: float | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if per is None else (f"{value / per:.2f}" if per else "–")


def _gap(r: dict) -> str:
    if r.get("loss_gap") is None:
        return "–"
    ok = r["loss_gap"] <= TOLERANCE[r["setting"].split("-")[1]]
    return f"{r['loss_gap']:.1e} {'ok' if ok else 'TOO LARGE'}"


def best_table(results: list[dict], floors: dict[str, float]) -> str:
    """Each (method, prefix) at its fastest setting, with ratios to fft at the reference and best settings."""
    reference = results[0]["setting"]
    best: dict[tuple, dict] = {}
    for r in results:
        key = (r["method"], r["prefix_len"])
        if key not in best or r["train_ms"] < best[key]["train_ms"]:
            best[key] = r
    fft_ref = next((r for r in results if r["method"] == "fft" and r["setting"] == reference), None)
    fft_best = best.get(("fft", 0))
    lines = [
        f"| method | prefix | best setting | train ms/step | × fft ({reference}) | × fft (best) | peak GiB "
        "| × fft peak (best) | compile s | loss gap compiled vs eager |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratio = lambda a, b: f"{a / b:.2f}" if a is not None and b else "–"
    for r in best.values():
        peak = f"{r['peak_gib']:.2f}" if r["peak_gib"] is not None else "–"
        compile_s = f"{r['compile_s']:.1f}" if r.get("compile_s") is not None else "–"
        lines.append(
            f"| {r['method']} | {r['prefix_len'] or '–'} | {r['setting']} | {r['train_ms']:.1f} | "
            f"{ratio(r['train_ms'], fft_ref and fft_ref['train_ms'])} | "
            f"{ratio(r['train_ms'], fft_best and fft_best['train_ms'])} | "
            f"{peak} | {ratio(r['peak_gib'], fft_best and fft_best['peak_gib'])} | {compile_s} | {_gap(r)} |"
        )
    if floors:
        name = min(floors, key=floors.get)
        lines.append(
            "\nfrozen-backbone floor per setting (ms/step): " + ", ".join(f"{k} {v:.1f}" for k, v in floors.items())
        )
        lines.append(f"best floor: {floors[name]:.1f} ms ({name})")
    return "\n".join(lines)


def table(results: list[dict], plain_ms: float) -> str:
    fft = next((r for r in results if r["method"] == "fft"), None)
    lines = [
        "| method | prefix | train ms/step | × fft | peak GiB | × fft | eval ms | × plain fwd | trainable "
        "| % of total |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = lambda key, r=r: f"{r[key] / fft[key]:.2f}" if fft and fft[key] and r[key] is not None else "–"
        peak = f"{r['peak_gib']:.2f}" if r["peak_gib"] is not None else "–"
        lines.append(
            f"| {r['method']} | {r['prefix_len'] or '–'} | {r['train_ms']:.1f} | {ratio('train_ms')} | {peak} | "
            f"{ratio('peak_gib')} | {_ms(r['eval_ms'])} | {_ms(r['eval_ms'], plain_ms)} | {r['trainable']:,} | "
            f"{100 * r['trainable'] / r['total']:.3f} |"
        )
    return "\n".join(lines)
