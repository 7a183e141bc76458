"""Tasks declared by the user (`task=custom`, or a yaml of their own): data files or a hub dataset,
mapped onto the rows of a family the built-in tasks use (`docs/custom-data.md`).

  config.py   `CustomTaskConfig`: the `task.*` keys, checked without data
  read.py     files and hub splits as `datasets.Dataset`s (datasets' csv, json, parquet builders)
  rows.py     columns -> the family's rows; labels.py: label kinds, inferred label lists
  spec.py     the family's spec with the rows as its `reader`; dev carved from train; inputs.py: inputs
              to predict on

`task_spec(task_cfg)` is the spec of any task config, built-in or custom.
"""

from __future__ import annotations

from ptune_exp.tasks.custom.config import CustomTaskConfig, is_custom
from ptune_exp.tasks.custom.spec import CustomData, custom_spec
from ptune_exp.tasks.families import family_of
from ptune_exp.tasks.spec import TaskSpec, get_task


def task_spec(task_cfg, load: bool = True) -> TaskSpec:
    """The spec of a `task` config: a built-in task with the family's options applied, or a custom task
    (`load`: its data read and checked now; False for an export, whose data stayed behind)."""
    if is_custom(task_cfg):
        return custom_spec(task_cfg, load)
    spec = get_task(task_cfg["name"], task_cfg.get("source"))
    return family_of(spec).configure(spec, task_cfg)


__all__ = ["CustomData", "CustomTaskConfig", "custom_spec", "is_custom", "task_spec"]
