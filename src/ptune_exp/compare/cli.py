"""`ptune-exp-compare`: turn run records (metrics.json) into the paper's comparison table.

One table per backbone, by default in the paper's shape (compare/headline.py): a row per method, a
column per task (its main metric, mean ± std over seeds), the average over the tasks every row has and
the trainable share. Where a method's runs differ only in settings (lr, epochs, prefix length, ...),
each task shows one setting, chosen by compare/search.py's rule and listed under the table; runs are
never averaged across settings. `--variants` shows a row per setting instead, with every metric and
the concepts of the paper's Table 1; `--concepts` prints Table 1 alone. Failed or unfinished runs are
listed separately, never averaged in.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from ptune_exp.compare.check import screen
from ptune_exp.compare.concepts import concepts_markdown
from ptune_exp.compare.cost import cost_markdown
from ptune_exp.compare.formats import markdown, write_csv, write_json
from ptune_exp.compare.grid import choose, grid, parse_columns, write_latex
from ptune_exp.compare.headline import headline
from ptune_exp.compare.multi import expand
from ptune_exp.compare.table import Table, build_tables, concept_rows, is_completed, select
from ptune_exp.errors import PtuneError, command
from ptune_exp.runs.records import read_records


def _figure_args(ap: argparse.ArgumentParser) -> None:
    """--columns, --plot and --report: the figures and the report, and the columns of LaTeX and report."""
    ap.add_argument(
        "--columns",
        help='the columns of --latex and --report, in order, by name: "rte,cola,trainable %%" (method always first)',
    )
    ap.add_argument(
        "--plot",
        metavar="DIR",
        help="write PNG figures into DIR: methods' scores per task (bars); per task, score against cost (trainable "
        "%%, peak memory, step time; Pareto front), dev score while training (learning curves), score against "
        "prefix length",
    )
    ap.add_argument(
        "--report",
        metavar="DIR",
        help="write DIR/report.html (self-contained: tables, figures, each run's provenance and command), "
        "its Markdown twin DIR/report.md, DIR/tables.tex and DIR/figures/",
    )


def _view_args(ap: argparse.ArgumentParser) -> None:
    """--variants, --best-of-search and --concepts: which table."""
    ap.add_argument(
        "--variants",
        action="store_true",
        help="a row per setting (lr, epochs, prefix length, ...) with every metric and the Table 1 concepts, "
        "instead of the headline table's row per method",
    )
    ap.add_argument(
        "--best-of-search",
        action="store_true",
        help="count every setting as a search trial: each task shows the setting with the best mean dev score "
        "(runs of an Optuna search, hparams_search=..., are counted so without it)",
    )
    ap.add_argument(
        "--concepts",
        action="store_true",
        help="print the conceptual table instead (families, deep or input-only, reparameterisation, multi-task, "
        "verbalizer): one row per method as the runs used it, and every registered method without runs",
    )


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
    ap.add_argument(
        "--delta",
        action="store_true",
        help="add each cell's difference to fine-tuning (Δ vs FT; in the headline table with a 95%% Welch "
        "t-interval where both have n >= 3)",
    )
    ap.add_argument("--paper", action="store_true", help="add the paper's / official repo's numbers as reference rows")
    _view_args(ap)
    ap.add_argument(
        "--cost",
        action="store_true",
        help="after the results, what each row cost: step time, throughput, peak memory, stored bytes, each with "
        "its ratio to fine-tuning on the same device; rows whose runs came from different devices are flagged",
    )
    ap.add_argument("--csv", help="write the long-format table to this CSV file")
    ap.add_argument("--json", help="write tables and failed runs to this JSON file")
    ap.add_argument("--latex", help="write the tables as LaTeX tabulars (booktabs rules) to this file")
    _figure_args(ap)
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the report shows the command that made it
    return args


def write_files(args: argparse.Namespace, tables: list[Table], failed: list[dict], every: list[Table]) -> list[str]:
    """The files asked for by --csv/--json/--latex/--plot/--report; returns their paths. The figures are
    drawn from `every` (a row per setting: prefix-length curves need the settings)."""
    written = []
    if args.csv:
        write_csv(tables, args.csv)
        written.append(args.csv)
    if args.json:
        write_json(tables, failed, args.json)
        written.append(args.json)
    if args.latex:
        write_latex(tables, args.latex, args.delta, parse_columns(args.columns))
        written.append(args.latex)
    if args.plot:
        from ptune_exp.compare.plots import plot_all  # matplotlib only when figures are asked for

        written += plot_all(every, args.plot)
    if args.report:
        from ptune_exp.compare.report import write_report

        command = shlex.join(["ptune-exp-compare", *(args.argv or [])])
        columns = parse_columns(args.columns)
        written += write_report(tables, failed, args.report, command, args.delta, columns, figures_of=every)
    return written


def check_paths(args: argparse.Namespace) -> None:
    """Before any work: the inputs exist, and every output file can be written where it is asked for."""
    for path in args.paths:
        if not os.path.exists(path):
            raise PtuneError(f"{path}: no such file or directory; pass run dirs or metrics.json files")
    for flag in ("csv", "json", "latex"):
        path = getattr(args, flag)
        if path and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path)))):
            raise PtuneError(f"--{flag} {path}: not a file in an existing folder; create the folder first")
    for flag in ("plot", "report"):
        path = getattr(args, flag)
        if path and os.path.exists(path) and not os.path.isdir(path):
            raise PtuneError(f"--{flag} {path}: exists and is not a folder")


@command("ptune-exp-compare")
def main(argv=None) -> int:
    args = parse_args(argv)
    check_paths(args)
    records = select(screen(expand(screen(read_records(args.paths)))), args.model, args.task, args.method)
    if not records:
        print(
            f"ptune-exp-compare: error: no metrics.json under {' '.join(args.paths)} (after filters). "
            "Run `ptune-exp` first, or pass the directories that hold its runs.",
            file=sys.stderr,
        )
        return 1
    if args.concepts:
        from ptune_exp.methods import METHODS  # the registry (imports torch): only for this table

        sys.stdout.write(concepts_markdown(concept_rows(records), METHODS))
        return 0
    if args.variants and args.best_of_search:
        raise PtuneError("--variants shows every setting; --best-of-search chooses one per task: pass one of them")
    failed = [r for r in records if not is_completed(r)]
    every = build_tables(records, args.split, args.paper)
    tables = every if args.variants else [headline(t, search=args.best_of_search) for t in every]
    choose([grid(t) for t in tables], parse_columns(args.columns))  # an unknown column: an error before any output
    sys.stdout.write(markdown(tables, failed, args.delta))
    if args.cost:
        sys.stdout.write("\n" + cost_markdown(tables))
    try:
        written = write_files(args, tables, failed, every)
    except PtuneError:  # a WriteError (storage/files.py) already names the file
        raise
    except OSError as e:
        raise PtuneError(f"cannot write {e.filename or 'an output file'}: {e.strerror or e}") from None
    for path in written:
        print(f"wrote {path}")
    return 0
