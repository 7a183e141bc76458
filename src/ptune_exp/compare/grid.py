"""A table as a grid of text cells, the columns a reader chose (`--columns`), and the grid as LaTeX
with booktabs rules (`--latex`, the report's `tables.tex`).

The grid takes its header and cells from `formats` (the markdown table's), so a column added there
(an average, a cost) shows up here and in the report without a change here; `--columns` picks among
them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ptune_exp.compare.formats import _body, _header, footnotes
from ptune_exp.compare.table import Table
from ptune_exp.errors import PtuneError
from ptune_exp.storage.files import write_text

BOLD = ("\x02", "\x03")  # where a cell is the best of its column, before each format spells bold its own way
TEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "†": r"$^\dagger$",
    "³": r"$^3$",
    "–": "--",
    "—": "---",
}


@dataclass
class Grid:
    model: str
    header: list[str]
    body: list[list[str]]  # method rows, then reference rows; best cells wrapped in BOLD
    chosen: list[str]  # under a headline table: the setting each row shows per task, and why
    notes: list[str] = field(default_factory=list)  # under a headline table: n, what Avg averages, Δ
    view: str = "variants"


def grid(table: Table, delta: bool = False) -> Grid:
    notes, chosen = footnotes(table, delta)
    body = _body(table, delta, BOLD, str, "ref: {method} ({source})")
    return Grid(table.model, _header(table), body, chosen, notes, table.view)


def _matches(title: str, name: str) -> bool:
    """A column is named by its whole title or by its first words: `rte` is `rte acc [dev]`."""
    title, name = title.lower(), name.strip().lower()
    return title == name or title.startswith(name + " ")


def parse_columns(text: str | None) -> list[str] | None:
    """`--columns "rte,cola,trainable %"` -> the names, in order; None (every column) when not given."""
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def choose(grids: list[Grid], names: list[str] | None) -> list[Grid]:
    """The grids with the method column and the named columns, in the order named. A name that no
    table has is an error (naming the columns there are); one that only some tables have is skipped
    in the others (a task run on one backbone only)."""
    if not names:
        return grids
    known = {h for g in grids for h in g.header}
    missing = [n for n in names if not any(_matches(h, n) for h in known)]
    if missing:
        raise PtuneError(f"--columns: no column named {', '.join(map(repr, missing))}; the columns: {sorted(known)}")
    out = []
    for g in grids:
        keep = [0] + [i for n in names for i, h in enumerate(g.header) if _matches(h, n)]
        keep = list(dict.fromkeys(keep))
        out.append(replace(g, header=[g.header[i] for i in keep], body=[[r[i] for i in keep] for r in g.body]))
    return out


def plain(text: str) -> str:
    """A cell without its bold marks."""
    return text.replace(BOLD[0], "").replace(BOLD[1], "")


def tex(text: str) -> str:
    """Text as LaTeX that prints it: every special character escaped, ±/Δ/† as math; bold as \\textbf."""
    out = "".join(" " if (c.isspace() or ord(c) < 32) and c not in BOLD else TEX.get(c, c) for c in str(text))
    return out.replace(BOLD[0], r"\textbf{").replace(BOLD[1], "}")


def _tex_line(cells: list[str]) -> str:
    return " & ".join(tex(c) for c in cells) + " \\\\"


def latex_lines(g: Grid, references: int = 0) -> list[str]:
    """One booktabs tabular: \\toprule, header, \\midrule, rows (reference rows after a \\midrule of their
    own), \\bottomrule. Needs `\\usepackage{booktabs}`."""
    rows = [_tex_line(r) for r in g.body]
    if references:
        rows[len(rows) - references : len(rows) - references] = ["\\midrule"]
    head = [f"% {tex(g.model)}", "\\begin{tabular}{l" + "c" * (len(g.header) - 1) + "}", "\\toprule"]
    under = [f"% {plain(line)}" for line in [*g.notes, *(["Setting per task:"] if g.chosen else []), *g.chosen]]
    return [*head, _tex_line(g.header), "\\midrule", *rows, "\\bottomrule", "\\end{tabular}", *under, ""]


def latex(tables: list[Table], delta: bool = False, columns: list[str] | None = None) -> str:
    grids = choose([grid(t, delta) for t in tables], columns)
    out = ["% ptune-exp-compare: one tabular per backbone; needs \\usepackage{booktabs}", ""]
    for g, t in zip(grids, tables):
        out += latex_lines(g, len(t.references))
    return "\n".join(out)


def write_latex(tables: list[Table], path: str, delta: bool = False, columns: list[str] | None = None) -> None:
    write_text(path, latex(tables, delta, columns))
