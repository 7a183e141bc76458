"""The comparison table as data: one `Table` per backbone, one `Row` per method (and variant), one cell
per task and metric holding the `Stat` (mean ± std over seeds, n) of the completed runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ptune_exp.compare.check import problem
from ptune_exp.compare.multi import concept_text, expand, setting_of
from ptune_exp.compare.reference import real_runs, reference_rows
from ptune_exp.compare.variants import encoder_of, head_of, latest_per_seed, settings, variant_fields

METHOD_ORDER = ["fft", "ptv1", "pt", "prefix", "ptv2", "lora", "ia3"]  # the paper's four, then the references
OUTSIDE = " †"  # marks a row whose method the P-Tuning v2 paper does not compare (table1.in_paper false)


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        return cls(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


@dataclass
class Row:
    method: str
    title: str
    reparam: bool
    variant: tuple[tuple[str, object], ...]
    records: list[dict] = field(default_factory=list)
    cells: dict[str, dict[str, Stat]] = field(default_factory=dict)  # task -> metric -> Stat
    note: str = ""  # e.g. "best of 12 on dev" (a search, compare/search.py)
    chosen: dict[str, dict] = field(default_factory=dict)  # headline: task -> the setting its cell shows
    chosen_by: dict[str, str] = field(default_factory=dict)  # headline: task -> why (compare/search.py's rule)
    setting: str = ""  # multi-task, from multi-task, from <task> (compare/multi.py), or none
    head: str = "linear"  # method.head: linear | pooler | verbalizer (part of the row's identity)
    encoder: str = "none"  # the reparameterisation: LSTM | MLP | none (part of the row's identity)

    @property
    def method_label(self) -> str:
        """The method as the paper names it ("P-Tuning v2 + reparam"); prefix tuning always has the MLP; a
        method outside the paper is marked with a dagger ("LoRA †")."""
        text = self.title + (" + reparam" if self.reparam and self.method not in ("prefix", "ptv1") else "")
        text += f" ({self.encoder})" if self.method == "ptv1" else ""
        text += f" + {self.head}" if self.head != ("verbalizer" if self.method == "ptv1" else "linear") else ""
        text += f", {self.setting}" if self.setting else ""
        return text + ("" if self.in_paper else OUTSIDE)

    @property
    def label(self) -> str:
        text = self.method_label + (f" ({self.note})" if self.note else "")
        if self.variant:
            text += " [" + ", ".join(f"{k}={v}" for k, v in self.variant) + "]"
        return text

    @property
    def trainable_pct(self) -> tuple[float, float]:
        values = [r["params"]["trainable_pct"] for r in self.records]
        return min(values), max(values)

    @property
    def budgets(self) -> list[tuple[float, str]]:
        """The distinct training budgets of the row's runs, as (number, "steps" or "epochs")."""
        return sorted({budget_of(r) for r in self.records})

    @property
    def families(self) -> list[str]:
        return sorted({r["family"] for r in self.records})

    @property
    def multi_task(self) -> str:
        """The "multi-task" concept: with how many tasks the row's prompt trained jointly, or before, or no."""
        return concept_text(self.records)

    @property
    def deep(self) -> bool:
        return any(r["table1"]["deep"] for r in self.records)

    @property
    def tuned(self) -> str:
        """Where the tuned parameters live, as the records say (records before this field: unknown)."""
        return next((r["table1"]["tuned"] for r in self.records if isinstance(r["table1"].get("tuned"), str)), "")

    @property
    def site(self) -> str:
        """Where the prompt goes: deep (every layer), input only, or none (records before `prompt_site`: from deep)."""
        sites = {r["table1"].get("prompt_site", "every layer" if r["table1"]["deep"] else "?") for r in self.records}
        names = {"every layer": "deep", "input": "input only", "none": "no prompt"}
        return "/".join(sorted(names.get(s, s) for s in sites))

    @property
    def in_paper(self) -> bool:
        return all(r["table1"].get("in_paper", True) is not False for r in self.records)


def budget_of(record: dict) -> tuple[float, str]:
    """A run's training budget: max_steps when set, else epochs (records before `budget` existed: the config's)."""
    budget = record.get("budget") or record.get("config", {}).get("train", {})
    steps = budget.get("max_steps") or -1
    return (steps, "steps") if steps > 0 else (budget.get("epochs") or 0, "epochs")


@dataclass
class Table:
    model: str
    tasks: list[str]  # the columns: tasks, and after a task its extra splits (e.g. `conll05_brown`)
    splits: dict[str, str]
    metrics: dict[str, list[str]]
    main: dict[str, str]
    rows: list[Row]
    references: list[tuple[str, str, dict]] = field(default_factory=list)
    task_of: dict[str, str] = field(default_factory=dict)  # column of an extra split -> its task
    view: str = "variants"  # "variants": a row per setting; "headline": a row per method (compare/headline.py)

    def best(self, task: str) -> float | None:
        means = [r.cells[task][self.main[task]].mean for r in self.rows if task in r.cells]
        return max(means) if means else None

    def fft_row(self, task: str) -> Row | None:
        """The fine-tuning row a task's Δ refers to: of the fft rows with the task, the one with most runs
        on it, so a one-seed budget variant does not replace the recipe's row; of equals, the best mean,
        so a prompt is never credited with a gap to the weaker of two equally measured fine-tunes."""
        rows = [r for r in self.rows if r.method == "fft" and task in r.cells]
        strength = lambda r: (r.cells[task][self.main[task]].n, r.cells[task][self.main[task]].mean)
        return max(rows, key=strength, default=None)


