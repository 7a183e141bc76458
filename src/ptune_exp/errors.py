"""The one exception type users see: a message that says what is wrong and what to do."""

from __future__ import annotations

import functools
import json
import os
import sys

_PROG = ["ptune-exp"]  # the running command's name, for warnings


class PtuneError(Exception):
    """Bad input or an unsupported combination, reported before (or instead of) training."""


class TrainingDiverged(PtuneError):
    """The loss became NaN or infinite; the run is recorded as failed."""


def command(prog: str):
    """Decorate a console entry point `main(argv) -> int`: a PtuneError ends it with the one line
    `<prog>: error: <message>` on stderr and exit status 2 (a usage error), never a traceback."""

    def wrap(main):
        @functools.wraps(main)
        def entry(argv=None) -> int:
            _PROG.append(prog)
            try:
                return main(argv)
            except PtuneError as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 2
            finally:
                _PROG.pop()

        return entry

    return wrap


def warn(message: str) -> None:
    """One line `<prog>: warning: <message>` on stderr: something the user should know, not an error."""
    print(f"{_PROG[-1]}: warning: {message}", file=sys.stderr)


def read_json_file(path: str, missing: str) -> dict:
    """A JSON object in a file the user pointed at; `missing` says what to do when it is not there.
    Unreadable, not JSON, or not an object: an error that names the file."""
    if not os.path.isfile(path):
        raise PtuneError(missing)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise PtuneError(f"{path} is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None
    except (OSError, UnicodeDecodeError, RecursionError) as e:
        raise PtuneError(f"{path} cannot be read ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        raise PtuneError(f"{path} holds {kind}, not the JSON object ptune-exp writes")
    return data


_TYPE_NAMES = {str: "a string", dict: "an object", list: "a list", int: "an integer", bool: "true or false"}


def check_fields(data: dict, where: str, fields: dict) -> None:
    """Each `fields` key must be in `data` with a value of the given type (a tuple: any of them; `None` in
    it: may be null or absent). For files ptune-exp wrote that come back as input (records, exports)."""
    for key, kinds in fields.items():
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        value = data.get(key)
        if value is None and None in kinds:
            continue
        if key not in data:
            raise PtuneError(f"{where} has no {key!r} field; was it written by ptune-exp?")
        types = tuple(k for k in kinds if k is not None)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in types)
            raise PtuneError(f"{where}: {key}={value!r:.60} must be {wanted}")
