"""The text of one cell, shared by every output (markdown, CSV, LaTeX, the report, the figures): metric
short names, column titles, `mean ± std`, the trainable-% text and the conceptual columns of a row."""

from __future__ import annotations

from ptune_exp.compare.table import Row, Stat, Table

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


def column_title(table: Table, task: str) -> str:
    return f"{task} {'/'.join(SHORT.get(m, m) for m in table.metrics[task])} [{table.splits[task]}]"


def main_title(table: Table, task: str) -> str:
    """A task column of the headline table: the task, its main metric and the split reported."""
    return f"{task} {SHORT.get(table.main[task], table.main[task])} [{table.splits[task]}]"


def stat_text(stat: Stat) -> str:
    """`mean ± std`; a single run has no spread to show, so just its value."""
    return f"{stat.mean:.1f} ± {stat.std:.1f}" if stat.n > 1 else f"{stat.mean:.1f}"


def yes(flag: bool) -> str:
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
        yes(row.deep),
        row.encoder,
        row.multi_task,
        yes(row.head != "verbalizer"),
        ", ".join(row.families),
    ]
