"""`ptune-exp-compare`: turn run records (metrics.json) into the paper's comparison table.

One table per backbone. Rows are methods as the paper names them (a variant such as
`prefix_len=16` or `train.epochs=3` is split out only when it varies *within* one task, e.g. in a
sweep, so runs with different settings are never averaged together); columns are
tasks with their official metrics (mean ± std over seeds, n), followed by the concepts of the
paper's Table 1: trainable share of parameters, deep prompts, reparameterisation, no verbalizer,
task families covered. Failed or unfinished runs are listed separately, never averaged in.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from dataclasses import dataclass, field

from ptune_exp.records import read_records
from ptune_exp.reference import reference_rows

METHOD_ORDER = ["fft", "pt", "prefix", "ptv2"]
# Settings that do not change what a run measures: they never split rows.
IGNORED = {
    "name",
    "train.progress",
    "train.resume",
    "train.keep_checkpoints",
    "train.logging_steps",
    "train.report_to",
    "train.num_workers",
    "train.eval_batch_size",
    "train.save_steps",
    "task.name",
    "task.source",
    "task.data_dir",
}
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

    @property
    def method_label(self) -> str:
        """The method as the paper names it ("P-Tuning v2 + reparam"); prefix tuning always has the MLP."""
        return self.title + (" + reparam" if self.reparam and self.method != "prefix" else "")

    @property
    def label(self) -> str:
        text = self.method_label
        if self.variant:
            text += " [" + ", ".join(f"{k}={v}" for k, v in self.variant) + "]"
        return text

    @property
    def trainable_pct(self) -> tuple[float, float]:
        values = [r["params"]["trainable_pct"] for r in self.records]
        return min(values), max(values)

    @property
    def families(self) -> list[str]:
        return sorted({r["family"] for r in self.records})

    @property
    def deep(self) -> bool:
        return any(r["table1"]["deep"] for r in self.records)


@dataclass
class Table:
    model: str
    tasks: list[str]
    splits: dict[str, str]
    metrics: dict[str, list[str]]
    main: dict[str, str]
    rows: list[Row]
    references: list[tuple[str, str, dict]] = field(default_factory=list)

    def best(self, task: str) -> float | None:
        means = [r.cells[task][self.main[task]].mean for r in self.rows if task in r.cells]
        return max(means) if means else None

    def fft_row(self) -> Row | None:
        return next((r for r in self.rows if r.method == "fft"), None)


# ------------------------------------------------------------------ building


def is_completed(record: dict) -> bool:
    return record.get("status") == "completed" and isinstance(record.get("dev"), dict)


def select(records: list[dict], models=None, tasks=None, methods=None) -> list[dict]:
    keep = lambda value, allowed: not allowed or value in allowed
    return [
        r
        for r in records
        if keep(r.get("model"), models) and keep(r.get("task"), tasks) and keep(r.get("method"), methods)
    ]


def settings(record: dict) -> dict[str, object]:
    """What a run was asked to do, but its seed: method knobs by name (`prefix_len`), training and task
    settings as `train.epochs`, `task.max_train_samples`, ... Runs that differ here are not averaged."""
    out = {k: v for k, v in (record.get("method_config") or {}).items() if k not in IGNORED}
    config = record.get("config") or {}
    for group in ("train", "task"):
        for key, value in (config.get(group) or {}).items():
            name = f"{group}.{key}"
            if name not in IGNORED:
                out[name] = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value
    return out


def _latest_per_seed(records: list[dict]) -> list[dict]:
    """A re-run of the same settings and seed supersedes the earlier one."""
    latest: dict[tuple, dict] = {}
    for r in sorted(records, key=lambda r: r.get("finished_at") or ""):
        latest[(r["task"], r.get("task_source"), r["seed"], json.dumps(settings(r), sort_keys=True, default=str))] = r
    return list(latest.values())


def _variant_fields(records: list[dict]) -> list[str]:
    """Settings that take several values within one task: those split rows (a sweep's axis, or runs
    with different budgets that must not be averaged together)."""
    per_task: dict[str, list[dict]] = {}
    for r in records:
        per_task.setdefault(r["task"], []).append(settings(r))
    names = sorted({k for group in per_task.values() for st in group for k in st})
    # a setting missing from older records (added to ptune-exp later) is unknown there, not different
    return [
        n
        for n in names
        if any(len({json.dumps(st[n], default=str) for st in group if n in st}) > 1 for group in per_task.values())
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


def build_table(model: str, records: list[dict], split: str = "auto", paper: bool = False) -> Table:
    tasks = sorted({r["task"] for r in records}, key=lambda t: (min(r["family"] for r in records if r["task"] == t), t))
    splits = {t: _split_for([r for r in records if r["task"] == t], split) for t in tasks}
    metrics = {t: next(r["metrics"] for r in records if r["task"] == t) for t in tasks}
    main = {t: next(r["main_metric"] for r in records if r["task"] == t) for t in tasks}

    groups: dict[tuple[str, bool], list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], bool(r["method_config"].get("reparam"))), []).append(r)
    rows = []
    for (method, reparam), group in groups.items():
        fields = _variant_fields(group)
        by_variant: dict[tuple, list[dict]] = {}
        for r in group:
            by_variant.setdefault(tuple((f, settings(r).get(f)) for f in fields), []).append(r)
        for variant, members in by_variant.items():
            row = Row(method, members[0].get("method_title", method), reparam, variant, _latest_per_seed(members))
            for t in tasks:
                runs = [r for r in row.records if r["task"] == t and r.get(splits[t])]
                if runs:
                    row.cells[t] = {
                        m: Stat.of([r[splits[t]][m] for r in runs]) for m in metrics[t] if m in runs[0][splits[t]]
                    }
            rows.append(row)
    order = lambda row: (
        METHOD_ORDER.index(row.method) if row.method in METHOD_ORDER else 99,
        row.reparam,
        [_sortable(v) for _, v in row.variant],
    )
    rows.sort(key=order)
    table = Table(model, tasks, splits, metrics, main, rows)
    if paper:
        table.references = reference_rows(model, tasks)
    return table


def build_tables(records: list[dict], split: str = "auto", paper: bool = False) -> list[Table]:
    done = [r for r in records if is_completed(r)]
    return [
        build_table(m, [r for r in done if r["model"] == m], split, paper) for m in sorted({r["model"] for r in done})
    ]


# ------------------------------------------------------------------ rendering


def column_title(table: Table, task: str) -> str:
    return f"{task} {'/'.join(SHORT.get(m, m) for m in table.metrics[task])} [{table.splits[task]}]"


def format_cell(table: Table, row: Row, task: str, delta: bool, bold=("**", "**")) -> str:
    if task not in row.cells:
        return "–"
    cell = row.cells[task]
    text = " / ".join(f"{cell[m].mean:.1f} ± {cell[m].std:.1f}" for m in table.metrics[task] if m in cell)
    text += f" (n={cell[table.main[task]].n})"
    main = cell[table.main[task]].mean
    if delta and (ft := table.fft_row()) is not None and row is not ft and task in ft.cells:
        text += f" Δ{main - ft.cells[task][table.main[task]].mean:+.1f}"
    if table.best(task) is not None and abs(main - table.best(task)) < 1e-9 and len(table.rows) > 1:
        text = f"{bold[0]}{text}{bold[1]}"
    return text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _pct(row: Row) -> str:
    lo, hi = row.trainable_pct
    return f"{lo:.3g}" if abs(hi - lo) <= 0.01 * max(hi, 1e-9) else f"{lo:.3g}–{hi:.3g}"


CONCEPTS = ["trainable %", "deep", "reparam", "no verbalizer", "families"]


def concept_cells(row: Row) -> list[str]:
    return [_pct(row), _yes(row.deep), _yes(row.reparam), "yes", ", ".join(row.families)]


def _reference_cells(table: Table, cells: dict) -> list[str]:
    out = []
    for t in table.tasks:
        scores = cells.get(t)
        out.append(" / ".join(f"{scores[m]:.1f}" for m in table.metrics[t] if m in scores) if scores else "–")
    return out


def markdown(tables: list[Table], failed: list[dict], delta: bool = False) -> str:
    out = []
    for table in tables:
        out.append(f"### {table.model}\n")
        header = ["method", *(column_title(table, t) for t in table.tasks), *CONCEPTS]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for row in table.rows:
            cells = [row.label, *(format_cell(table, row, t, delta) for t in table.tasks), *concept_cells(row)]
            out.append("| " + " | ".join(cells) + " |")
        for method, source, cells in table.references:
            label = f"_ref: {method} ({source})_"
            out.append("| " + " | ".join([label, *_reference_cells(table, cells), *[""] * len(CONCEPTS)]) + " |")
        out.append("")
    out.append(
        "Cells: mean ± std over seeds (n runs); bold = best mean of the task's main metric; "
        "[split] = the split reported (test where labelled, else dev, where the dev score is also the selection split)."
    )
    if failed:
        out.append("\n### Failed or unfinished runs (not in the tables)\n")
        out.append("| status | method | task | model | seed | error | record |")
        out.append("|---|---|---|---|---|---|---|")
        for r in failed:
            error = r.get("error") or (
                "still running, or killed without a trace" if r.get("status") == "running" else ""
            )
            error = error.replace("|", "\\|").replace("\n", " ")[:160]
            out.append(
                f"| {r.get('status', '?')} | {r.get('method', '?')} | {r.get('task', '?')} | {r.get('model', '?')} "
                f"| {r.get('seed', '?')} | {error} | {r['record_path']} |"
            )
    return "\n".join(out) + "\n"


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
                            "variant": dict(row.variant),
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
    with open(path, "w", newline="", encoding="utf-8") as f:
        names = [
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
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "variant": json.dumps(row["variant"])})


def write_json(tables: list[Table], failed: list[dict], path: str) -> None:
    data = {
        "tables": [
            {
                "model": t.model,
                "splits": t.splits,
                "metrics": t.metrics,
                "main_metric": t.main,
                "rows": [
                    {
                        "label": r.label,
                        "method": r.method,
                        "reparam": r.reparam,
                        "variant": dict(r.variant),
                        "trainable_pct": list(r.trainable_pct),
                        "deep": r.deep,
                        "no_verbalizer": True,
                        "families": r.families,
                        "runs": [x["record_path"] for x in r.records],
                        "cells": {task: {m: vars(s) for m, s in cell.items()} for task, cell in r.cells.items()},
                    }
                    for r in t.rows
                ],
                "references": [{"method": m, "source": s, "cells": c} for m, s, c in t.references],
            }
            for t in tables
        ],
        "failed": [
            {k: r.get(k) for k in ("status", "method", "task", "model", "seed", "error", "record_path")} for r in failed
        ],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)


def _tex(text: str) -> str:
    for a, b in (
        ("\\", "\\textbackslash{}"),
        ("_", "\\_"),
        ("%", "\\%"),
        ("&", "\\&"),
        ("#", "\\#"),
        ("±", "$\\pm$"),
        ("Δ", "$\\Delta$"),
        ("–", "--"),
    ):
        text = text.replace(a, b)
    return text


def write_latex(tables: list[Table], path: str, delta: bool = False) -> None:
    out = []
    for table in tables:
        cols = len(table.tasks) + len(CONCEPTS) + 1
        out += [f"% {table.model}", "\\begin{tabular}{l" + "c" * (cols - 1) + "}", "\\hline"]
        out.append(
            " & ".join(_tex(h) for h in ["method", *(column_title(table, t) for t in table.tasks), *CONCEPTS]) + " \\\\"
        )
        out.append("\\hline")
        for row in table.rows:
            cells = [_tex(format_cell(table, row, t, delta, bold=("BOLDOPEN", "BOLDCLOSE"))) for t in table.tasks]
            cells = [c.replace("BOLDOPEN", "\\textbf{").replace("BOLDCLOSE", "}") for c in cells]
            out.append(" & ".join([_tex(row.label), *cells, *(_tex(c) for c in concept_cells(row))]) + " \\\\")
        for method, source, cells in table.references:
            out.append(
                " & ".join(
                    [
                        _tex(f"ref: {method} ({source})"),
                        *(_tex(c) for c in _reference_cells(table, cells)),
                        *[""] * len(CONCEPTS),
                    ]
                )
                + " \\\\"
            )
        out += ["\\hline", "\\end{tabular}", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


# ------------------------------------------------------------------ command line


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="ptune-exp-compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=["outputs"], help="run dirs or metrics.json files (default: outputs/)")
    ap.add_argument("--model", action="append", help="only these backbones (repeatable)")
    ap.add_argument("--task", action="append", help="only these tasks (repeatable)")
    ap.add_argument("--method", action="append", help="only these methods (repeatable)")
    ap.add_argument(
        "--split",
        choices=["auto", "dev", "test"],
        default="auto",
        help="which split to report; auto = test where every run has labelled test metrics, else dev",
    )
    ap.add_argument("--delta", action="store_true", help="add each cell's difference to fine-tuning (Δ vs FT)")
    ap.add_argument("--paper", action="store_true", help="add the paper's / official repo's numbers as reference rows")
    ap.add_argument("--csv", help="write the long-format table to this CSV file")
    ap.add_argument("--json", help="write tables and failed runs to this JSON file")
    ap.add_argument("--latex", help="write the tables as LaTeX tabulars to this file")
    ap.add_argument("--plot", metavar="DIR", help="write PNG figures (prefix-length curves, method bars) into DIR")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    records = select(read_records(args.paths), args.model, args.task, args.method)
    if not records:
        print(
            f"ptune-exp-compare: no metrics.json under {' '.join(args.paths)} (after filters). "
            "Run `ptune-exp` first, or pass the directories that hold its runs.",
            file=sys.stderr,
        )
        return 1
    failed = [r for r in records if not is_completed(r)]
    tables = build_tables(records, args.split, args.paper)
    sys.stdout.write(markdown(tables, failed, args.delta))
    written = []
    if args.csv:
        write_csv(tables, args.csv)
        written.append(args.csv)
    if args.json:
        write_json(tables, failed, args.json)
        written.append(args.json)
    if args.latex:
        write_latex(tables, args.latex, args.delta)
        written.append(args.latex)
    if args.plot:
        from ptune_exp.plots import plot_all

        written += plot_all(tables, args.plot)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
