"""storage/files.py: every file the tools write is replaced whole or not at all, as strict JSON."""

import errno
import json
import os

import pytest

from ptune_exp.errors import PtuneError
from ptune_exp.runs.records import write_record


def strict(text: str):
    def refuse(name):
        raise ValueError(f"bare {name} in strict JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_record_with_non_finite_numbers_is_strict_json(tmp_path):
    path = write_record(str(tmp_path), {"status": "completed", "dev": {"loss": float("nan"), "f1": float("inf")}})
    assert strict(open(path).read())["dev"] == {"loss": None, "f1": None}


@pytest.mark.parametrize("fails", ["fsync", "write"])
def test_a_full_disk_leaves_the_earlier_file_and_names_the_path(tmp_path, monkeypatch, fails):
    from ptune_exp.storage.files import atomic_open, write_json

    path = tmp_path / "table.json"
    write_json(str(path), {"earlier": True})
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if fails == "fsync":
        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(PtuneError, match=rf"cannot write {path} \(No space left on device\)") as e:
            write_json(str(path), {"later": list(range(10_000))})
    else:
        message = rf"cannot write {path} \(No space left on device\)"
        with pytest.raises(OSError, match=message) as e, atomic_open(str(path)) as f:
            f.write("{")
            full()
    assert isinstance(e.value, OSError) and e.value.filename == str(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["table.json"]  # no temporary file left behind
