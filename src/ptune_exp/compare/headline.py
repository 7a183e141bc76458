"""The headline table (`ptune-exp-compare`'s default), in the shape of the paper's result tables: a row
per method, a column per task (its main metric, mean ± std over seeds), the average over the tasks every
row has, the trainable share, and on request the difference to fine-tuning with a 95% interval.

A method's row is built from its variant rows (`table.build_table`: one per combination of settings):
runs that differ in what identifies them (method, reparameterisation, head, prompt encoder, multi-task
setting, and the `variants.IDENTITY` settings: data and weights digests, transfer source) stay separate
rows; between the others (lr, epochs, prefix length, ...) `search.choose` picks one per task."""

from __future__ import annotations

import dataclasses
import math

from ptune_exp.compare.search import choose
from ptune_exp.compare.table import Row, Stat, Table
from ptune_exp.compare.variants import IDENTITY


def identity(row: Row) -> tuple:
    """What a headline row stands for: never chosen between."""
    kept = tuple((k, v) for k, v in row.variant if k in IDENTITY)
    return row.method, row.reparam, row.setting, row.head, row.encoder, kept


def _columns_of(table: Table, task: str) -> list[str]:
    """A task's columns: itself, then its extra splits (they show the setting chosen for the task)."""
    return [task, *(c for c, t in table.task_of.items() if t == task)]


def _method_row(rows: list[Row], table: Table, search: bool) -> Row:
    """One method's row: on each task the cells and runs of the variant `choose` picks, and why."""
    cells, records, chosen, why = {}, [], {}, {}
    for task in (t for t in table.tasks if t not in table.task_of):
        picked = choose(rows, task, table.main[task], search)
        if picked is None:
            continue
        row, reason = picked
        cells |= {c: row.cells[c] for c in _columns_of(table, task) if c in row.cells}
        records += [r for r in row.records if r["task"] == task]
        chosen[task] = {k: v for k, v in row.variant if k not in IDENTITY}
        why[task] = reason
    searched = sorted({w for w in why.values() if w.startswith("best of")})
    note = "; ".join(searched)
    variant = tuple((k, v) for k, v in rows[0].variant if k in IDENTITY)
    return dataclasses.replace(
        rows[0], variant=variant, records=records, cells=cells, note=note, chosen=chosen, chosen_by=why
    )


def headline(table: Table, search: bool = False) -> Table:
    """The table with one row per method (`identity`); `search`: every setting counts as a search trial
    (`--best-of-search`), so each task shows the setting best on dev."""
    groups: dict[tuple, list[Row]] = {}
    for row in table.rows:
        groups.setdefault(identity(row), []).append(row)
    rows = [_method_row(members, table, search) for members in groups.values()]
    return dataclasses.replace(table, rows=[r for r in rows if r.records], view="headline")


# ------------------------------------------------------------------ the average, n, Δ


def shared_tasks(table: Table) -> list[str]:
    """The task columns every method row has (extra evaluation splits left out): what Avg averages."""
    tasks = [t for t in table.tasks if t not in table.task_of]
    return [t for t in tasks if table.rows and all(t in r.cells for r in table.rows)]


def has_average(table: Table) -> bool:
    """An Avg column is shown where at least two tasks are shared by every row."""
    return len(shared_tasks(table)) >= 2


def average(table: Table, row: Row) -> float | None:
    """The mean over the shared tasks of the row's mean main metric."""
    tasks = shared_tasks(table)
    return sum(row.cells[t][table.main[t]].mean for t in tasks) / len(tasks) if len(tasks) >= 2 else None


def reference_average(table: Table, cells: dict) -> float | None:
    """A reference row's (`--paper`) average over the shared tasks, when it has them all."""
    tasks = shared_tasks(table)
    values = [(cells.get(t) or {}).get(table.main[t]) for t in tasks]
    return sum(values) / len(values) if len(tasks) >= 2 and None not in values else None


def seeds(table: Table, row: Row) -> list[int | None]:
    """The number of runs behind each task cell of a row (None where it has none)."""
    return [row.cells[t][table.main[t]].n if t in row.cells else None for t in table.tasks]


def uniform_n(table: Table) -> int | None:
    """The one n of every cell of the table, or None when it varies (an `n` column then shows it)."""
    found = {n for row in table.rows for n in seeds(table, row) if n is not None}
    return found.pop() if len(found) == 1 else None


def welch_interval(a: Stat, b: Stat, level: float = 0.95) -> tuple[float, float]:
    """The `level` t-interval of mean(a) − mean(b) with unequal variances (Welch; Welch–Satterthwaite
    degrees of freedom). Both need n ≥ 2; with no spread at all it is the difference itself."""
    from scipy.stats import t as student_t  # scipy only when an interval is asked for

    diff = a.mean - b.mean
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    if va + vb == 0:
        return diff, diff
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(student_t.ppf(0.5 + level / 2, df)) * math.sqrt(va + vb)
    return diff - half, diff + half


def delta(table: Table, row: Row, task: str) -> tuple[float, tuple[float, float] | None] | None:
    """The row's difference to fine-tuning on a task (`Table.fft_row`), with its 95% interval where both
    have n ≥ 3; None for the fine-tuning row itself, or without one."""
    ft = table.fft_row(task)
    if ft is None or ft is row or task not in row.cells:
        return None
    a, b = row.cells[task][table.main[task]], ft.cells[task][table.main[task]]
    return a.mean - b.mean, (welch_interval(a, b) if min(a.n, b.n) >= 3 else None)


def average_delta(table: Table, row: Row) -> float | None:
    """The row's Avg minus the fine-tuning rows' Avg over the same tasks (the mean of its per-task Δ)."""
    found = [delta(table, row, t) for t in shared_tasks(table)]
    return sum(d for d, _ in found) / len(found) if has_average(table) and None not in found else None
