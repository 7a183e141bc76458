"""Which settings make two runs different experiments. Runs that differ in a setting are never averaged
together (their rows split); a re-run of the same settings and seed supersedes the earlier one."""

from __future__ import annotations

import hashlib
import json

from ptune_exp.config.schema import non_splitting_keys

# Settings that do not change what a run measures never split rows: they are marked where they are
# declared (`splits_rows=False` in ptune_exp/config.py), e.g. train.progress, task.data_dir.
IGNORED = frozenset(non_splitting_keys())
# Settings that say *what* a run is, not how it was tuned: the data and backbone weights it saw, where its
# prompt started from, the members of its multi-task training. The headline table never chooses between
# runs that differ here (they stay separate rows); the other settings (lr, epochs, prefix length, ...) are
# chosen between per task (compare/search.py).
IDENTITY = frozenset({"data", "weights", "init_from", "task.members"})


def settings(record: dict) -> dict[str, object]:
    """What a run was asked to do, but its seed: method knobs by name (`prefix_len`), training and task
    settings as `train.epochs`, `task.max_train_samples`, ... Runs that differ here are not averaged."""
    out = {k: _hashable(v) for k, v in (record.get("method_config") or {}).items() if k not in IGNORED}
    if out.get("init_from") is not None:
        out["init_from"] = source(record.get("transfer") or {})
    config = record.get("config") or {}
    for group in ("train", "task"):
        for key, value in (config.get(group) or {}).items():
            name = f"{group}.{key}"
            if name == "task.members" and isinstance(value, dict):  # a member's folder is where, not what
                value = {m: {k: v for k, v in (o or {}).items() if k != "data_dir"} for m, o in value.items()}
            if name not in IGNORED:
                out[name] = _hashable(value)
    return {**out, **provenance(record)}


def head_of(record: dict) -> str:
    """The run's classification head (`method.head`): linear, pooler or verbalizer (records before it: linear)."""
    return (record.get("method_config") or {}).get("head") or "linear"


def encoder_of(record: dict) -> str:
    """How the prompt is reparameterised: LSTM or MLP (ptv1's `method.prompt_encoder`), MLP
    (`method.reparam=true`), or none."""
    mc = record.get("method_config") or {}
    if mc.get("prompt_encoder"):
        return str(mc["prompt_encoder"]).upper()
    return "MLP" if mc.get("reparam") else "none"


def source(transfer: dict) -> str:
    """A transferred prompt's source by what it was (method and tasks), not where it lies nor its weights:
    each seed of "multi-task, then each task" starts from its own multi-task run, and the seeds share a row."""
    return f"{transfer.get('method')} on {'+'.join(transfer.get('tasks') or ['?'])}"


def _hashable(value):
    """Lists and mappings (`method.target_modules`, `task.labels`) as JSON text: a row's variant is a key."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def provenance(record: dict) -> dict[str, str]:
    """Short digests of the data files and backbone weights a run saw (when its record has them): runs
    on different data or weights are different experiments, and the row label says which."""
    out = {}
    if record.get("data_sha256"):
        out["data"] = hashlib.sha256(json.dumps(record["data_sha256"], sort_keys=True).encode()).hexdigest()[:8]
    weights = ((record.get("provenance") or {}).get("model") or {}).get("weights_sha256")
    if isinstance(weights, str):
        out["weights"] = weights[:8]
    return out


def latest_per_seed(records: list[dict]) -> list[dict]:
    """A re-run of the same settings and seed supersedes the earlier one."""
    latest: dict[tuple, dict] = {}
    for r in sorted(records, key=lambda r: r.get("finished_at") or ""):
        latest[(r["task"], r.get("task_source"), r["seed"], json.dumps(settings(r), sort_keys=True, default=str))] = r
    return list(latest.values())


def variant_fields(records: list[dict]) -> list[str]:
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
