"""The tables as text: markdown (printed), long-format CSV, JSON and LaTeX tabulars, and the cell
formatting they share with the plots (metric short names, the trainable-% text)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable

from ptune_exp.compare.table import OUTSIDE, Row, Stat, Table
from ptune_exp.storage import files

SHORT = {
    "accuracy": "acc",
    "f1": "F1",
    "exact_match": "EM",
    "mcc": "MCC",
    "pearson": "Pearson",
    "spearman": "Spearman",
    "macro_f1": "macro-F1",
    "f1a": "F1a",
}
CONCEPTS = ["trainable %", "budget", "tuned", "deep", "reparam", "multi-task", "no verbalizer", "families"]
FAILED_FIELDS = ("status", "method", "task", "model", "seed", "error", "record_path")
CSV_FIELDS = [
    "model",
    "row",
    "method",
    "reparam",
    "variant",
    "task",
    "split",
    "metric",
    "mean",
    "std",
    "n",
    "trainable_pct_min",
    "trainable_pct_max",
]
NOTE = (
    "Cells: mean ± std over seeds (n runs; one run shows its value alone); bold = best mean of the task's main metric; "
    "[split] = the split reported (test where labelled, else dev, where the dev score is also the selection split)."
)
OUTSIDE_NOTE = f"{OUTSIDE.strip()} = a reference method outside the P-Tuning v2 paper's comparison (LoRA, (IA)³)."

# ------------------------------------------------------------------ cells


def column_title(table: Table, task: str) -> str:
    return f"{task} {'/'.join(SHORT.get(m, m) for m in table.metrics[task])} [{table.splits[task]}]"


def stat_text(stat: Stat) -> str:
    """`mean ± std`; a single run has no spread to show, so just its value."""
    return f"{stat.mean:.1f} ± {stat.std:.1f}" if stat.n > 1 else f"{stat.mean:.1f}"


def format_cell(table: Table, row: Row, task: str, delta: bool, bold=("**", "**")) -> str:
    if task not in row.cells:
        return "–"
    cell = row.cells[task]
    text = " / ".join(stat_text(cell[m]) for m in table.metrics[task] if m in cell)
    text += f" (n={cell[table.main[task]].n})"
    main = cell[table.main[task]].mean
    if delta and (ft := table.fft_row(task)) is not None and row is not ft:
        text += f" Δ{main - ft.cells[task][table.main[task]].mean:+.1f}"
    if table.best(task) is not None and abs(main - table.best(task)) < 1e-9 and len(table.rows) > 1:
        text = f"{bold[0]}{text}{bold[1]}"
    return text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def trainable_pct_text(row: Row) -> str:
    """The trainable share of parameters in percent: one number, or the range where runs differ by > 1%."""
    lo, hi = row.trainable_pct
    return f"{lo:.3g}" if abs(hi - lo) <= 0.01 * max(hi, 1e-9) else f"{lo:.3g}–{hi:.3g}"


def budget_text(row: Row) -> str:
    """The training budgets of the row's runs: `10 ep`, `500 steps`, or several joined by `/`."""
    return "/".join(f"{n:g} steps" if unit == "steps" else f"{n:g} ep" for n, unit in row.budgets)


def concept_cells(row: Row) -> list[str]:
    return [
        trainable_pct_text(row),
        budget_text(row),
        row.tuned or "–",
        _yes(row.deep),
        row.encoder,
        row.multi_task,
        _yes(row.head != "verbalizer"),
        ", ".join(row.families),
    ]


def _reference_cells(table: Table, cells: dict) -> list[str]:
    out = []
    for t in table.tasks:
        scores = cells.get(t)
        out.append(" / ".join(f"{scores[m]:.1f}" for m in table.metrics[t] if m in scores) if scores else "–")
    return out


def _header(table: Table) -> list[str]:
    return ["method", *(column_title(table, t) for t in table.tasks), *CONCEPTS]


def _body(table: Table, task_cell: Callable[[Row, str], str], text: Callable[[str], str], ref: str) -> list[list[str]]:
    """The cells below the header: method rows, then reference rows labelled `ref`; `text` escapes plain cells."""
    rows = [
        [text(row.label), *(task_cell(row, t) for t in table.tasks), *(text(c) for c in concept_cells(row))]
        for row in table.rows
    ]
    for method, source, cells in table.references:
        label = ref.format(method=method, source=source)
        rows.append([text(label), *(text(c) for c in _reference_cells(table, cells)), *[""] * len(CONCEPTS)])
    return rows


