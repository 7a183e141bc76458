"""The headline table's cells and footnotes (`headline.py` builds it): a task cell is the main metric's
`mean ± std` (with `Δ` and its interval on request), then Avg, trainable % and, where n varies, n; under
the table n (where it is one number), what Avg averages and the setting each cell shows, and why."""

from __future__ import annotations

from collections.abc import Callable

from ptune_exp.compare.cells import main_title, stat_text, trainable_pct_text
from ptune_exp.compare.headline import (
    average,
    average_delta,
    delta,
    has_average,
    reference_average,
    seeds,
    shared_tasks,
    uniform_n,
)
from ptune_exp.compare.table import Row, Table


def header(table: Table) -> list[str]:
    tasks = [main_title(table, t) for t in table.tasks]
    return ["method", *tasks, *(["Avg"] if has_average(table) else []), "trainable %", *_n_header(table)]


def _n_header(table: Table) -> list[str]:
    return [] if uniform_n(table) is not None or not table.rows else ["n"]


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def delta_text(found: tuple[float, tuple[float, float] | None] | None) -> str:
    """` Δ+3.0`, with ` [−1.2, +7.2]` (the 95% interval) where both sides have n ≥ 3."""
    if found is None:
        return ""
    diff, interval = found
    return f" Δ{_signed(diff)}" + (f" [{_signed(interval[0])}, {_signed(interval[1])}]" if interval else "")


def _bold_if_best(text: str, value: float, best: float | None, table: Table, bold: tuple[str, str]) -> str:
    is_best = best is not None and abs(value - best) < 1e-9 and len(table.rows) > 1
    return f"{bold[0]}{text}{bold[1]}" if is_best else text


def task_cell(table: Table, row: Row, task: str, with_delta: bool, bold=("**", "**")) -> str:
    if task not in row.cells:
        return "–"
    stat = row.cells[task][table.main[task]]
    text = stat_text(stat) + (delta_text(delta(table, row, task)) if with_delta else "")
    return _bold_if_best(text, stat.mean, table.best(task), table, bold)


def _avg_cell(table: Table, row: Row, with_delta: bool, bold) -> str:
    value = average(table, row)
    if value is None:
        return "–"
    best = max(a for r in table.rows if (a := average(table, r)) is not None)
    diff = average_delta(table, row) if with_delta else None
    return _bold_if_best(f"{value:.1f}" + (f" Δ{_signed(diff)}" if diff is not None else ""), value, best, table, bold)


def _n_cell(table: Table, row: Row) -> str:
    found = seeds(table, row)
    known = {n for n in found if n is not None}
    return str(known.pop()) if len(known) == 1 else "/".join("–" if n is None else str(n) for n in found)


def body(table: Table, with_delta: bool, bold, text: Callable[[str], str], ref: str) -> list[list[str]]:
    """Method rows, then the reference rows (`--paper`) labelled `ref`; `text` escapes plain cells."""
    avg, n = has_average(table), bool(_n_header(table))
    rows = []
    for row in table.rows:
        cells = [task_cell(table, row, t, with_delta, bold) for t in table.tasks]
        cells += [_avg_cell(table, row, with_delta, bold)] if avg else []
        rows.append([text(row.label), *cells, text(trainable_pct_text(row)), *([_n_cell(table, row)] if n else [])])
    for method, source, scores in table.references:
        cells = [f"{scores[t][table.main[t]]:.1f}" if table.main[t] in scores.get(t, {}) else "–" for t in table.tasks]
        value = reference_average(table, scores)
        cells += [("–" if value is None else f"{value:.1f}")] if avg else []
        rows.append([text(ref.format(method=method, source=source)), *cells, "", *([""] if n else [])])
    return rows


def notes(table: Table, with_delta: bool) -> list[str]:
    """The footnotes under a headline table (plain text, one per line)."""
    n = uniform_n(table)
    out = [
        "Cells: mean ± std over seeds of each task's main metric"
        + (f"; n = {n} run{'s' if n != 1 else ''} per cell." if n is not None else "; n = runs per cell, per task.")
    ]
    if has_average(table):
        out.append(f"Avg: the mean over {', '.join(shared_tasks(table))} (the tasks every row has).")
    if with_delta:
        out.append(
            "Δ: difference to fine-tuning's mean; [lo, hi]: 95% Welch t-interval of the difference of means, "
            "where both have n ≥ 3."
        )
    return out


def chosen(table: Table) -> list[str]:
    """The setting each row's cell shows, per task, and why (compare/search.py's rule)."""
    return [
        f"{row.method_label}, {task}: "
        + (", ".join(f"{k}={v}" for k, v in variant.items()) or "one setting")
        + (f" — {row.chosen_by[task]}" if row.chosen_by.get(task) and variant else "")
        for row in table.rows
        for task, variant in row.chosen.items()
    ]
