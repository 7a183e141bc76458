"""`ptune-exp-compare RUNS --report DIR`: one page to look at, and its Markdown twin.

DIR/report.html is self-contained (no file beside it is needed to read it, nothing is fetched): the
tables, the figures embedded as base64 PNG, the failed runs, and for every run in the tables its
provenance and the command that made it. DIR/report.md says the same with the figures as links into
DIR/figures/, and DIR/tables.tex holds the tables as booktabs LaTeX.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
from datetime import datetime, timezone

import yaml

from ptune_exp.compare.cost import cost_tables
from ptune_exp.compare.formats import CHOSEN, FAILED_FIELDS, HEADLINE_NOTE, NOTE
from ptune_exp.compare.grid import BOLD, Grid, choose, grid, plain, write_latex
from ptune_exp.compare.table import Table
from ptune_exp.storage.files import write_text

CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f3f3}td:first-child{text-align:left}td{text-align:center}
figure{display:inline-block;margin:1em 1em 1em 0}img{max-width:100%;border:1px solid #eee}
code{font-size:12px;white-space:pre-wrap}details{margin:2px 0}.note{color:#555;font-size:13px}"""
RUN_FIELDS = ("run", "method", "task", "seed", "status", "finished", "commit", "device", "command")


# ------------------------------------------------------------------ runs


def run_command(record: dict) -> str:
    """The command that made a run: Hydra's own record of it (`.hydra/overrides.yaml` beside the
    record), else the run's identity spelled as a command and marked as reconstructed."""
    overrides = os.path.join(os.path.dirname(record.get("record_path") or ""), ".hydra", "overrides.yaml")
    try:
        with open(overrides, encoding="utf-8") as f:
            given = yaml.safe_load(f)
        if isinstance(given, list):
            return shlex.join(["ptune-exp", *map(str, given)])
    except (OSError, yaml.YAMLError):
        pass
    keys = [f"{k}={record.get(k)}" for k in ("model", "task", "method", "seed") if record.get(k) is not None]
    return shlex.join(["ptune-exp", *keys]) + "  # reconstructed: the full settings are in its config"


def run_fields(record: dict) -> dict[str, str]:
    """A run's line in the report's list of runs."""
    device = (record.get("cost") or {}).get("device") or record.get("device")
    return {
        "run": str(record.get("record_path", "?")),
        "method": str(record.get("method", "?")),
        "task": str(record.get("task", "?")),
        "seed": str(record.get("seed", "?")),
        "status": str(record.get("status", "?")),
        "finished": str(record.get("finished_at") or "–"),
        "commit": str(record.get("git_commit") or "–")[:12],
        "device": str(device or "–"),
        "command": run_command(record),
    }


def report_runs(tables: list[Table], failed: list[dict]) -> list[dict]:
    """The runs the tables are built from (each once), then the failed ones."""
    seen, out = set(), []
    for record in [r for t in tables for row in t.rows for r in row.records] + failed:
        if record.get("record_path") not in seen:
            seen.add(record.get("record_path"))
            out.append(record)
    return out


# ------------------------------------------------------------------ HTML


def _html_cell(text: str, tag: str = "td") -> str:
    inner = html.escape(text).replace(BOLD[0], "<strong>").replace(BOLD[1], "</strong>")
    return f"<{tag}>{inner}</{tag}>"


def html_table(header: list[str], body: list[list[str]]) -> str:
    head = "<tr>" + "".join(_html_cell(h, "th") for h in header) + "</tr>"
    rows = ["<tr>" + "".join(map(_html_cell, r)) + "</tr>" for r in body]
    return "<table>\n" + "\n".join([head, *rows]) + "\n</table>"


def _note(grids: list[Grid]) -> str:
    return NOTE if any(g.view != "headline" for g in grids) else HEADLINE_NOTE


def _html_grid(g: Grid) -> str:
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in g.notes)
    chosen = "".join(f"<li>{html.escape(c)}</li>" for c in g.chosen)
    chosen = f"<p class='note'>{html.escape(CHOSEN)}</p><ul class='note'>{chosen}</ul>" if chosen else ""
    return f"<h2>{html.escape(g.model)}</h2>\n{html_table(g.header, g.body)}\n{notes}{chosen}"