# ------------------------------------------------------------------ markdown


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def md_text(text) -> str:
    """A name as one Markdown table cell: `|` escaped, line breaks (and other control characters) as spaces."""
    text = "".join(" " if c.isspace() or ord(c) < 32 or c == "\x7f" else c for c in str(text))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _markdown_table(table: Table, delta: bool) -> list[str]:
    header = [md_text(h) for h in _header(table)]
    body = _body(table, lambda row, t: format_cell(table, row, t, delta), md_text, "_ref: {method} ({source})_")
    lines = [f"### {md_text(table.model)}\n", _md_line(header), "|" + "---|" * len(header), *map(_md_line, body), ""]
    return lines + _chosen_lines(table)


def _chosen_lines(table: Table) -> list[str]:
    """Under a best-of-search table: the setting each row's cell was selected with, per task."""
    out = [
        f"- {md_text(row.method_label)}, {md_text(task)}: "
        + (md_text(", ".join(f"{k}={v}" for k, v in variant.items())) or "one setting")
        for row in table.rows
        for task, variant in row.chosen.items()
    ]
    return (["Selected on dev (best mean dev main metric over seeds):", *out, ""]) if out else []


def _failed_lines(failed: list[dict]) -> list[str]:
    out = ["\n### Failed or unfinished runs (not in the tables)\n"]
    out.append("| status | method | task | model | seed | error | record |")
    out.append("|---|---|---|---|---|---|---|")
    for r in failed:
        error = r.get("error") or ("still running, or killed without a trace" if r.get("status") == "running" else "")
        cells = [r.get(k, "?") for k in ("status", "method", "task", "model", "seed")]
        out.append(_md_line([md_text(c) for c in [*cells, str(error)[:160], r["record_path"]]]))
    return out


def markdown(tables: list[Table], failed: list[dict], delta: bool = False) -> str:
    out = [line for table in tables for line in _markdown_table(table, delta)]
    out.append(NOTE)
    if any(not row.in_paper for table in tables for row in table.rows):
        out.append(OUTSIDE_NOTE)
    if failed:
        out += _failed_lines(failed)
    return "\n".join(out) + "\n"


CONCEPT_HEADER = ["method", "families covered", "prompt", "reparameterisation", "multi-task", "no verbalizer", "head"]


def concepts_markdown(rows: list[Row]) -> str:
    """`--concepts`: the paper's Table 1 as the runs used each method (one row per method, head, encoder)."""
    lines = [_md_line(CONCEPT_HEADER), "|" + "---|" * len(CONCEPT_HEADER)]
    for row in rows:
        cells = [row.method_label, ", ".join(row.families), row.site, row.encoder, row.multi_task]
        lines.append(_md_line([*cells, _yes(row.head != "verbalizer"), row.head]))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ CSV and JSON


def long_rows(tables: list[Table]) -> list[dict]:
    """One line per (model, row, task, metric): the tidy form of every table."""
    out = []
    for table in tables:
        for row in table.rows:
            for task, cell in row.cells.items():
                for metric, stat in cell.items():
                    out.append(
                        {
                            "model": table.model,
                            "row": row.label,
                            "method": row.method,
                            "reparam": row.reparam,
                            "variant": row.chosen.get(task, dict(row.variant)),
                            "task": task,
                            "split": table.splits[task],
                            "metric": metric,
                            "mean": round(stat.mean, 4),
                            "std": round(stat.std, 4),
                            "n": stat.n,
                            "trainable_pct_min": row.trainable_pct[0],
                            "trainable_pct_max": row.trainable_pct[1],
                        }
                    )
    return out


def write_csv(tables: list[Table], path: str) -> None:
    rows = long_rows(tables)
    with files.atomic_open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "variant": json.dumps(row["variant"])})


def _row_json(r: Row) -> dict:
    return {
        "label": r.label,
        "method": r.method,
        "reparam": r.reparam,
        "variant": dict(r.variant),
        "trainable_pct": list(r.trainable_pct),
        "tuned": r.tuned or None,
        "in_paper": r.in_paper,
        "deep": r.deep,
        "setting": r.setting or None,
        "multi_task": r.multi_task,
        "head": r.head,
        "no_verbalizer": r.head != "verbalizer",
        "families": r.families,
        "runs": [x["record_path"] for x in r.records],
        "cells": {task: {m: vars(s) for m, s in cell.items()} for task, cell in r.cells.items()},
    }


def _table_json(t: Table) -> dict:
    return {
        "model": t.model,
        "splits": t.splits,
        "metrics": t.metrics,
        "main_metric": t.main,
        "rows": [_row_json(r) for r in t.rows],
        "references": [{"method": m, "source": s, "cells": c} for m, s, c in t.references],
    }


def write_json(tables: list[Table], failed: list[dict], path: str) -> None:
    data = {
        "tables": [_table_json(t) for t in tables],
        "failed": [{k: r.get(k) for k in FAILED_FIELDS} for r in failed],
    }
    files.write_json(path, data)  # strict JSON: a non-finite number is written as null


# ------------------------------------------------------------------ LaTeX
