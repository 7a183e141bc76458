"""How a config is checked, in one place: a schema (a dataclass) checks the types and keys of what it is
given (OmegaConf merges the values into it), and its `__post_init__` the ranges. `checked(cls, values)`
does both and turns what OmegaConf raises into one line: `<key>=<value>: expected <what>`, or the
nearest valid key for a typo.

The same words serve Hydra's composition errors (`config/usage.py`), since a composed group is the
same schema. Nothing here imports torch; omegaconf is imported only when a config is checked.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from dataclasses import field
from typing import Any

from ptune_exp.errors import PtuneError

MISSING = "???"  # omegaconf.MISSING's value, written here so the benchmark runs where omegaconf is not installed


def _same(default=MISSING, **kw):
    """A setting that does not change what a run measures: it never splits rows in the comparison table."""
    return field(default=default, metadata={"splits_rows": False}, **kw)


def dotted(group: str, key: str) -> str:
    """`train.epochs`, or `seed` for a top-level key."""
    return f"{group}.{key}" if group else key


def show(value) -> str:
    """A value as it is written on the command line: `abc`, `true`, `null`, `[1, 2]`."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def nearest(word: str, candidates) -> str | None:
    """The candidate closest to a misspelled `word` (difflib), or None when none is close."""
    match = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def safe_name(value) -> bool:
    """Whether `value` can be one folder or file name: letters, digits, `. _ + -`, no `/`, not `..`."""
    return isinstance(value, str) and _SAFE_NAME.fullmatch(value) is not None


def check_name(key: str, value) -> None:
    if not safe_name(value):
        raise PtuneError(
            f"{key}={show(value)}: expected a plain name (letters, digits, '.', '_', '+', '-'; no '/' or '..'): "
            "it names the run's folder; put a hub id or a path in model.name_or_path"
        )


_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null"}


def words(annotation) -> str:
    """A declared type in words: `int | None` -> `an integer or null`, `list[str]` -> a list of names."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " or ".join(words(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        return "a list of names, e.g. [query,value]"
    if typing.get_origin(annotation) is dict or dataclasses.is_dataclass(annotation):
        return "a mapping of key: value"
    return _WORDS.get(annotation, "any value")


def declared(cls) -> dict[str, Any]:
    """The declared types of a schema's fields (annotations evaluated, not read as text)."""
    return typing.get_type_hints(cls)


def unknown_key(cls, key: str, prefix: str, where: str = "", otherwise: str = "") -> str:
    """`<prefix>.<key>: no such key <where>; did you mean <nearest>?` (or the valid keys, or the schema's
    own hint for that key: `hints` on the schema class)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    hints = getattr(cls, "hints", {})
    near = nearest(key, fields)
    if key in hints or "*" in hints:
        hint = hints.get(key, hints.get("*", "")).format(key=key)
    elif near:
        hint = f"did you mean {dotted(prefix, near)}?"
    else:
        hint = otherwise or f"valid keys: {', '.join(sorted(fields))}"
    return f"{dotted(prefix, key)}: no such key{f' {where}' if where else ''}; {hint}"


def _lookup(values, path: str):
    """The value at a dotted path of a mapping (what the user gave), or the path when it is not there."""
    for part in path.split("."):
        if not hasattr(values, "get"):
            return path
        values = values.get(part)
    return values


def _parent_key(error) -> tuple[Any, str]:
    """The schema and the field an OmegaConf error is about."""
    full_key = str(getattr(error, "full_key", "") or "")
    return getattr(error, "object_type", None), full_key.rpartition(".")[2]


def problem(error, values, prefix: str, where: str = "") -> str:
    """What OmegaConf raised while merging `values` into a schema, as one line."""
    cls, key = _parent_key(error)
    full_key = str(getattr(error, "full_key", "") or key)
    name = type(error).__name__
    if name in ("ConfigKeyError", "ConfigAttributeError", "KeyValidationError") and dataclasses.is_dataclass(cls):
        inner = full_key.rpartition(".")[0]
        return unknown_key(cls, key, dotted(prefix, inner) if inner else prefix, where)
    if name == "MissingMandatoryValue":
        return f"{dotted(prefix, full_key)}: missing; the {prefix or 'top-level'} config needs a value for it"
    if dataclasses.is_dataclass(cls) and key in declared(cls):
        return f"{dotted(prefix, full_key)}={show(_lookup(values, full_key))}: expected {words(declared(cls)[key])}"
    return f"{dotted(prefix, full_key)}: {str(error).strip().splitlines()[0]}"


def as_plain(values) -> dict:
    """A DictConfig (or a plain mapping) as a plain dict; omegaconf is imported only when needed."""
    if isinstance(values, dict):
        return dict(values)
    from omegaconf import OmegaConf

    return OmegaConf.to_container(values, resolve=True)


def _as_written(cls, values: dict, prefix: str) -> None:
    """OmegaConf reads `"16"` as 16 and `"yes"` or 1 as true: a plain mapping (read from a file: an export,
    a record) must hold the declared types themselves, as composition's check before merging does."""
    hints = declared(cls)
    for key, value in values.items():
        want = hints.get(key)
        kinds = typing.get_args(want) if typing.get_origin(want) in (typing.Union, types.UnionType) else (want,)
        if value is None or want is None or Any in kinds:
            continue
        nested = next((k for k in kinds if dataclasses.is_dataclass(k)), None)
        if nested and isinstance(value, dict):
            _as_written(nested, value, dotted(prefix, key))
        elif (isinstance(value, str) and str not in kinds) or (bool in kinds) != isinstance(value, bool):
            raise PtuneError(f"{dotted(prefix, key)}={show(value)}: expected {words(want)}")


def checked(cls, values, prefix: str, where: str = ""):
    """`values` (a mapping or a DictConfig) as an instance of the schema `cls`: types and keys checked by
    merging them into the schema, ranges by its `__post_init__`. Every failure is one PtuneError line that
    names `<prefix>.<key>` (`where` says whose key: `in the method config`, `of task=rte`)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    plain = as_plain(values)
    if isinstance(values, dict):
        _as_written(cls, plain, prefix)
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), plain))
    except OmegaConfBaseException as e:
        raise PtuneError(problem(e, plain, prefix, where)) from None
