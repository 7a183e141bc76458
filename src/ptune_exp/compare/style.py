"""One colour and one marker per row, the same in every figure (`--plot`, `--report`).

The colour says which method a row is: a fixed map keyed by the method's key and what makes it a
different model (reparameterisation, a head or prompt-encoder choice), so fine-tuning is the same grey
in every figure of every report, whatever other rows are drawn beside it. Rows of one colour (the same
method with other settings: epochs, learning rate, prefix length, ...) differ by marker (lines and
points) and hatch (bars), given in the table's row order. No two rows of a table share colour and marker.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

from ptune_exp.compare.table import Row, Table

# Okabe & Ito's colour-blind-safe palette, one colour per method the project knows.
METHOD_COLOURS = {
    "fft": "#555555",
    "pt": "#0072B2",
    "prefix": "#009E73",
    "ptv2": "#D55E00",
    "lora": "#CC79A7",
    "ia3": "#E69F00",
}
OTHER_COLOURS = ["#56B4E9", "#F0E442", "#882255", "#117733", "#332288", "#999933"]  # methods added later
SHADES = [0.0, 0.42, -0.32, 0.25, -0.18, 0.55]  # lightness shifts: the method's variants of its model
KNOWN_SHADES = {"": 0, "reparam": 1}
IDENTITY_FIELDS = ("head", "prompt_encoder")  # method_config keys that make a different model, where recorded
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<"]
HATCHES = ["", "//", "..", "xx", "\\\\", "--", "++", "oo", "||", "**"]
LINESTYLES = ["-", "--", ":", "-."]


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    hatch: str
    linestyle: str


def _pick(text: str, n: int) -> int:
    """A stable index in [0, n) for a text (not Python's hash(): that changes between processes)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % n


def identity(row: Row) -> tuple[str, str]:
    """(method key, what makes the row's model different from the method's usual one: `reparam`,
    `head=...`, `prompt_encoder=...`, joined by `, `; empty for the usual one)."""
    extras = []
    if row.reparam != (row.method == "prefix"):  # prefix tuning always has its MLP; the others not by default
        extras.append("reparam" if row.reparam else "no reparam")
    config = (row.records[0].get("method_config") or {}) if row.records else {}
    extras += [f"{k}={config[k]}" for k in IDENTITY_FIELDS if config.get(k) not in (None, "")]
    return row.method, ", ".join(extras)


def _shade(colour: str, amount: float) -> str:
    """The colour made lighter (amount > 0) or darker (< 0), in HLS lightness."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lightness = min(0.92, max(0.08, lightness + amount * (1 - lightness if amount > 0 else lightness)))
    return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(h, lightness, s))


def colour_of(method: str, variant: str = "", round_: int = 0) -> str:
    """The fixed colour of a method (and its model's variant); `round_` > 0 shifts it for the 11th and
    later rows of one colour, so that colour and marker together stay unique."""
    base = METHOD_COLOURS.get(method) or OTHER_COLOURS[_pick(method, len(OTHER_COLOURS))]
    shade = KNOWN_SHADES.get(variant)
    if shade is None:
        shade = 1 + _pick(variant, len(SHADES) - 1)
    amount = SHADES[shade] + (0.12 * round_ if SHADES[shade] <= 0 else -0.12 * round_)
    return base if amount == 0 else _shade(base, amount)


def styles(table: Table) -> list[Style]:
    """The style of each of the table's rows (aligned with `table.rows`)."""
    seen: dict[str, int] = {}
    out = []
    for row in table.rows:
        key = colour_of(*identity(row))
        i = seen.get(key, 0)
        seen[key] = i + 1
        colour = key if i < len(MARKERS) else colour_of(*identity(row), round_=i // len(MARKERS))
        out.append(Style(colour, MARKERS[i % len(MARKERS)], HATCHES[i % len(HATCHES)], LINESTYLES[i % len(LINESTYLES)]))
    return out
