"""Command-line mistakes as one line each: `<key>=<value>: <what was expected>`, with the nearest valid
key or choice for a typo (`did you mean method.prefix_len?`).

Types, keys and ranges are the schemas' (`config/schema.py`, `config/tasks.py`). `check_overrides`
reads the overrides before Hydra composes anything for what Hydra cannot see: a boolean written as `yes`
or `1` (OmegaConf quietly reads them as true), and a name that would make a path (`model.name=../x`).
`explain` turns what Hydra and OmegaConf raise during composition into one line. Neither imports torch.
"""

from __future__ import annotations

import dataclasses
import os
import re

from ptune_exp.config.checks import check_name, declared, nearest, problem, show, unknown_key
from ptune_exp.config.schema import NAME_KEYS, SCHEMAS, schema_keys
from ptune_exp.config.tasks import TASK_SCHEMAS
from ptune_exp.errors import PtuneError

CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")
HINT_SWEEP = "several values are a sweep: add -m (or write a list as [a,b], or quote the text)"


def check_overrides(overrides: list[str]) -> None:
    """Refuse, before composition, a boolean that is not true or false (`yes`, `1`), and a name that would
    make a path (`model.name=../x`); the rest is the schemas' to check."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for text in overrides:
        try:
            (override,) = parser.parse_overrides(overrides=[text])
        except OverrideParseException as e:
            raise PtuneError(f"{text}: cannot read this override ({_first_line(e)}); write key=value") from None
        for value in _values(override):
            _check_value(override.key_or_group, value)


def _values(override) -> list:
    """The plain values an override sets (each choice of a sweep), interpolations left to OmegaConf."""
    from hydra.core.override_parser.types import QuotedString

    if override.is_delete() or override.is_interval_sweep():
        return []
    if override.is_sweep_override():
        if override.value_type.name == "GLOB_CHOICE_SWEEP":
            return []
        raw = list(override.sweep_iterator())
    else:
        raw = [override.value()]
    values = [v.text if isinstance(v, QuotedString) else v for v in raw]
    return [v for v in values if not (isinstance(v, str) and "${" in v)]


def _check_value(key: str, value) -> None:
    if key in NAME_KEYS:
        check_name(key, value)
    if key in boolean_keys() and not isinstance(value, bool):
        raise PtuneError(f"{key}={show(value)}: expected true or false")


def boolean_keys() -> set[str]:
    """The keys a schema declares as a plain boolean: `overwrite`, `method.reparam`, `task.label_all_tokens`."""
    groups = [*SCHEMAS.items(), *(("task", cls) for cls in TASK_SCHEMAS.values())]
    return {f"{g}.{k}" if g else k for g, cls in groups for k, t in declared(cls).items() if t is bool}


def explain(error: Exception) -> str:
    """What Hydra or OmegaConf raised while composing the config, as one line that says what to change."""
    from hydra.errors import MissingConfigException, OverrideParseException

    cause = error.__cause__ if error.__cause__ is not None else error
    ours = _ours(error)
    if ours is not None:  # raised by one of our resolvers (config/names.py)
        return str(ours)
    if isinstance(error, MissingConfigException) and error.options is not None:
        return _missing_choice(error)
    if isinstance(error, OverrideParseException):
        return f"cannot read an override ({_first_line(error)}); write key=value"
    key = getattr(cause, "full_key", None)
    if type(cause).__name__ in ("ConfigKeyError", "ConfigAttributeError") and key:
        match = re.match(r"Could not override '([^']*)'", str(error))
        return _unknown_key(match.group(1) if match else key, cause)
    if type(cause).__name__ == "ValidationError" and key:
        return _bad_value(error, cause)
    if str(error).startswith("Ambiguous value for argument"):
        return f"{_quoted(str(error))}: {HINT_SWEEP}"
    detail = f": {_first_line(cause)}" if cause is not error and _first_line(cause) not in str(error) else ""
    return _first_line(error) + detail  # Hydra says what is wrong first; the rest is its search path


def _ours(error: BaseException | None) -> PtuneError | None:
    """A PtuneError in the chain of causes (a resolver's, wrapped by OmegaConf)."""
    for _ in range(8):
        if error is None or isinstance(error, PtuneError):
            return error
        error = error.__cause__ or error.__context__
    return None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _quoted(text: str) -> str:
    match = re.search(r"'([^']*)'", text)
    return match.group(1) if match else text


def _missing_choice(error) -> str:
    """`method=lora`: the group, the choices (not the typed schemas `base`, `<key>_base`), the nearest one."""
    group, _, name = (error.missing_cfg_file or "").rpartition("/")
    options = [o for o in error.options if o != "base" and not o.endswith("_base")]
    near = nearest(name, options)
    hint = f"did you mean {group}={near}? " if near else ""
    return f"{group}={name}: no such {group}; {hint}choose one of {', '.join(options)}"


def _unknown_key(key: str, cause) -> str:
    """The nearest key of the schema the key was meant for (`method.*`, this task's `task.*`), or of any
    group when the group is the typo."""
    group, _, name = key.rpartition(".")
    schema = getattr(cause, "object_type", None)
    if group and dataclasses.is_dataclass(schema) and str(getattr(cause, "full_key", "")) == key:
        return unknown_key(schema, name, group, otherwise="see the keys with: ptune-exp --cfg job")
    keys = known_keys()
    siblings = {k.rpartition(".")[2]: k for k in keys if k.rpartition(".")[0] == group}
    near = siblings.get(nearest(name, siblings)) if siblings else nearest(key, keys)
    hint = f"did you mean {near}?" if near else "see the keys with: ptune-exp --cfg job"
    return f"{key}: no such key; {hint}"


def _bad_value(error: Exception, cause: Exception) -> str:
    """`key=value: expected <the declared type in words>` (the value as the override wrote it)."""
    match = re.search(r"override (\S+)", str(error))
    value = match.group(1).split("=", 1)[-1] if match else _quoted(str(cause))
    line = problem(cause, {}, "")
    key, _, want = line.partition(": expected ")
    return f"{key.partition('=')[0]}={value}: expected {want}" if want else line


def known_keys() -> list[str]:
    """Every valid dotted key: the schemas' (every task family's `task.*` included) and the group names."""
    return sorted(set(schema_keys()) | {d for d in os.listdir(CONF) if os.path.isdir(os.path.join(CONF, d))})
