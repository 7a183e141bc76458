"""The tables as text: markdown (printed), long-format CSV, JSON and LaTeX tabulars, and the cell
formatting they share with the plots (metric short names, the trainable-% text)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable

from ptune_exp.compare import headline_text
from ptune_exp.compare.cells import (  # noqa: F401  (SHORT, trainable_pct_text: where other modules import them)
    CONCEPTS,
    SHORT,
    column_title,
    concept_cells,
    stat_text,
    trainable_pct_text,
)
from ptune_exp.compare.cost import COST_KEYS, cost_json, mean_cost
from ptune_exp.compare.headline import average, has_average, shared_tasks
from ptune_exp.compare.table import OUTSIDE, Row, Table
from ptune_exp.storage import files

FAILED_FIELDS = ("status", "method", "task", "model", "seed", "error", "record_path")
CSV_FIELDS = [
    "model",
    "row",
    "method",
    "reparam",
    "variant",
    "chosen_by",
    "task",
    "split",
    "metric",
    "mean",
    "std",
    "n",
    "trainable_pct_min",
    "trainable_pct_max",
    *COST_KEYS,  # the row's mean cost over its runs (empty where none recorded one): --cost's numbers
]
NOTE = (
    "Cells: mean ± std over seeds (n runs; one run shows its value alone); bold = best mean of the task's main metric; "
    "[split] = the split reported (test where labelled, else dev, where the dev score is also the selection split)."
)
HEADLINE_NOTE = (
    "One row per method (`--variants`: a row per setting); bold = best mean of the column; "
    "[split] = the split reported (test where labelled, else dev, where the dev score is also the selection split)."
)
OUTSIDE_NOTE = f"{OUTSIDE.strip()} = a reference method outside the P-Tuning v2 paper's comparison (LoRA, (IA)³)."

# ------------------------------------------------------------------ cells


def format_cell(table: Table, row: Row, task: str, delta: bool, bold=("**", "**")) -> str:
    if table.view == "headline":
        return headline_text.task_cell(table, row, task, delta, bold)
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


def _reference_cells(table: Table, cells: dict) -> list[str]:
    out = []
    for t in table.tasks:
        scores = cells.get(t)
        out.append(" / ".join(f"{scores[m]:.1f}" for m in table.metrics[t] if m in scores) if scores else "–")
    return out


def _header(table: Table) -> list[str]:
    if table.view == "headline":
        return headline_text.header(table)
    return ["method", *(column_title(table, t) for t in table.tasks), *CONCEPTS]


def _body(table: Table, delta: bool, bold, text: Callable[[str], str], ref: str) -> list[list[str]]:
    """The cells below the header: method rows, then reference rows labelled `ref`; `text` escapes plain
    cells; `bold` wraps the best cell of a column."""
    if table.view == "headline":
        return headline_text.body(table, delta, bold, text, ref)
    cell = lambda row, t: format_cell(table, row, t, delta, bold)
    rows = [
        [text(row.label), *(cell(row, t) for t in table.tasks), *map(text, concept_cells(row))] for row in table.rows
    ]
    for method, source, cells in table.references:
        label = ref.format(method=method, source=source)
        rows.append([text(label), *(text(c) for c in _reference_cells(table, cells)), *[""] * len(CONCEPTS)])
    return rows


CHOSEN = "Setting per task (the choice: best of a search on dev, else most seeds, else the default recipe):"


def footnotes(table: Table, delta: bool) -> tuple[list[str], list[str]]:
    """Under a headline table: its notes (n, Avg, Δ) and the setting each cell shows, per row and task."""
    if table.view != "headline":
        return [], []
    return headline_text.notes(table, delta), headline_text.chosen(table)


# ------------------------------------------------------------------ markdown


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def md_text(text) -> str:
    """A name as one Markdown table cell: `|` escaped, line breaks (and other control characters) as spaces."""
    text = "".join(" " if c.isspace() or ord(c) < 32 or c == "\x7f" else c for c in str(text))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _markdown_table(table: Table, delta: bool) -> list[str]:
    header = [md_text(h) for h in _header(table)]
    body = _body(table, delta, ("**", "**"), md_text, "_ref: {method} ({source})_")
    lines = [f"### {md_text(table.model)}\n", _md_line(header), "|" + "---|" * len(header), *map(_md_line, body), ""]
    notes, chosen = footnotes(table, delta)
    lines += [*map(md_text, notes), ""] if notes else []
    return lines + ([CHOSEN, *(f"- {md_text(c)}" for c in chosen), ""] if chosen else [])


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
    out += [NOTE] if any(t.view != "headline" for t in tables) else [HEADLINE_NOTE]
    if any(not row.in_paper for table in tables for row in table.rows):
        out.append(OUTSIDE_NOTE)
    if failed:
        out += _failed_lines(failed)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ CSV and JSON


def long_rows(tables: list[Table]) -> list[dict]:
    """One line per (model, row, task, metric): the tidy form of every table."""
    out = []
    for table in tables:
        for row in table.rows:
            costs = {key: mean_cost(row.records, key) for key in COST_KEYS}
            for task, cell in row.cells.items():
                for metric, stat in cell.items():
                    out.append(
                        {
                            "model": table.model,
                            "row": row.label,
                            "method": row.method,
                            "reparam": row.reparam,
                            "variant": row.chosen.get(table.task_of.get(task, task), dict(row.variant)),
                            "chosen_by": row.chosen_by.get(table.task_of.get(task, task), ""),
                            "task": task,
                            "split": table.splits[task],
                            "metric": metric,
                            "mean": round(stat.mean, 4),
                            "std": round(stat.std, 4),
                            "n": stat.n,
                            "trainable_pct_min": row.trainable_pct[0],
                            "trainable_pct_max": row.trainable_pct[1],
                            **costs,
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
        "chosen": {task: {"setting": v, "by": r.chosen_by.get(task)} for task, v in r.chosen.items()},
    }


def _table_json(t: Table) -> dict:
    headline = t.view == "headline"
    return {
        "model": t.model,
        "view": t.view,
        "average_over": shared_tasks(t) if headline and has_average(t) else None,
        "splits": t.splits,
        "metrics": t.metrics,
        "main_metric": t.main,
        "rows": [
            {**_row_json(r), **({"average": average(t, r)} if headline else {}), "cost": cost_json(t, r)}
            for r in t.rows
        ],
        "references": [{"method": m, "source": s, "cells": c} for m, s, c in t.references],
    }


def write_json(tables: list[Table], failed: list[dict], path: str) -> None:
    data = {
        "tables": [_table_json(t) for t in tables],
        "failed": [{k: r.get(k) for k in FAILED_FIELDS} for r in failed],
    }
    files.write_json(path, data)  # strict JSON: a non-finite number is written as null


# ------------------------------------------------------------------ LaTeX
