"""A custom task's splits as read: a `datasets.Dataset` per split, through `datasets`' own builders.

  csv, tsv           load_dataset("csv", data_files=..., delimiter=...)   (a header row names the columns)
  json, jsonl        load_dataset("json", data_files=...)   (JSON lines, or one JSON array of objects)
  parquet            load_dataset("parquet", data_files=...)
  hub_id             load_dataset(hub_id, hub_config, split=..., revision=...)   (a hub dataset id, or a
                     local folder laid out like a dataset repository)

The format is the file's extension (`task.format` says it for every file). CoNLL column files (tagging)
and SQuAD json files (qa) are read by those families' own readers (`rows.py`). Each `Source` says how
to name one of its rows in an error: `file:line` for text files, `row N` otherwise.
"""

from __future__ import annotations

import csv
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.custom.config import CustomTaskConfig

EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}
EXTENSIONS |= {".txt": "conll", ".conll": "conll", ".iob": "conll", ".bio": "conll"}
BUILDERS = {"csv": "csv", "tsv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet"}


@dataclass(frozen=True)
class Source:
    """Where one split comes from: a file in a format, or a split of a hub dataset."""

    label: str  # the file's path, or "<hub id> split <name>"
    format: str  # csv | tsv | json | jsonl | parquet | conll | squad | hub
    path: str | None = None

    def where(self, i: int) -> str:
        """Row i (from 0) of this source, as an error names it."""
        if self.format in ("csv", "tsv"):
            return f"{self.label}:{i + 2}"  # line 1 is the header
        if self.format == "jsonl":
            return f"{self.label}:{i + 1}"
        return f"{self.label} row {i + 1}"


def sources(task: CustomTaskConfig) -> dict[str, Source]:
    """role -> its Source, for the roles read from data (dev may instead be carved from train)."""
    if task.hub_id is not None:
        return {role: Source(f"{task.hub_id} split {name!r}", "hub") for role, name in task.splits}
    return {role: Source(path, file_format(task, path), path) for role, path in task.data_files}


def file_format(task: CustomTaskConfig, path: str) -> str:
    """The declared format, or the one of the file's extension; a json file of a qa task may be SQuAD's."""
    fmt = task.format or EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise PtuneError(
            f"{path}: cannot tell its format from the extension; name it .csv, .tsv, .json, .jsonl or .parquet "
            "(.txt or .conll: CoNLL columns), or set task.format"
        )
    if fmt == "conll" and task.family != "tagging":
        raise PtuneError(f"{path}: CoNLL column files are for task.family=tagging; give {task.family} data as csv/json")
    if fmt == "squad" and task.family != "qa":
        raise PtuneError(f"{path}: SQuAD json files are for task.family=qa")
    if fmt == "json" and task.family == "qa" and _squad_layout(path):
        return "squad"
    return fmt


def _squad_layout(path: str) -> bool:
    """Whether a .json file starts like the official SQuAD layout ({"version"..., "data": [...]})."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and re.search(r'"data"\s*:\s*\[', head) is not None


def load_table(source: Source):
    """A csv, tsv, json(l) or parquet file as a Dataset; a file its builder cannot read is an error."""
    from datasets import load_dataset

    path = source.path
    if os.path.isdir(path):
        raise PtuneError(f"{path} is a folder; give a file (a folder laid out like a dataset: task.hub_id={path})")
    if not os.path.isfile(path):
        raise PtuneError(f"{path}: no such file (task.data_files)")
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if source.format == "tsv" else {}
    try:
        with quiet():
            return load_dataset(BUILDERS[source.format], data_files={"split": path}, split="split", **options)
    except Exception as e:  # a file the builder cannot parse: not the declared format
        raise PtuneError(_unreadable(source, e)) from None


@contextmanager
def quiet():
    """No progress bars from `datasets` while it reads a small file."""
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def _unreadable(source: Source, error: Exception) -> str:
    text = " ".join(str(error).split())
    changed = re.search(r"Column\((/[^)]*)\) changed from (\w+) to (\w+)", text)
    if changed:
        column = changed.group(1).lstrip("/")
        return (
            f"{source.label}: column {column!r} mixes types ({changed.group(2)} and {changed.group(3)}); "
            f"write every {column} the same way (e.g. all strings)"
        )
    if "corresponds to no data" in text:  # a csv with its header only
        return f"{source.label}: the split is empty (no rows); give it some"
    cause = text.split("\n")[0][:200] or type(error).__name__
    return (
        f"{source.label} is not a readable {source.format} file ({type(error).__name__}: {cause}); "
        "fix the file, or say its format with task.format"
    )


def load_hub(task: CustomTaskConfig, role: str, source: Source):
    """One split of a hub dataset (or of a local folder laid out like one)."""
    from datasets import load_dataset

    name = dict(task.splits)[role]
    try:
        with quiet():
            return load_dataset(task.hub_id, task.hub_config, split=name, revision=task.revision)
    except Exception as e:  # offline, a missing split, a folder without data files
        text = " ".join(str(e).split())[:300]
        raise PtuneError(
            f"could not load {source.label} ({type(e).__name__}: {text}); check task.hub_id, task.hub_config "
            f"and task.splits.{role}, or give local files with task.data_files.{role}=FILE"
        ) from None
