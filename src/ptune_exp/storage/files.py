"""Every file a tool writes (records, predictions, exports, compare's tables and figures) goes through
`atomic_path`: it is written to a temporary file in the same folder, flushed to disk (fsync) and renamed
over the target, so a reader, a crash or a full disk never leaves half a file where a whole one was: the
earlier file stays as it was. A failure is a `WriteError` that names the file (and is an OSError too).

JSON is written strictly (`write_json`): no bare NaN or Infinity, which strict parsers reject; a
non-finite number is written as null.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator

from ptune_exp.errors import PtuneError

TMP = ".tmp"  # a temporary file is `<target>.<pid>.tmp`: a run removes those it finds of its own files


class WriteError(OSError, PtuneError):
    """A file could not be written; the message names it, and the earlier file (if any) is unchanged."""

    def __str__(self) -> str:
        return str(self.strerror)


def temp_name(path: str) -> str:
    return f"{path}.{os.getpid()}{TMP}"


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to `path` for the caller to write; then fsync it and rename it over
    `path`. On any error the temporary file is removed and `path` is left as it was."""
    tmp = temp_name(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(e.errno, f"cannot write {path} ({e.strerror or e}); it was left as it was", path) from None
        raise
    with contextlib.suppress(OSError):  # the rename itself, made durable where the OS allows it
        _fsync(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs):
    """`open(path, mode)` that replaces `path` only once the file is completely written."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def write_text(path: str, text: str) -> str:
    with atomic_open(path) as f:
        f.write(text)
    return path


def finite(value):
    """`value` with every non-finite float (NaN, ±inf) replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_text(data, **kwargs) -> str:
    """Strict JSON: non-finite numbers written as null (json.dumps would write bare NaN/Infinity)."""
    return json.dumps(finite(data), allow_nan=False, **kwargs)


def write_json(path: str, data, indent: int | None = 2, **kwargs) -> str:
    return write_text(path, json_text(data, indent=indent, **kwargs) + "\n")


def write_lines(path: str, rows, **kwargs) -> str:
    """JSON Lines: one strict JSON object per line."""
    with atomic_open(path) as f:
        for row in rows:
            f.write(json_text(row, **kwargs) + "\n")
    return path


def remove_stale(folder: str, names) -> None:
    """Remove the temporary files a killed process left of `names` in `folder`."""
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder):
            base, _, rest = entry.rpartition(".")
            if rest == TMP[1:] and any(base.startswith(f"{n}.") for n in names):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(folder, entry))
