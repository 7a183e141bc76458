"""Tasks: dataset specs grouped by family; each benchmark module registers its specs on import."""

from ptune_exp.tasks.benchmarks import conll, glue, squad, superglue, synthetic  # noqa: F401  (registration)
from ptune_exp.tasks.spec import TASKS, TaskSpec, get_task

__all__ = ["TASKS", "TaskSpec", "get_task"]