def _html_figure(path: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    name = html.escape(os.path.basename(path))
    return f'<figure><img alt="{name}" src="data:image/png;base64,{data}"><figcaption>{name}</figcaption></figure>'


def _html_run(record: dict) -> str:
    fields = run_fields(record)
    cells = "".join(_html_cell(fields[k]) for k in RUN_FIELDS[:-1])
    details = json.dumps({k: record.get(k) for k in ("provenance", "config")}, indent=1, default=str)
    command = f"<code>{html.escape(fields['command'])}</code>"
    more = f"<details><summary>provenance, config</summary><code>{html.escape(details)}</code></details>"
    return f"<tr>{cells}<td style='text-align:left'>{command}{more}</td></tr>"


def html_page(
    grids: list[Grid], figures: list[str], runs: list[dict], failed: list[dict], command: str, costs=()
) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<h1>ptune-exp comparison</h1><p class='note'>{when} · <code>{html.escape(command)}</code></p>"]
    parts += [_html_grid(g) for g in grids] + [f"<p class='note'>{html.escape(_note(grids))}</p>"]
    if failed:
        body = [[str(r.get(k, "")) for k in FAILED_FIELDS] for r in failed]
        parts.append("<h2>Failed or unfinished runs (not in the tables)</h2>" + html_table(list(FAILED_FIELDS), body))
    for model, header, body in costs:
        parts.append(f"<h2>Cost: {html.escape(model)}</h2>\n{html_table(header, body)}")
    parts += ["<h2>Figures</h2>", *map(_html_figure, figures)]
    runs_head = "<tr>" + "".join(_html_cell(k, "th") for k in RUN_FIELDS) + "</tr>"
    parts += ["<h2>Runs</h2>", "<table>" + runs_head + "".join(map(_html_run, runs)) + "</table>"]
    head = f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ptune-exp comparison</title><style>{CSS}</style>"
    return head + "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n"


# ------------------------------------------------------------------ Markdown


def _md_escape(text: str) -> str:
    return plain(text).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], body: list[list[str]]) -> list[str]:
    bold = lambda c: _md_escape(c.replace(BOLD[0], "**").replace(BOLD[1], "**"))
    line = lambda cells: "| " + " | ".join(map(bold, cells)) + " |"
    return [line(header), "|" + "---|" * len(header), *map(line, body), ""]


def markdown_page(
    grids: list[Grid], figures: list[str], runs: list[dict], failed: list[dict], command: str, costs=()
) -> str:
    out = ["# ptune-exp comparison", "", f"`{command}`", ""]
    for g in grids:
        out += [f"## {g.model}", "", *md_table(g.header, g.body), *g.notes, *([""] if g.notes else [])]
        out += [CHOSEN, *(f"- {c}" for c in g.chosen), ""] if g.chosen else []
    out += [_note(grids), ""]
    if failed:
        body = [[str(r.get(k, "")) for k in FAILED_FIELDS] for r in failed]
        out += ["## Failed or unfinished runs (not in the tables)", "", *md_table(list(FAILED_FIELDS), body)]
    for model, header, body in costs:
        out += [f"## Cost: {model}", "", *md_table(header, body)]
    out += ["## Figures", "", *(f"![{os.path.basename(p)}](figures/{os.path.basename(p)})" for p in figures), ""]
    body = [[f"`{v}`" if k == "command" else v for k, v in run_fields(r).items()] for r in runs]
    return "\n".join([*out, "## Runs", "", *md_table(list(RUN_FIELDS), body)])


# ------------------------------------------------------------------ the report


def write_report(tables, failed, out_dir: str, command: str, delta=False, columns=None, figures_of=None) -> list[str]:
    """DIR/report.html, DIR/report.md, DIR/tables.tex and DIR/figures/*.png (drawn from `figures_of`, the
    tables with a row per setting, when given); returns their paths."""
    from ptune_exp.compare.plots import plot_all  # matplotlib only when figures are asked for

    os.makedirs(out_dir, exist_ok=True)
    figures = plot_all(figures_of or tables, os.path.join(out_dir, "figures"))
    grids, runs = choose([grid(t, delta) for t in tables], columns), report_runs(tables, failed)
    paths = {name: os.path.join(out_dir, name) for name in ("report.html", "report.md", "tables.tex")}
    for name, page in (("report.html", html_page), ("report.md", markdown_page)):
        write_text(paths[name], page(grids, figures, runs, failed, command, cost_tables(tables)))
    write_latex(tables, paths["tables.tex"], delta, columns)
    return [*paths.values(), *figures]
