"""Figures for `ptune-exp-compare --plot DIR` (matplotlib, written as PNG): per backbone, the methods'
scores per task (bars); per task, the score against what it cost (trainable %, peak memory, step time;
Pareto front drawn), the dev score while training (learning curves) and the score against the prefix
length. Every row keeps one colour and marker in all of them (`style`); legends sit outside the axes."""

from __future__ import annotations

import hashlib
import math
import os
import re
from functools import partial

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ptune_exp.compare.formats import SHORT, trainable_pct_text
from ptune_exp.compare.style import Style, styles
from ptune_exp.compare.table import Row, Table
from ptune_exp.storage.files import atomic_path

LEGEND = {"fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}


def _save(fig, path: str) -> None:
    """Written as PNG at 120 dpi, cropped to what is drawn (the legend outside the axes included), atomically
    (storage/files.py), then closed."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)


def _metric_label(table: Table, task: str) -> str:
    return f"{task} {SHORT.get(table.main[task], table.main[task])} [{table.splits[task]}]"


# ------------------------------------------------------------------ prefix length


def _prefix_lens(row: Row, task: str) -> set:
    return {(r.get("method_config") or {}).get("prefix_len") or 0 for r in row.records if r["task"] == task}


def _curves(table: Table, task: str) -> dict[str, tuple[Style, list[tuple[int, float, float]]]]:
    """label -> (style, [(prefix_len, mean, std)]): rows that differ only in prefix_len make one curve (in
    the style of its first row); a prompted row with one prefix length, a curve of one point."""
    curves: dict[str, tuple[Style, list]] = {}
    for row, style in zip(table.rows, styles(table)):
        variant, lens = dict(row.variant), _prefix_lens(row, task)
        if task not in row.cells or ("prefix_len" not in variant and (len(lens) != 1 or not min(lens))):
            continue
        rest = ", ".join(f"{k}={v}" for k, v in variant.items() if k != "prefix_len")
        label = row.method_label + (f" [{rest}]" if rest else "")
        stat = row.cells[task][table.main[task]]
        curves.setdefault(label, (style, []))[1].append((variant.get("prefix_len", min(lens)), stat.mean, stat.std))
    return {k: (style, sorted(v)) for k, (style, v) in curves.items()}


def _levels(ax, table: Table, task: str) -> None:
    """Rows without a prompt (fine-tuning, LoRA): a level line each, in the row's colour."""
    for row, style in zip(table.rows, styles(table)):
        if task in row.cells and "prefix_len" not in dict(row.variant) and not any(_prefix_lens(row, task)):
            level, dashes = row.cells[task][table.main[task]].mean, style.linestyle if style.linestyle != "-" else "-."
            ax.axhline(level, linestyle=dashes, linewidth=1.2, color=style.colour, label=f"{row.label} (no prompt)")


def prefix_length_plot(table: Table, task: str, path: str) -> bool:
    curves = _curves(table, task)
    if not any(len(points) > 1 for _, points in curves.values()):
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, (style, points) in curves.items():
        xs, ys, es = zip(*points)
        ax.errorbar(xs, ys, yerr=es, marker=style.marker, color=style.colour, capsize=3, label=label)
    ax.set_xscale("log", base=2)
    _levels(ax, table, task)
    ax.set_xlabel("prefix length (virtual tokens)")
    ax.set_ylabel(f"{_metric_label(table, task)}, mean ± std")
    ax.set_title(f"{table.model}: {task} vs prefix length")
    ax.grid(alpha=0.3)
    ax.legend(**LEGEND)
    _save(fig, path)
    return True


# ------------------------------------------------------------------ methods


def methods_plot(table: Table, path: str) -> bool:
    drawn = [(r, s) for r, s in zip(table.rows, styles(table)) if r.cells]
    if not drawn:
        return False
    width = 0.8 / len(drawn)
    fig, ax = plt.subplots(figsize=(max(6.4, 1.6 * len(table.tasks) + 2), 4.4))
    for i, (row, style) in enumerate(drawn):
        xs, ys, es = [], [], []
        for j, task in enumerate(table.tasks):
            if task in row.cells:
                stat = row.cells[task][table.main[task]]
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(stat.mean)
                es.append(stat.std)
        label = f"{row.label} ({trainable_pct_text(row)}% trained)"
        ax.bar(xs, ys, width, yerr=es, capsize=2, color=style.colour, hatch=style.hatch, edgecolor="white", label=label)
    ax.set_xticks(range(len(table.tasks)))
    ax.set_xticklabels([_metric_label(table, t).replace(" ", "\n", 1) for t in table.tasks])
    ax.set_ylabel("score (mean ± std over seeds)")
    ax.set_title(f"{table.model}: methods per task")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(**LEGEND)
    _save(fig, path)
    return True


# ------------------------------------------------------------------ learning curves


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
    curves = [(r, s, c) for r, s in zip(table.rows, styles(table)) if len(c := _dev_curve(r, task, metric)) > 1]
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row, style, points in curves:
        xs, ys, es = (np.array(v) for v in zip(*points))
        ax.plot(xs, ys, marker=style.marker, markersize=4, color=style.colour, ls=style.linestyle, label=row.label)
        ax.fill_between(xs, ys - es, ys + es, color=style.colour, alpha=0.15)
    ax.set_xlabel("training steps")
    ax.set_ylabel(f"{task} dev {SHORT.get(metric, metric)}, mean ± std over seeds")
    ax.set_title(f"{table.model}: {task}, dev score while training")
    ax.grid(alpha=0.3)
    ax.legend(**LEGEND)
    _save(fig, path)
    return True


# ------------------------------------------------------------------ score against cost

# x axes of the score-vs-cost figure: (title, how to read a record's value); cost fields only where recorded
COSTS = [
    ("trainable parameters, %", lambda r: r["params"]["trainable_pct"]),
    ("peak memory, MB", lambda r: (r.get("cost") or {}).get("peak_memory_mb")),
    ("training step time, s", lambda r: (r.get("cost") or {}).get("step_time_s")),
]


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, score) points no other point beats (cost no higher, score no lower, one of
    them strictly), in order of cost: the best score each cost buys."""
    beats = lambda q, p: q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1])
    front = [i for i, p in enumerate(points) if not any(beats(q, p) for q in points)]
    return sorted(front, key=lambda i: points[i])


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def cost_points(table: Table, task: str, read) -> list[tuple[Row, Style, float, float, float]]:
    """(row, style, cost, mean score, std) of each row with the task and the cost in its records there
    (the cost: the mean over the task's runs that recorded it)."""
    out = []
    for row, style in zip(table.rows, styles(table)):
        values = [read(r) for r in row.records if r["task"] == task]
        values = [v for v in values if _finite(v)]
        if task in row.cells and values:
            stat = row.cells[task][table.main[task]]
            out.append((row, style, float(np.mean(values)), stat.mean, stat.std))
    return out


def _kinds(table: Table, task: str, key: str) -> list[str]:
    """The distinct values of a text cost field (`device`, `memory_kind`) among the task's runs."""
    found = {(r.get("cost") or {}).get(key) for row in table.rows for r in row.records if r["task"] == task}
    return sorted(str(k) for k in found if k)


def _cost_panel(ax, points: list, title: str, log: bool) -> None:
    for row, style, x, y, e in points:
        ax.errorbar(
            [x], [y], yerr=[e], marker=style.marker, color=style.colour, ms=7, capsize=2, ls="", label=row.label
        )
    front = pareto_front([(x, y) for _, _, x, y, _ in points])
    xs, ys = [points[i][2] for i in front], [points[i][3] for i in front]
    ax.plot(xs, ys, drawstyle="steps-post", color="black", lw=1, ls="--", alpha=0.6, label="Pareto front")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(title)
    ax.grid(alpha=0.3)


def cost_plot(table: Table, task: str, path: str) -> bool:
    """The task's main metric against each cost its runs recorded, one panel per cost, the front drawn."""
    panels = [(title, pts) for title, read in COSTS if (pts := cost_points(table, task, read))]
    if not panels or max(len(pts) for _, pts in panels) < 2:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), sharey=True, squeeze=False)
    memory = ", ".join(_kinds(table, task, "memory_kind"))
    for ax, (title, pts) in zip(axes[0], panels):
        _cost_panel(ax, pts, f"{title} ({memory})" if "memory" in title and memory else title, "trainable" in title)
    axes[0][0].set_ylabel(f"{_metric_label(table, task)}, mean ± std")
    devices = _kinds(table, task, "device")
    note = f"\nruns on different devices ({', '.join(devices)}): costs not comparable" if len(devices) > 1 else ""
    fig.suptitle(f"{table.model}: {task}, score against cost{note}", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.92))
    fig.tight_layout()
    _save(fig, path)
    return True


def file_name(stem: str) -> str:
    """`stem`.png as one safe file name: a model or task name from a record may hold `/`, `..` or spaces
    (records can come from anywhere); such a name is spelled with `_` and a short hash keeps it unique."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", stem).lstrip(".")[:150] or "_"
    if safe != stem:
        safe += "-" + hashlib.sha1(stem.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{safe}.png"


def _figures(table: Table) -> list[tuple[str, object]]:
    """(file name, draw(path) -> bool) of every figure of one table."""
    out = [(file_name(f"methods_{table.model}"), partial(methods_plot, table))]
    for task in table.tasks:
        kinds = [("prefix_len", prefix_length_plot)]
        if task not in table.task_of:  # an extra split (conll05_brown) has no curve or cost of its own
            kinds += [("learning_curve", learning_curve_plot), ("cost", cost_plot)]
        out += [(file_name(f"{kind}_{table.model}_{task}"), partial(draw, table, task)) for kind, draw in kinds]
    return out


def plot_all(tables: list[Table], out_dir: str) -> list[str]:
    """Every figure the tables allow, written into `out_dir`; returns their paths (in drawing order)."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for table in tables:
        for name, draw in _figures(table):
            if draw(path := os.path.join(out_dir, name)):
                written.append(path)
    return written
