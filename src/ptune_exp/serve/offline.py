"""`ptune-exp-predict EXPORT_DIR EXPORT_DIR [...] INPUT`: the server's mixed batching, offline.

INPUT is a .jsonl file whose every line names its task (`"task"`: an export's name, as
`ptune-exp-serve` names it: its folder, or NAME=DIR) and holds the input in that task's own fields
(as `Predictor.predict` takes them: `{"task": "rte", "premise": ..., "hypothesis": ...}`; a tagging
input's words in `"tokens"`). The exports are loaded on one backbone (a refused export is an error
here), the rows go through mixed forwards, and OUT.jsonl gets one prediction per line, in the input's
order, each with its `task`.
"""

from __future__ import annotations

import json
import re

from ptune_exp.errors import PtuneError
from ptune_exp.serve.batch import answers, job_from_list, run_jobs
from ptune_exp.serve.registry import load_registry

FIELD = "task"


def read_rows(path: str, names: list[str]) -> list[tuple[str, object, int]]:
    """(task, input, line) of every non-empty line; a line without a served task is an error naming it."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = list(f)
    except (OSError, UnicodeDecodeError) as e:
        raise PtuneError(f"{path} cannot be read ({e}); give a UTF-8 .jsonl file") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise PtuneError(f"{path}:{number}: not JSON ({e})") from None
        if not isinstance(row, dict) or row.get(FIELD) not in names:
            raise PtuneError(f"{path}:{number}: field {FIELD!r} must name one of the exports {names}")
        task = row.pop(FIELD)
        rows.append((task, row, number))
    if not rows:
        raise PtuneError(f"{path} holds no inputs")
    return rows


def predict_mixed(specs: list[str], path: str, out_base: str, max_rows: int = 64, trust_remote_code=False) -> str:
    """Predictions for a file of rows of several tasks, through mixed batches; returns the written path."""
    registry = load_registry(specs, strict=True, trust_remote_code=trust_remote_code)
    rows = read_rows(path, sorted(registry.tasks))
    groups: dict[str, list[tuple[object, int]]] = {}
    for task, given, line in rows:
        groups.setdefault(task, []).append((given, line))
    jobs = {}
    for task, members in groups.items():
        if registry.tasks[task].parts.family.key == "candidates":
            raise PtuneError(f"{path}: task {task} predicts per question, not per line; predict it on its own")
        try:
            jobs[task] = job_from_list(registry.tasks[task], [given for given, _ in members])
        except PtuneError as e:
            at = lambda m, members=members: f"{path}:{members[int(m.group(1))][1]}"
            raise PtuneError(re.sub(r"inputs\[(\d+)\]", at, str(e))) from None
    run_jobs(registry, list(jobs.values()), max_rows, mixed=True)
    results = {task: iter(answers(job)) for task, job in jobs.items()}
    out = f"{out_base}.jsonl"
    try:
        with open(out, "w", encoding="utf-8") as f:
            for task, _, _ in rows:
                f.write(json.dumps({FIELD: task, **next(results[task])}) + "\n")
    except OSError as e:
        raise PtuneError(f"could not write the predictions to {out} ({e.strerror or e})") from None
    return out
