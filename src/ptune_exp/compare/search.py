"""Which setting a method's headline cell shows on a task (`ptune-exp-compare`'s default table).

Runs of one method that differ only in settings (lr, epochs, prefix length, ...: `variants.py` decides
which settings split rows) are one variant row each. The headline table keeps, per method and task, one
of them, by this rule, first match wins:

1. a search ran (a run of the task came from Hydra's Optuna sweeper, `hparams_search=...`, as its
   `.hydra/hydra.yaml` says; or `--best-of-search` declares every setting a search trial): the
   setting with the best mean dev main metric, labelled "best of K on dev" (as the paper reports);
2. else the setting with the most seeds;
3. else, among those tied, the method's default recipe: the setting whose runs set none of the
   varying settings on the command line (Hydra's `.hydra/overrides.yaml` beside the record);
4. else the first of the tied settings in the table's order, said so.

A setting alone on its task is "one setting"."""

from __future__ import annotations

import os
import statistics
from functools import lru_cache

import yaml

from ptune_exp.compare.table import Row


@lru_cache(maxsize=4096)
def _hydra_file(record_path: str, name: str):
    """A Hydra file beside a record (`.hydra/<name>`), parsed; None when absent or unreadable."""
    path = os.path.join(os.path.dirname(record_path), ".hydra", name)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None


def from_search(record: dict) -> bool:
    """Whether Hydra ran this run as a trial of a hyperparameter search (a sweeper other than the basic
    grid, or an `hparams_search=` preset), as the run dir's `.hydra/hydra.yaml` says."""
    hydra = _hydra_file(str(record.get("record_path") or ""), "hydra.yaml")
    choices = ((hydra or {}).get("hydra") or {}).get("runtime", {}).get("choices") or {}
    return choices.get("hparams_search") not in (None, "null") or choices.get("hydra/sweeper", "basic") != "basic"


def overridden(record: dict) -> set[str] | None:
    """The keys a run set on the command line (`method.lr`, `train.epochs`), None when not recorded."""
    given = _hydra_file(str(record.get("record_path") or ""), "overrides.yaml")
    if not isinstance(given, list):
        return None
    return {str(o).split("=", 1)[0].lstrip("+~") for o in given}


def _override_key(setting: str) -> str:
    """A variant's setting as the command line spells it: method knobs are `method.<name>`."""
    return setting if "." in setting else f"method.{setting}"


def is_default(row: Row, task: str, names: list[str]) -> bool:
    """Whether every run of the row on the task left all of `names` (the varying settings) to the
    method's recipe: none set on the command line."""
    keys = {_override_key(n) for n in names}
    given = [overridden(r) for r in row.records if r["task"] == task]
    return bool(given) and all(g is not None and not g & keys for g in given)


def dev_mean(row: Row, task: str, metric: str) -> float | None:
    values = [r["dev"][metric] for r in row.records if r["task"] == task and metric in (r.get("dev") or {})]
    return statistics.fmean(values) if values else None


def _best_on_dev(rows: list[Row], task: str, metric: str) -> Row | None:
    scored = [(score, i, row) for i, row in enumerate(rows) if (score := dev_mean(row, task, metric)) is not None]
    return max(scored, key=lambda s: (s[0], -s[1]))[2] if scored else None


def choose(rows: list[Row], task: str, metric: str, search: bool = False) -> tuple[Row, str] | None:
    """The variant row whose cell stands for the method on `task` (a task column), and why (the rule above)."""
    candidates = [r for r in rows if task in r.cells]
    if len(candidates) <= 1:
        return (candidates[0], "one setting") if candidates else None
    searched = search or any(from_search(r) for row in candidates for r in row.records if r["task"] == task)
    if searched and (best := _best_on_dev(candidates, task, metric)) is not None:
        return best, f"best of {len(candidates)} on dev"
    seeds = lambda row: row.cells[task][metric].n
    most = max(map(seeds, candidates))
    top = [r for r in candidates if seeds(r) == most]
    if len(top) == 1:
        return top[0], f"most seeds ({most}), of {len(candidates)} settings"
    names = sorted({k for row in top for k, _ in row.variant})
    default = [r for r in top if is_default(r, task, names)]
    if len(default) == 1:
        return default[0], f"default recipe, of {len(top)} settings with {most} seeds"
    return top[0], f"first of {len(top)} settings with {most} seeds, none recorded as the default recipe"
