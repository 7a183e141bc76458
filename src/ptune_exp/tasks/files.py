"""Readers for the official local file formats, with errors that name the file and line.

Every text file (tsv, jsonl, json, CoNLL columns) is read as UTF-8, with or without a byte-order mark
(the official MRPC files start with one): `text_lines` streams a file's lines with their numbers,
`read_text` reads a whole one. Bytes that are not UTF-8, a folder where a file should be, an empty
file, a line that is not JSON or not an object, and a tsv line with the wrong number of fields are
each one `PtuneError` naming the file and line. The values of a row are checked by `values.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import BinaryIO

from ptune_exp.errors import PtuneError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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


def as_split(rows: list[dict], spec, role: str, features=None, where: str | None = None):
    """The rows of one split as a Dataset; an empty split is an error (naming its file, when there is one)."""
    from datasets import Dataset

    if not rows:
        source = f"{where}: " if where else ""
        raise PtuneError(f"{source}task={spec.name}: the {role} split is empty (no examples); give it a file with some")
    return Dataset.from_list(rows, features=features)


def require_file(data_dir: str, name: str, what: str) -> str:
    path = os.path.join(data_dir, name)
    if os.path.isdir(path):
        raise PtuneError(f"{what}: {path} is a directory; expected the official file {name} there")
    if not os.path.isfile(path):
        present = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else None
        where = f"it holds {present}" if present is not None else "that directory does not exist"
        raise PtuneError(
            f"{what}: expected {path}, but {where}. Point task.data_dir at the folder with the official files."
        )
    return path


# ---------------------------------------------------------------- text


def open_bytes(path: str) -> BinaryIO:
    """The file, opened for reading; a folder, a missing or an unreadable file is a one-line error."""
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise PtuneError(f"{path} is a directory; give the file itself") from None
    except FileNotFoundError:
        raise PtuneError(f"{path} does not exist") from None
    except OSError as e:
        raise PtuneError(f"cannot read {path} ({e.strerror}); check that it is a readable file") from None


def _not_utf8(path: str, line: int, byte: int, offset: int) -> PtuneError:
    return PtuneError(
        f"{path}:{line}: not UTF-8 text (byte 0x{byte:02x} at byte offset {offset}); save the file as UTF-8"
    )


def _utf16(path: str, data: bytes) -> None:
    if data.startswith(UTF16_BOMS):
        raise PtuneError(f"{path}:1: the file is UTF-16 text; save it as UTF-8")


def text_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its line break) of a UTF-8 text file; a byte-order mark is dropped.
    Lines end at "\\n" (a "\\r" before it goes too)."""
    with open_bytes(path) as f:
        offset = 0
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                _utf16(path, raw if n == 1 else b"")
                raise _not_utf8(path, n, raw[e.start], offset + e.start) from None
            offset += len(raw)
            yield n, line.rstrip("\r\n")


def read_text(path: str) -> str:
    """A whole UTF-8 text file (a byte-order mark dropped); a file without any text is an error."""
    with open_bytes(path) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        _utf16(path, data)
        raise _not_utf8(path, data.count(b"\n", 0, e.start) + 1, data[e.start], e.start) from None
    if not text.strip():
        raise PtuneError(f"{path} is empty")
    return text


def parse_json(text: str, path: str, expected: str):
    """The JSON value of a whole file's text; what is not JSON is an error at its line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        return _bad_json(f"{path}:{e.lineno}:{e.colno}", e.msg, f"; expected {expected}")
    except RecursionError:
        return _bad_json(path, "nested too deeply", f"; expected {expected}")
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        return _bad_json(path, str(e), f"; expected {expected}")


def _bad_json(where: str, why: str, hint: str):
    raise PtuneError(f"{where}: not valid JSON ({why}){hint}")


# ---------------------------------------------------------------- jsonl, tsv


def read_jsonl(path: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line."""
    for n, line in text_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            obj = _bad_json(f"{path}:{n}", "nested too deeply", "")
        except ValueError as e:  # JSONDecodeError, or an integer of more digits than Python converts
            why = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
            obj = _bad_json(f"{path}:{n}", why, "; each line must be one JSON object")
        if not isinstance(obj, dict):
            raise PtuneError(f"{path}:{n}: expected a JSON object {{...}}, got {json_type(obj)}")
        yield n, obj


def read_tsv(path: str, header: bool, columns: tuple = ()) -> Iterator[tuple[int, dict | list]]:
    """(line number, row) per non-empty line: a dict keyed by the header when there is one, else the list
    of fields. Fields are split at every tab (no quoting, as the official GLUE readers do). Every line
    must have as many fields as the first; `columns` (header names, or field indices without a header)
    must be among them."""
    names, width = None, None
    for n, line in text_lines(path):
        if not line:
            continue
        row = line.split("\t")
        if width is None:
            width = len(row)
            _check_columns(path, n, row if header else None, columns, width)
            if header:
                names = row
                continue
        if len(row) != width:
            first = f"the header has {width} ({names})" if names else f"the file's first line has {width}"
            raise PtuneError(f"{path}:{n}: {len(row)} tab-separated fields, but {first}; every line needs the same")
        yield n, (dict(zip(names, row)) if names else row)


def _check_columns(path: str, n: int, names: list[str] | None, columns: tuple, width: int) -> None:
    if names is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise PtuneError(f"{path}:{n}: the header has no column {missing[0]!r} (its columns: {names})")
        if len(set(names)) != len(names):
            raise PtuneError(f"{path}:{n}: the header names a column twice ({names})")
    elif columns and max(columns) >= width:
        raise PtuneError(f"{path}:{n}: {width} tab-separated fields, but the layout needs {max(columns) + 1}")


def json_type(value) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)
