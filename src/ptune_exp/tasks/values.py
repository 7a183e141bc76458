"""The values of one row of an official file, checked: `field(obj, key, kind)` returns the value when it
has the JSON type the layout wants, else raises KeyError (missing) or ValueError (wrong type or value).
`located` (families/base.py) or `where` turns those into one error line naming the file and the line
(or record), so a `null` text, a number where a string belongs or a label of the wrong type never
reaches a Dataset.

Strings must be valid Unicode (a JSON escape of half a surrogate pair, "\\ud800", is refused); whole
numbers must fit 64 bits; booleans are not numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.files import json_type

MISSING = object()
INT64 = 2**63
_SURROGATE = re.compile("[\ud800-\udfff]")
KINDS = {str: "a string", int: "a whole number", list: "an array", dict: "an object", bool: "true or false"}


def field(obj, key: str, kind: type, default=MISSING, at: str = ""):
    """obj[key], checked to be of `kind` (str, int, list, dict, bool); `default` when the key is absent
    (or null, when a default is given); `at` prefixes the field's name in messages (e.g. "target.")."""
    if not isinstance(obj, dict):
        raise ValueError(f"{at.rstrip('.') or 'the record'} should be an object, got {json_type(obj)}")
    value = obj.get(key, MISSING)
    if value is MISSING or (value is None and default is not MISSING):
        if default is MISSING:
            raise KeyError(f"{at}{key}")
        return default
    if not _is(value, kind):
        shown = "" if value is None else f" ({value!r:.40})"
        raise ValueError(f"field {at + key!r} should be {KINDS[kind]}, got {json_type(value)}{shown}")
    if kind is str:
        checked_text(value, at + key)
    return value


def _is(value, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64
    return isinstance(value, kind)


def checked_text(value: str, name: str) -> str:
    """A string that is valid Unicode (JSON can escape half a surrogate pair, which no file can store)."""
    bad = _SURROGATE.search(value)
    if bad:
        raise ValueError(f"field {name!r} holds {bad.group()!r}, half a surrogate pair; it is not valid text")
    return value


def index(obj, key: str, default=MISSING, at: str = "") -> int:
    """A whole number >= 0 (an example's or an answer's index)."""
    value = field(obj, key, int, default, at)
    if value < 0:
        raise ValueError(f"field {at + key!r} should be >= 0, got {value}")
    return value


def number(value, name: str) -> float:
    """A finite number, from a JSON number or the text of one (a tsv field)."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} {value!r} is not a finite number")
    return out


@contextmanager
def where(place: str, layout: str) -> Iterator[None]:
    """Inside: a missing field (KeyError) or a refused value (ValueError) becomes one error line at
    `place` (file:line, or file and record) that names the expected `layout`."""
    try:
        yield
    except KeyError as e:
        raise PtuneError(f"{place}: missing field {e} (expected {layout})") from None
    except ValueError as e:
        raise PtuneError(f"{place}: {e} ({layout})") from None
