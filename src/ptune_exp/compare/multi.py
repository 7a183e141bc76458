"""Multi-task and transferred runs in the comparison table. A multi-task record (`task=multi`) becomes one
record per member task (its member's dev/test scores, family and metrics), so the members land in their
own tasks' columns; every record gets its `setting`: `multi-task` (trained jointly with other tasks),
`from multi-task` or `from <task>` (its prompt started from a trained one, `method.init_from`), or none.
Rows never mix settings, and the "multi-task" concept column says which one a row has."""

from __future__ import annotations


def setting_of(record: dict) -> str:
    """How a run's prompt relates to other tasks: "", "multi-task", "from multi-task" or "from <task>"."""
    if record.get("member_of"):
        return "multi-task"
    transfer = record.get("transfer")
    if not isinstance(transfer, dict):
        return ""
    tasks = transfer.get("tasks") or []
    return "from multi-task" if len(tasks) > 1 else f"from {tasks[0]}" if tasks else "from another run"


def concept_text(records: list[dict]) -> str:
    """The "multi-task" concept cell of a row: with how many tasks its prompt trained jointly, or before."""
    setting = setting_of(records[0])
    if setting == "multi-task":
        sizes = sorted({len(r["member_of"]) for r in records})
        return f"yes ({'/'.join(map(str, sizes))} tasks)"
    if setting == "from multi-task":
        sizes = sorted({len(r["transfer"]["tasks"]) for r in records})
        return f"then this task ({'/'.join(map(str, sizes))} tasks)"
    return setting or "no"


def expand(records: list[dict]) -> list[dict]:
    """Each completed multi-task record as one record per member that has dev scores; the rest as they are."""
    out = []
    for r in records:
        members = r.get("members")
        if r.get("status") != "completed" or r.get("task") != "multi" or not isinstance(members, dict):
            out.append(r)
            continue
        out += [_member_record(r, name, m) for name, m in members.items() if isinstance(m, dict) and m.get("dev")]
    return out


def _member_record(record: dict, name: str, member: dict) -> dict:
    keys = ("task_source", "family", "metrics", "main_metric", "labels", "dev", "test", "extra")
    return {**record, **{k: member.get(k) for k in keys}, "task": name, "member_of": list(record["members"])}
