"""Readers for the official local file formats, with errors that name the file and line."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator

from ptune_exp.errors import PtuneError


def hub_split(spec, split: str, revision: str | None = None, **options):
    """One split of the spec's dataset on the hub; offline or missing -> an error saying how to use local files."""
    from datasets import load_dataset

    path, name = spec.hub
    try:
        return load_dataset(path, name, split=split, revision=revision, **options)
    except Exception as e:  # offline, renamed, or a hub error: say what to do instead
        raise PtuneError(
            f"could not load {path}{'/' + name if name else ''} split {split!r} from the dataset hub "
            f"({type(e).__name__}: {e}).\nOffline? Download the official files and pass task.data_dir=DIR "
            f"(see README, Tasks: task={spec.name})."
        ) from None


def as_split(rows: list[dict], spec, role: str, features=None):
    """The rows of one split as a Dataset; an empty split is an error."""
    from datasets import Dataset

    if not rows:
        raise PtuneError(f"task={spec.name}: the {role} split is empty")
    return Dataset.from_list(rows, features=features)


def require_file(data_dir: str, name: str, what: str) -> str:
    path = os.path.join(data_dir, name)
    if not os.path.isfile(path):
        present = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else None
        where = f"it holds {present}" if present is not None else "that directory does not exist"
        raise PtuneError(
            f"{what}: expected {path}, but {where}. Point task.data_dir at the folder with the official files."
        )
    return path


def read_jsonl(path: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise PtuneError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object") from None
            if not isinstance(obj, dict):
                raise PtuneError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
            yield n, obj


def read_tsv(path: str, header: bool) -> Iterator[tuple[int, dict | list]]:
    """(line number, row) per line; rows are dicts keyed by the header when there is one."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        names = None
        for n, row in enumerate(rows, 1):
            if not row or row == [""]:
                continue
            if header and names is None:
                names = row
                continue
            if names is None:
                yield n, row
                continue
            if len(row) != len(names):
                raise PtuneError(
                    f"{path}:{n}: {len(row)} tab-separated fields, but the header has {len(names)} ({names})"
                )
            yield n, dict(zip(names, row))
