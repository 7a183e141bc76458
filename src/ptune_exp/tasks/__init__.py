"""Tasks: dataset specs (`benchmarks/`) and the task families that train them (`families/`).

Layout:
  spec.py        `TaskSpec` (name, family, metrics, splits, hub id), the registry `TASKS`, `get_task`
  files.py       readers of the official local formats (tsv, jsonl) and the dataset hub
  metrics.py     the official metrics shared by families
  families/      one `Family` subclass per family (`base.py`: the interface and shared defaults);
                 `FAMILIES` maps a family key to its instance, `family_of(spec)` finds a spec's
  benchmarks/    dataset specs only (field names, labels, file layout, metric); importing a module
                 registers its specs

Adding a task of an existing family touches two files: register a spec in its benchmark module
(`benchmarks/<benchmark>.py`, e.g. a `glue(...)` line in `benchmarks/glue.py`: labels, metrics, hub
id, file layout) and add `conf/task/<name>.yaml`. A new benchmark module is also imported in
`benchmarks/__init__.py`.

Adding a family: a spec dataclass (a `TaskSpec` subclass with the family's fields) and a `Family`
subclass in `families/<key>.py` (`key`, `Scorer`, `read_file`, `read_hub`, `make_head`, `tokenize`,
`collator`; override a default where the family differs), one instance in `FAMILIES`
(`families/__init__.py`), and benchmarks whose specs have `family="<key>"`.
"""

from ptune_exp.tasks import benchmarks  # noqa: F401  (registers the specs)
from ptune_exp.tasks.families import FAMILIES, family_of
from ptune_exp.tasks.spec import TASKS, TaskSpec, get_task

__all__ = ["FAMILIES", "TASKS", "TaskSpec", "family_of", "get_task"]
