"""Which records the table can use. A record that says `completed` must hold what the table reads, of
the right types; one that does not (written by hand, by an older or newer ptune-exp, cut short) is
listed with its path and the reason, like a failed run, and the table is built from the rest.

Every earlier record schema is read (`schema` absent: the records written before it was recorded;
`runs/records.py` SCHEMA is today's); a record of a later schema than this ptune-exp knows is refused."""

from __future__ import annotations

import math

from ptune_exp.runs.records import SCHEMA

_TEXT = ("model", "task", "method", "family", "main_metric")
SIGNED = {"mcc", "pearson", "spearman", "matthews_correlation"}  # correlations: in [-100, 100]; the rest [0, 100]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scores_problem(record: dict, split: str) -> str | None:
    scores = record.get(split)
    if split == "test" and not scores:
        return None  # no labelled test split
    if not isinstance(scores, dict):
        return f"`{split}` is {type(scores).__name__}, not a mapping of metric -> score"
    if record["main_metric"] not in scores:
        return f"`{split}` lacks the main metric {record['main_metric']!r}"
    bad = sorted(m for m in record["metrics"] if m in scores and not _number(scores[m]))
    return f"`{split}` scores of {bad} are not numbers" if bad else _range_problem(record, split, scores)


def _range_problem(record: dict, split: str, scores: dict) -> str | None:
    """A score outside its metric's range (percent: [0, 100], correlations [-100, 100])."""
    for metric in record["metrics"]:
        low = -100.0 if metric in SIGNED else 0.0
        if metric in scores and not low <= scores[metric] <= 100.0:
            return f"`{split}` {metric}={scores[metric]!r:.12} is outside [{low:g}, 100]"
    return None


def _extra_problem(record: dict) -> str | None:
    """The extra evaluation splits (`extra`: split -> scores) hold numbers in range too, when there are any."""
    extra = record.get("extra")
    if not extra:
        return None
    if not isinstance(extra, dict) or not all(isinstance(s, dict) for s in extra.values()):
        return "`extra` is not a mapping of split -> scores"
    for split, scores in extra.items():
        bad = sorted(m for m in record["metrics"] if m in scores and not _number(scores[m]))
        if bad:
            return f"`extra.{split}` scores of {bad} are not numbers"
        if problem := _range_problem(record, f"extra.{split}", scores):
            return problem
    return None


def _schema_problem(record: dict) -> str | None:
    version = record.get("schema", 0)  # 0: written before records carried their schema
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return f"`schema`={version!r} is not a record schema version"
    if version > SCHEMA:
        return f"`schema`={version} is newer than this ptune-exp reads (up to {SCHEMA}): upgrade ptune-exp"
    return None


def _fields_problem(record: dict) -> str | None:
    for key in _TEXT:
        if not isinstance(record.get(key), str) or not record.get(key):
            return f"`{key}` is missing" if key not in record else f"`{key}`={record[key]!r} is not a text"
    if not isinstance(record.get("seed"), int) or isinstance(record.get("seed"), bool):
        return f"`seed`={record.get('seed')!r} is not an integer"
    metrics = record.get("metrics")
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        return "`metrics` is not a list of metric names"
    if record["main_metric"] not in metrics:
        return f"main_metric {record['main_metric']!r} is not one of `metrics` {metrics}"
    return None


def _parts_problem(record: dict) -> str | None:
    params, table1 = record.get("params"), record.get("table1")
    if not isinstance(params, dict) or not _number(params.get("trainable_pct")):
        return "`params.trainable_pct` is missing or not a number"
    if not isinstance(table1, dict) or "deep" not in table1:
        return "`table1.deep` is missing"
    if not isinstance(record.get("method_config"), dict):
        return "`method_config` is missing or not a mapping"
    config = record.get("config")
    if config is not None and not (
        isinstance(config, dict) and all(_mapping(config.get(g)) for g in ("train", "task"))
    ):
        return "`config` (or its train/task part) is not a mapping"
    for key in ("task_source", "finished_at", "method_title"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"`{key}`={record[key]!r} is not a text"
    return None


def _mapping(value) -> bool:
    return value is None or isinstance(value, dict)


def problem(record: dict) -> str | None:
    """Why a completed record cannot go into the table; None when it can."""
    return (
        _schema_problem(record)
        or _fields_problem(record)
        or _parts_problem(record)
        or _scores_problem(record, "dev")
        or _scores_problem(record, "test")
        or _extra_problem(record)
    )


def screen(records: list[dict]) -> list[dict]:
    """The records, those that say completed but cannot be used marked `invalid` with the reason."""
    out = []
    for r in records:
        why = problem(r) if r.get("status") == "completed" else None
        out.append({**r, "status": "invalid", "error": f"invalid record: {why}"} if why else r)
    return out
