"""Figures for `ptune-exp-compare --plot DIR` (matplotlib, written as PNG)."""

from __future__ import annotations

import hashlib
import os
import re

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ptune_exp.compare.formats import SHORT, trainable_pct_text
from ptune_exp.compare.table import Row, Table
from ptune_exp.storage.files import atomic_path


def _save(fig, ax, path: str) -> None:
    """A line figure's shared finish: light grid, legend, written as PNG at 120 dpi, closed."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _write(fig, path)


def _write(fig, path: str) -> None:
    """The figure as PNG at 120 dpi, written atomically (storage/files.py), then closed."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)


def _curves(table: Table, task: str) -> dict[str, list[tuple[int, float, float]]]:
    """label -> [(prefix_len, mean, std)] for rows that differ only in prefix_len."""
    curves: dict[str, list[tuple[int, float, float]]] = {}
    for row in table.rows:
        variant = dict(row.variant)
        if "prefix_len" not in variant or task not in row.cells:
            continue
        rest = ", ".join(f"{k}={v}" for k, v in variant.items() if k != "prefix_len")
        label = row.method_label + (f" [{rest}]" if rest else "")
        stat = row.cells[task][table.main[task]]
        curves.setdefault(label, []).append((variant["prefix_len"], stat.mean, stat.std))
    return {k: sorted(v) for k, v in curves.items() if len(v) > 1}


def prefix_length_plot(table: Table, task: str, path: str) -> bool:
    curves = _curves(table, task)
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, points in curves.items():
        xs, ys, es = zip(*points)
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=label)
    ax.set_xscale("log", base=2)
    fixed = [r for r in table.rows if "prefix_len" not in dict(r.variant) and task in r.cells]
    for row in fixed:  # e.g. fine-tuning: no prompt length, drawn as a level line
        level = row.cells[task][table.main[task]].mean
        ax.axhline(level, linestyle="--", linewidth=1, color="gray")
        ax.text(0.01, level, f" {row.label}", transform=ax.get_yaxis_transform(), fontsize=8, color="gray", va="bottom")
    ax.set_xlabel("prefix length (virtual tokens)")
    ax.set_ylabel(f"{task} {SHORT.get(table.main[task], table.main[task])} [{table.splits[task]}], mean ± std")
    ax.set_title(f"{table.model}: {task} vs prefix length")
    _save(fig, ax, path)
    return True


def methods_plot(table: Table, path: str) -> bool:
    rows: list[Row] = [r for r in table.rows if r.cells]
    if not rows:
        return False
    n, width = len(rows), 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(6.4, 1.6 * len(table.tasks) + 2), 4.4))
    for i, row in enumerate(rows):
        xs, ys, es = [], [], []
        for j, task in enumerate(table.tasks):
            if task in row.cells:
                stat = row.cells[task][table.main[task]]
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(stat.mean)
                es.append(stat.std)
        ax.bar(xs, ys, width, yerr=es, capsize=2, label=f"{row.label} ({trainable_pct_text(row)}% trained)")
    ax.set_xticks(range(len(table.tasks)))
    ax.set_xticklabels([f"{t}\n{SHORT.get(table.main[t], table.main[t])} [{table.splits[t]}]" for t in table.tasks])
    ax.set_ylabel("score (mean ± std over seeds)")
    ax.set_title(f"{table.model}: methods per task")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _write(fig, path)
    return n > 0


def _dev_curve(row: Row, task: str, metric: str) -> list[tuple[int, float, float]]:
    """[(step, mean, std)] of the dev main metric at each evaluation, over the row's seeds on `task`."""
    at: dict[int, list[float]] = {}
    for record in (r for r in row.records if r["task"] == task):
        for point in record.get("curve") or []:
            if metric in (point.get("dev") or {}):
                at.setdefault(point["step"], []).append(point["dev"][metric])
    return [
        (step, float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) for step, v in sorted(at.items())
    ]


def learning_curve_plot(table: Table, task: str, path: str) -> bool:
    """Dev main metric against training steps, one line per row (mean over seeds, ± std band)."""
    metric = table.main[task]
    curves = {row.label: c for row in table.rows if len(c := _dev_curve(row, task, metric)) > 1}
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, points in curves.items():
        xs, ys, es = (np.array(v) for v in zip(*points))
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
        ax.fill_between(xs, ys - es, ys + es, alpha=0.15)
    ax.set_xlabel("training steps")
    ax.set_ylabel(f"{task} dev {SHORT.get(metric, metric)}, mean ± std over seeds")
    ax.set_title(f"{table.model}: {task}, dev score while training")
    _save(fig, ax, path)
    return True


def file_name(stem: str) -> str:
    """`stem`.png as one safe file name: a model or task name from a record may hold `/`, `..` or spaces
    (records can come from anywhere); such a name is spelled with `_` and a short hash keeps it unique."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", stem).lstrip(".")[:150] or "_"
    if safe != stem:
        safe += "-" + hashlib.sha1(stem.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{safe}.png"


def plot_all(tables: list[Table], out_dir: str) -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for table in tables:
        path = os.path.join(out_dir, file_name(f"methods_{table.model}"))
        if methods_plot(table, path):
            written.append(path)
        for task in table.tasks:
            path = os.path.join(out_dir, file_name(f"prefix_len_{table.model}_{task}"))
            if prefix_length_plot(table, task, path):
                written.append(path)
            path = os.path.join(out_dir, file_name(f"learning_curve_{table.model}_{task}"))
            if task not in table.task_of and learning_curve_plot(table, task, path):
                written.append(path)
    return written
