"""What a task is: a dataset spec (where its splits live, its metric) and the family that trains it.

Task families (classification, ...) know how to tokenize, which head to put on the encoder and how
to score predictions; dataset specs only say where the data is and what it means. Roles of splits:
`train`, `dev` (model selection), `test` (reported when labelled), plus any extra evaluation sets
(e.g. MNLI's `dev_mismatched`). Every split of a spec must carry labels unless its `Split` says
`labelled=False` (an official test file without labels; none is registered today): a labelled split
whose file lacks labels is an error, never a split read as unlabelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ptune_exp.errors import PtuneError


@dataclass(frozen=True)
class Split:
    hub: str | None = None  # split name on the dataset hub
    file: str | None = None  # file name inside task.data_dir
    labelled: bool = True  # whether its examples must carry labels (False: e.g. an official test file without them)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    family: str
    benchmark: str
    metrics: tuple[str, ...]
    main_metric: str
    splits: dict[str, Split] = field(default_factory=dict)
    hub: tuple[str, str | None] | None = None  # (dataset id, config name)
    source: str = "default"  # which variant (`task.source`) this spec is
    # a task declared by the user (tasks/custom): its rows, read from its files, instead of the family's readers
    reader: object = field(default=None, compare=False, repr=False, kw_only=True)


TASKS: dict[tuple[str, str], TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    TASKS[(spec.name, spec.source)] = spec
    return spec


def get_task(name: str, source: str | None = None) -> TaskSpec:
    sources = {s: spec for (n, s), spec in TASKS.items() if n == name}
    if not sources:
        raise PtuneError(f"unknown task {name!r}; choose one of {sorted({n for n, _ in TASKS})} (task=<name>)")
    if source in (None, "default") and len(sources) == 1:
        return next(iter(sources.values()))
    if source not in sources:
        raise PtuneError(f"task={name} has sources {sorted(sources)}; task.source={source!r} is not one of them")
    return sources[source]
