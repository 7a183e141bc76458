"""Best-of-search rows (`ptune-exp-compare --best-of-search`): the paper reports each method at the
learning rate and prefix length that scored best on dev. Here every setting searched (e.g. the trials
of `hparams_search=ptv2`) is one variant row; this keeps, per method and task, the variant with the best
mean dev main metric, and labels the row with how many settings it was selected from, on dev."""

from __future__ import annotations

import dataclasses
import statistics

from ptune_exp.compare.table import Row, Table


def _dev_mean(row: Row, task: str, metric: str) -> float | None:
    values = [r["dev"][metric] for r in row.records if r["task"] == task and metric in (r.get("dev") or {})]
    return statistics.fmean(values) if values else None


def _best(rows: list[Row], task: str, metric: str) -> Row | None:
    scored = [(score, row) for row in rows if (score := _dev_mean(row, task, metric)) is not None]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def _select(rows: list[Row], table: Table) -> Row:
    """The method's row built from its best variant on each task (selected on the dev main metric)."""
    cells, records, chosen = {}, [], {}
    for column in table.tasks:
        task = table.task_of.get(column, column)
        best = _best(rows, task, table.main[task])
        if best is None or column not in best.cells:
            continue
        cells[column] = best.cells[column]
        records += [r for r in best.records if r["task"] == task and r not in records]
        chosen[task] = dict(best.variant)
    note = f"best of {len(rows)} on dev" if len(rows) > 1 else ""
    return dataclasses.replace(rows[0], variant=(), records=records, cells=cells, note=note, chosen=chosen)


def best_of_search(table: Table) -> Table:
    """The table with one row per method (and reparam): each task's best variant on dev."""
    groups: dict[tuple[str, bool, str], list[Row]] = {}
    for row in table.rows:
        groups.setdefault((row.method, row.reparam, row.setting), []).append(row)
    rows = [_select(members, table) for members in groups.values()]
    return dataclasses.replace(table, rows=[r for r in rows if r.records])
