"""`ptune-exp-compare --concepts`: the paper's Table 1 as its own table. One row per method as the runs
used it (head, prompt encoder, multi-task setting), and one for every registered method that has no runs
among the records, with the concepts its registry entry and preset (`conf/method/<key>.yaml`) say."""

from __future__ import annotations

from importlib.resources import files

import yaml

from ptune_exp.compare.cells import yes
from ptune_exp.compare.table import METHOD_ORDER, OUTSIDE, Row

HEADER = ["method", "runs", "families covered", "prompt", "reparameterisation", "multi-task", "no verbalizer", "head"]
SITES = {"every layer": "deep", "input": "input only", "none": "no prompt"}


def _order(key: str) -> int:
    return METHOD_ORDER.index(key) if key in METHOD_ORDER else len(METHOD_ORDER)


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _preset(key: str) -> dict:
    """The method's preset (`conf/method/<key>.yaml`): its default reparameterisation, encoder and head."""
    try:
        return yaml.safe_load((files("ptune_exp.conf") / "method" / f"{key}.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def unrun_cells(key: str, method) -> list[str]:
    """A registered method without runs: its concepts as registered, its head and encoder as preset."""
    preset = _preset(key)
    encoder = str(preset["prompt_encoder"]).upper() if preset.get("prompt_encoder") else None
    encoder = encoder or ("MLP" if preset.get("reparam") else "none")
    head = preset.get("head") or "linear"
    label = (method.title or key) + ("" if method.in_paper else OUTSIDE)
    site = SITES.get(method.prompt_site, method.prompt_site)
    return [label, "no runs", "–", site, encoder, "–", yes(head != "verbalizer"), head]


def concepts_markdown(rows: list[Row], registered: dict | None = None) -> str:
    """The rows of the runs, then (given the registry, `methods.METHODS`) every method without runs."""
    lines = [_line(HEADER), "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = [row.method_label, len(row.records), ", ".join(row.families), row.site, row.encoder, row.multi_task]
        lines.append(_line([*cells, yes(row.head != "verbalizer"), row.head]))
    seen = {row.method for row in rows}
    unrun = sorted((k for k in registered or {} if k not in seen), key=lambda k: (_order(k), k))
    lines += [_line(unrun_cells(k, registered[k])) for k in unrun]
    return "\n".join(lines) + "\n"