def is_completed(record: dict) -> bool:
    """A completed run whose record holds what the table reads (`check.problem`)."""
    return record.get("status") == "completed" and problem(record) is None


def select(records: list[dict], models=None, tasks=None, methods=None) -> list[dict]:
    keep = lambda value, allowed: not allowed or value in allowed
    return [
        r
        for r in records
        if keep(r.get("model"), models) and keep(r.get("task"), tasks) and keep(r.get("method"), methods)
    ]


def _split_for(records: list[dict], split: str) -> str:
    if split != "auto":
        return split
    return "test" if all(r.get("test") for r in records) else "dev"


def _sortable(value) -> tuple:
    """Numbers in numeric order (prefix_len 4 < 16 < 64), before anything else in text order."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _row_order(row: Row) -> tuple:
    return (
        METHOD_ORDER.index(row.method) if row.method in METHOD_ORDER else 99,
        row.reparam,
        row.setting,
        row.head,
        row.encoder,
        [_sortable(v) for _, v in row.variant],
    )


def _extra_columns(records: list[dict], task: str, split: str) -> dict[str, str]:
    """Column -> split for the task's extra evaluation splits that go with the reported split: a
    `test_brown` split goes with `test` and is the column `<task>_brown` (`dev_mismatched`: with dev)."""
    roles = sorted({role for r in records if r["task"] == task for role in r.get("extra") or {}})
    return {f"{task}_{role.split('_', 1)[1]}": role for role in roles if role.split("_", 1)[0] == split and "_" in role}


def _empty_table(model: str, records: list[dict], split: str) -> Table:
    """The columns: tasks (by task family, then name), each followed by its extra splits; the split each
    reports, its metrics and main metric."""
    tasks = sorted({r["task"] for r in records}, key=lambda t: (min(r["family"] for r in records if r["task"] == t), t))
    splits = {t: _split_for([r for r in records if r["task"] == t], split) for t in tasks}
    extra = {t: _extra_columns(records, t, splits[t]) for t in tasks}
    task_of = {column: t for t in tasks for column in extra[t]}
    columns = [c for t in tasks for c in (t, *extra[t])]
    metrics = {c: next(r["metrics"] for r in records if r["task"] == task_of.get(c, c)) for c in columns}
    main = {c: next(r["main_metric"] for r in records if r["task"] == task_of.get(c, c)) for c in columns}
    splits |= {c: role for t in tasks for c, role in extra[t].items()}
    return Table(model, columns, splits, metrics, main, [], task_of=task_of)


def _scores(record: dict, split: str) -> dict | None:
    """The record's scores of a split: `dev`, `test`, or an extra one."""
    return record.get(split) if split in ("dev", "test") else (record.get("extra") or {}).get(split)


def _cells(table: Table, records: list[dict]) -> dict[str, dict[str, Stat]]:
    cells = {}
    for t in table.tasks:
        split, main = table.splits[t], table.main[t]
        found = [_scores(r, split) for r in records if r["task"] == table.task_of.get(t, t)]
        runs = [scores for scores in found if scores and main in scores]
        if runs:
            cells[t] = {
                m: Stat.of([scores[m] for scores in runs if m in scores])
                for m in table.metrics[t]
                if any(m in scores for scores in runs)
            }
    return cells


def _method_rows(table: Table, key: tuple, group: list[dict]) -> list[Row]:
    """One row per variant (combination of the settings that vary within a task) of one method."""
    method, reparam, setting, head, encoder = key
    fields = variant_fields(group)
    by_variant: dict[tuple, list[dict]] = {}
    for r in group:
        by_variant.setdefault(tuple((f, settings(r).get(f)) for f in fields), []).append(r)
    rows = []
    for variant, members in by_variant.items():
        records = latest_per_seed(members)
        title = members[0].get("method_title", method)
        cells = _cells(table, records)
        rows.append(Row(method, title, reparam, variant, records, cells, setting=setting, head=head, encoder=encoder))
    return rows


def build_table(model: str, records: list[dict], split: str = "auto", paper: bool = False) -> Table:
    table = _empty_table(model, records, split)
    groups: dict[tuple, list[dict]] = {}
    for r in records:  # head and prompt encoder are part of a row's identity: never averaged across
        key = (r["method"], bool(r["method_config"].get("reparam")), setting_of(r), head_of(r), encoder_of(r))
        groups.setdefault(key, []).append(r)
    for key, group in groups.items():
        table.rows += _method_rows(table, key, group)
    table.rows.sort(key=_row_order)
    if paper:  # beside runs of the real checkpoint on built-in tasks only
        real = real_runs(records)
        table.references = reference_rows(model, [t for t in table.tasks if table.task_of.get(t, t) in real])
    return table


def build_tables(records: list[dict], split: str = "auto", paper: bool = False) -> list[Table]:
    done = [r for r in expand(records) if is_completed(r)]
    return [
        build_table(m, [r for r in done if r["model"] == m], split, paper) for m in sorted({r["model"] for r in done})
    ]


def concept_rows(records: list[dict]) -> list[Row]:
    """The conceptual table (`--concepts`): one row per method as the runs used it (head, prompt encoder,
    multi-task setting), over every backbone and task; cells stay empty."""
    groups: dict[tuple, list[dict]] = {}
    for r in expand(records):
        if is_completed(r):
            key = (r["method"], bool(r["method_config"].get("reparam")), setting_of(r), head_of(r), encoder_of(r))
            groups.setdefault(key, []).append(r)
    rows = [
        Row(k[0], g[0].get("method_title", k[0]), k[1], (), g, setting=k[2], head=k[3], encoder=k[4])
        for k, g in groups.items()
    ]
    return sorted(rows, key=_row_order)
