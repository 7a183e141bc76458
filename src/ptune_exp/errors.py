"""The one exception type users see: a message that says what is wrong and what to do."""

from __future__ import annotations

import functools
import json
import os
import sys


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
            try:
                return main(argv)
            except PtuneError as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 2

        return entry

    return wrap


def read_json_file(path: str, missing: str) -> dict:
    """A JSON file the user pointed at; `missing` says what to do when it is not there."""
    if not os.path.isfile(path):
        raise PtuneError(missing)
    with open(path, encoding="utf-8") as f:
        return json.load(f)
