"""`ptune-exp-compare`: run records (metrics.json) -> the paper's comparison table (see `cli`).

- `variants`: which settings make runs different experiments (`IGNORED`: the ones that never do);
- `table`: `Stat`, `Row`, `Table` and building them from records (a row per setting: `--variants`);
- `headline`, `search`: the default table, a row per method, and which setting each task shows;
- `formats`: markdown, CSV, JSON and LaTeX, and the shared cell formatting;
- `plots`: the figures of `--plot` (imports matplotlib; loaded only when asked for);
- `cli`: the command line, `main`.
"""

from ptune_exp.compare.cli import main, parse_args
from ptune_exp.compare.formats import (
    CONCEPTS,
    SHORT,
    column_title,
    concept_cells,
    format_cell,
    long_rows,
    markdown,
    trainable_pct_text,
    write_csv,
    write_json,
)
from ptune_exp.compare.grid import write_latex
from ptune_exp.compare.headline import headline
from ptune_exp.compare.table import METHOD_ORDER, Row, Stat, Table, build_table, build_tables, is_completed, select
from ptune_exp.compare.variants import IGNORED, settings

__all__ = [
    "CONCEPTS",
    "IGNORED",
    "METHOD_ORDER",
    "SHORT",
    "Row",
    "Stat",
    "Table",
    "build_table",
    "build_tables",
    "column_title",
    "concept_cells",
    "format_cell",
    "headline",
    "is_completed",
    "long_rows",
    "main",
    "markdown",
    "parse_args",
    "select",
    "settings",
    "trainable_pct_text",
    "write_csv",
    "write_json",
    "write_latex",
]
