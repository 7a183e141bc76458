"""The bad-input corpus: each case is one line of a table (`tests/bad_inputs_*.py`), run in-process
through a real entry point, and must end in its expected exit status with one clear error line, or in
a correct result, never in a traceback.

A case's `args` may name `{tmp}` (an empty folder of its own), `{run}` (a copy of a completed tiny run,
checkpoint and export included) and `{export}` (that run's export); `setup(paths)` damages or writes
files before the command runs.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SMOKE = ("model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16")


@dataclass(frozen=True)
class Paths:
    tmp: Path
    run: Path
    export: Path


@dataclass(frozen=True)
class Case:
    id: str
    command: str  # ptune-exp | ptune-exp-eval | ptune-exp-export | ptune-exp-predict | ptune-exp-compare | python-api
    args: tuple[str, ...]
    exit: int = 2  # 2: bad input or usage; 1: a run that failed; 0: a correct result
    message: str = ""  # a regex the error line (or, for exit 0, the output) must contain
    setup: Callable[[Paths], None] | None = None
    verify: Callable[[Paths], None] | None = None  # checks the files left behind, after the exit and message
    stdin: str = ""  # what the command reads from standard input (a `y` to a question it should never ask)
    during: Callable[[Paths], contextlib.AbstractContextManager] | None = None  # a fault while it runs (a full disk)


def _entry(command: str) -> Callable[[list[str]], int | None]:
    if command == "ptune-exp":
        return _hydra_main
    if command == "python-api":
        return _api_main
    from ptune_exp.artifacts.export_cli import main as export_main
    from ptune_exp.compare import main as compare_main
    from ptune_exp.predict import eval_main, predict_main

    return {
        "ptune-exp-eval": eval_main,
        "ptune-exp-export": export_main,
        "ptune-exp-predict": predict_main,
        "ptune-exp-compare": compare_main,
    }[command]


def _hydra_main(argv: list[str]) -> int | None:
    from ptune_exp.cli import main

    saved = sys.argv
    sys.argv = ["ptune-exp", *argv]
    try:
        main()
    finally:
        sys.argv = saved
    return 0


def _api_main(argv: list[str]) -> int:
    """`python-api CALL VALUE [EXPORT]`: the Python API called with VALUE, a Python literal (so any type):
    `load_export(VALUE)`, `load_export(EXPORT, trust_remote_code=VALUE)` (CALL `trust`) or
    `load_export(EXPORT).predict(VALUE)` (CALL `predict`); a PtuneError is its one error line."""
    from ptune_exp import api
    from ptune_exp.errors import command

    @command("python-api")
    def call(argv: list[str]) -> int:
        name, value = argv[0], ast.literal_eval(argv[1])
        if name == "load_export":
            api.load_export(value)
        elif name == "trust":
            api.load_export(argv[2], trust_remote_code=value)
        else:
            print(json.dumps(api.load_export(argv[2]).predict(value)))
        return 0

    return call(argv)


@dataclass
class Outcome:
    exit: int
    stdout: str
    stderr: str


def run_case(case: Case, paths: Paths) -> Outcome:
    """Run one case in-process; an exception that escapes the entry point is reported as a traceback."""
    if case.setup is not None:
        case.setup(paths)
    argv = [a.format(tmp=paths.tmp, run=paths.run, export=paths.export) for a in case.args]
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(case.stdin)
    fault = case.during(paths) if case.during is not None else contextlib.nullcontext()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), fault:
        try:
            code = _entry(case.command)(argv) or 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.stdin = saved
    return Outcome(code, out.getvalue(), err.getvalue())


def check(case: Case, outcome: Outcome) -> None:
    text = outcome.stdout + outcome.stderr
    assert "Traceback" not in text, f"{case.id}: a traceback\n{text[-3000:]}"
    assert outcome.exit == case.exit, f"{case.id}: exit {outcome.exit}, expected {case.exit}\n{text[-3000:]}"
    if case.exit == 0:
        assert re.search(case.message, text), f"{case.id}: output lacks {case.message!r}\n{text[-2000:]}"
        return
    errors = [line for line in outcome.stderr.splitlines() if line.startswith(f"{case.command}: error: ")]
    assert errors, f"{case.id}: no '{case.command}: error:' line\n{text[-3000:]}"
    assert re.search(case.message, errors[-1]), f"{case.id}: {errors[-1]!r} lacks {case.message!r}"


def fresh_paths(template: Paths, tmp: Path) -> Paths:
    """A case's own copies of the trained run and its export."""
    run, export = tmp / "run", tmp / "export"
    shutil.copytree(template.run, run)
    shutil.copytree(template.export, export)
    work = tmp / "work"
    work.mkdir()
    return Paths(work, run, export)
