"""`ptune-exp-compare --cost`: what each row of the results table cost (the runs' `record["cost"]`, written by
runs/cost.py), beside what it scored.

Per row: each cost's mean over the row's runs that recorded it, and its ratio to fine-tuning measured on
the same device: for each (task, device) the row shares with the task's fine-tuning row (`Table.fft_row`,
the one the Δ column uses), the row's mean there over fine-tuning's mean there; the ratio shown is the mean
of those. Without fine-tuning runs of the same task on the same device there is no ratio ("–"). A row whose
runs come from different devices is flagged: its mean mixes machines.
"""

from __future__ import annotations

import statistics

from ptune_exp.compare.table import Row, Table

# (column, record["cost"] key, how a value is written)
COLUMNS = [
    ("step s", "step_time_s", lambda v: f"{v:.3g}"),
    ("train ex/s", "train_examples_per_s", lambda v: f"{v:.3g}"),
    ("eval ex/s", "eval_examples_per_s", lambda v: f"{v:.3g}"),
    ("peak MB", "peak_memory_mb", lambda v: f"{v:.3g}"),
    ("stored", "stored_bytes", lambda v: size_text(v)),
]
COST_KEYS = [key for _, key, _ in COLUMNS]
MIXED = "⚠"
NOTE = (
    "Cost: each value the mean over the row's runs that recorded it; ×FT = its ratio to fine-tuning's on the same "
    "task and device (the mean over the tasks and devices both have; – where fine-tuning has none). "
    f"{MIXED} = the row's runs come from different devices: its means mix machines. Peak memory: {{kinds}}."
)


def size_text(n: float) -> str:
    """Bytes in the unit that keeps 3 significant figures readable: 8.74 kB, 171 kB, 1.34 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def cost_of(record: dict, key: str) -> float | None:
    value = (record.get("cost") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def device_of(record: dict) -> str | None:
    """The device a run's cost was measured on (records before `cost`: none)."""
    return (record.get("cost") or {}).get("device")


def mean_cost(records: list[dict], key: str) -> float | None:
    values = [v for r in records if (v := cost_of(r, key)) is not None]
    return statistics.fmean(values) if values else None


def devices(row: Row) -> list[str]:
    return sorted({d for r in row.records if (d := device_of(r))})


def ratio_to_fft(table: Table, row: Row, key: str) -> float | None:
    """The mean over the (task, device) pairs the row shares with that task's fine-tuning row of the row's
    mean cost there over fine-tuning's mean cost there."""
    ratios = []
    pairs = sorted({(r["task"], device_of(r)) for r in row.records if device_of(r)})
    for task, device in pairs:
        ft = table.fft_row(task)
        if ft is None:
            continue
        ours = mean_cost([r for r in row.records if r["task"] == task and device_of(r) == device], key)
        theirs = mean_cost([r for r in ft.records if r["task"] == task and device_of(r) == device], key)
        if ours is not None and theirs is not None:
            ratios.append(ours / theirs)
    return statistics.fmean(ratios) if ratios else None


def cost_cells(table: Table, row: Row) -> list[str]:
    """The row's cost cells: each cost and its ratio to fine-tuning, then the device(s) and the runs counted."""
    cells = []
    for _, key, text in COLUMNS:
        mean, ratio = mean_cost(row.records, key), ratio_to_fft(table, row, key)
        cells += [text(mean) if mean is not None else "–", f"{ratio:.3g}×" if ratio is not None else "–"]
    found = devices(row)
    device = found[0] if len(found) == 1 else (f"{MIXED} {len(found)} devices: {', '.join(found)}" if found else "–")
    runs = sum(1 for r in row.records if r.get("cost"))
    return [*cells, device, f"{runs}/{len(row.records)}"]


def _cost_rows(table: Table) -> list[list[str]]:
    return [[row.label, *cost_cells(table, row)] for row in table.rows]


def cost_header() -> list[str]:
    return ["method", *(h for title, _, _ in COLUMNS for h in (title, "×FT")), "device", "runs with cost"]


def _md(cells: list[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def cost_markdown(tables: list[Table]) -> str:
    """The cost view: one table per backbone, one line per row of the results table, then the note."""
    out = []
    for table in tables:
        header = cost_header()
        out += [f"### Cost: {table.model}\n", _md(header), "|" + "---|" * len(header)]
        out += [_md(cells) for cells in _cost_rows(table)]
        out.append("")
    kinds = sorted({k for t in tables for row in t.rows for r in row.records if (k := memory_kind(r))})
    out.append(NOTE.format(kinds=", ".join(kinds) or "none recorded"))
    return "\n".join(out) + "\n"


def memory_kind(record: dict) -> str | None:
    return (record.get("cost") or {}).get("memory_kind")


def cost_json(table: Table, row: Row) -> dict:
    """A row's cost for `--json`: per measure, the mean over its runs and the ratio to fine-tuning (None where
    not measured), and the devices its runs came from."""
    out = {
        key: {"mean": mean_cost(row.records, key), "ratio_to_fft": ratio_to_fft(table, row, key)}
        for _, key, _ in COLUMNS
    }
    return {**out, "devices": devices(row)}


def cost_tables(tables: list[Table]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(model, header, rows) of the cost view for each table whose runs recorded a cost (the report's)."""
    out = []
    for table in tables:
        if any(r.get("cost") for row in table.rows for r in row.records):
            out.append((table.model, cost_header(), _cost_rows(table)))
    return out
