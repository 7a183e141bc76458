"""The typed form of `task.*`: one schema per task family, each default written once, here.

`conf/task/<name>.yaml` extends its family's schema (registered in Hydra's ConfigStore as
`task/<key>_base`, e.g. `task/qa_base`) and holds only what it changes. A family reads its options from
the checked schema (`Family.configure`), so a family's options are declared here and nowhere else; ranges
are checked in `__post_init__`.

A family whose tasks differ in an option has one schema per kind: `task.null_threshold` exists for SQuAD
2.0 only (`qa_v2`), `task.labels` for tagging tasks that take their tags from the data (`tagging_from_data`,
and `srl`). Adding a schema: a dataclass here and one entry in `TASK_SCHEMAS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ptune_exp.config.checks import MISSING, _same, as_plain, check_name, checked
from ptune_exp.errors import PtuneError


def _at_least_one(key: str, value) -> None:
    if value is not None and value < 1:
        raise PtuneError(f"task.{key}={value}: expected an integer >= 1, or null for all examples")


@dataclass
class DataConfig:
    """The `task.*` keys every task has (a family's schema adds its own, e.g. `task.doc_stride`)."""

    name: str = _same()
    source: str = _same("default")  # which variant of the task, e.g. glue or superglue for rte
    max_seq_len: int = 128  # tokens per example (or per window, for tasks that cut long inputs into windows)
    data_dir: str | None = _same(None)  # the official files; null = load from the dataset hub
    max_train_samples: int | None = None  # a fixed random subset (same for every seed and method)
    max_eval_samples: int | None = None

    def __post_init__(self):
        check_name("task.name", self.name)
        if self.max_seq_len <= 2:
            raise PtuneError(f"task.max_seq_len={self.max_seq_len}: expected an integer > 2 (tokens per example)")
        _at_least_one("max_train_samples", self.max_train_samples)
        _at_least_one("max_eval_samples", self.max_eval_samples)

    @classmethod
    def from_cfg(cls, cfg) -> DataConfig:
        """The data settings of a task config (a record's, an export's): its other keys are the family's."""
        names = {f.name for f in dataclasses.fields(cls)}
        return checked(cls, {k: v for k, v in as_plain(cfg).items() if k in names}, "task", "of the task config")

    @classmethod
    def of(cls, options: DataConfig) -> DataConfig:
        """The run's data settings out of a family's options (files, length, subsets)."""
        return cls(**{f.name: getattr(options, f.name) for f in dataclasses.fields(cls)})


@dataclass
class ClassificationConfig(DataConfig):
    """`task.*` of a classification task (GLUE, SuperGLUE's single-answer tasks, synth_sentiment)."""

    # method=ptv1 and method.head=verbalizer (docs/heads.md); null = the task's default, where it has one
    template: str | None = None  # [P] virtual tokens, {text_a}, {text_b}, one [MASK]
    label_words: list[str] | None = None  # one single-token word per label, in label order


@dataclass
class MultipleChoiceConfig(DataConfig):
    """`task.*` of a multiple-choice task (COPA)."""


@dataclass
class CandidatesConfig(DataConfig):
    """`task.*` of a task scored over candidate answers (MultiRC, ReCoRD)."""


@dataclass
class TaggingConfig(DataConfig):
    """`task.*` of a tagging task whose tags are fixed (CoNLL-2003, OntoNotes)."""

    label_all_tokens: bool = False  # true: every sub-word carries its word's tag (B- as I- after the first)
    hints: ClassVar[dict[str, str]] = {
        "labels": "this task fixes its labels (in its hub's order); task.labels is for tasks that take theirs "
        "from the data. Drop task.labels."
    }


@dataclass
class TaggingFromDataConfig(TaggingConfig):
    """`task.*` of a tagging task that takes its tags from the data (CoNLL-2004)."""

    labels: list[str] | None = None  # a fixed IOB2 tag list, e.g. [O, B-Loc, I-Loc]; null = the tags in the data
    hints: ClassVar[dict[str, str]] = {}


@dataclass
class SRLConfig(TaggingFromDataConfig):
    """`task.*` of a semantic role labelling task (CoNLL-2005, CoNLL-2012): BIO tags from the data."""


@dataclass
class QAConfig(DataConfig):
    """`task.*` of extractive question answering (SQuAD 1.1)."""

    doc_stride: int = 128  # context tokens shared by consecutive windows of a long context
    max_question_len: int = 64  # longer questions are cut to this many tokens
    n_best: int = 20  # start and end candidates kept per window when decoding
    max_answer_len: int = 30  # longest predicted answer, in tokens

    def __post_init__(self):
        super().__post_init__()
        for key in ("doc_stride", "n_best", "max_answer_len", "max_question_len"):
            if getattr(self, key) < 1:
                raise PtuneError(f"task.{key}={getattr(self, key)!r} must be a whole number >= 1")


@dataclass
class QA2Config(QAConfig):
    """`task.*` of question answering with unanswerable questions (SQuAD 2.0)."""

    null_threshold: float = 0.0  # answer "" when null score - best span score > this


SAMPLING = ("proportional", "temperature")


@dataclass
class MultiConfig:
    """`task=multi`: one shared prompt over several member tasks (tasks/multi/spec.py). Each member is
    configured as `task=<name>` would be, then takes the shared values below that are not null, then its
    own `task.members.<name>.<key>`."""

    name: str = _same("multi")
    tasks: list[str] = MISSING  # two or more task names, e.g. [conll03,conll04,rte]
    members: dict[str, Any] = field(default_factory=dict)  # per-member options: +task.members.conll03.data_dir=DIR
    sampling: str = "proportional"  # proportional | temperature
    temperature: float = 2.0  # T of sampling=temperature (> 1: small tasks get more than their share)
    max_seq_len: int | None = None  # null: each member's own; a number applies to every member
    max_train_samples: int | None = None  # a fixed random subset of each member's training examples
    max_eval_samples: int | None = None
    hints: ClassVar[dict[str, str]] = {"*": "a member's options go in task.members.<task>.{key}"}

    def __post_init__(self):
        tasks = self.tasks
        if len(tasks) < 2:
            raise PtuneError(
                f"task.tasks={tasks}: expected a list of two or more task names, e.g. [conll03,conll04,rte]"
            )
        for name in tasks:
            check_name("task.tasks", name)
        if len(set(tasks)) != len(tasks) or "multi" in tasks:
            raise PtuneError(f"task.tasks={tasks}: each member once, and never multi itself")
        strays = sorted(set(self.members) - set(tasks))
        if strays:
            raise PtuneError(f"task.members.{strays[0]}: not one of task.tasks={tasks}; add it there or drop it")
        if self.sampling not in SAMPLING:
            raise PtuneError(f"task.sampling={self.sampling}: expected one of {', '.join(SAMPLING)}")
        if self.temperature <= 0:
            raise PtuneError(
                f"task.temperature={self.temperature:g}: expected a number > 0 (1 = proportional sampling)"
            )
        if self.max_seq_len is not None and self.max_seq_len <= 2:
            raise PtuneError(
                f"task.max_seq_len={self.max_seq_len}: expected an integer > 2, or null for each member's own"
            )
        _at_least_one("max_train_samples", self.max_train_samples)
        _at_least_one("max_eval_samples", self.max_eval_samples)

    def shared(self) -> dict:
        """The values every member takes (those not null)."""
        keys = ("max_seq_len", "max_train_samples", "max_eval_samples")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


def _splits() -> dict:
    return {"train": None, "dev": None, "test": None}


@dataclass
class CustomConfig(DataConfig):
    """`task.*` of a task of the user's own (`task=custom`, docs/custom-data.md): its data, its columns and the
    options of whichever family it declares. The declaration's own checks (a name that is not a built-in
    task's, data given one way, metrics that fit the family) are tasks/custom/config.py's."""

    family: str = "classification"  # classification | tagging | qa | multiple_choice
    # {train, dev, test}: csv, tsv, json(l), parquet, CoNLL, SQuAD json (paths never split rows: digests do)
    data_files: dict[str, str | None] = field(default_factory=_splits, metadata={"splits_rows": False})
    format: str | None = None  # null = from each file's extension
    hub_id: str | None = None  # a hub dataset id, or a local folder laid out like a dataset repository
    hub_config: str | None = None
    revision: str | None = None
    splits: dict[str, str | None] = field(default_factory=lambda: {"train": "train", "dev": "validation", "test": None})
    dev_fraction: float | None = None  # no dev split: carve this share of train (from the data's digest)
    stratify: bool = False  # with max_train_samples: keep each class's share
    text_fields: list[str] | None = None
    label_field: str = "label"
    tokens_field: str | None = None
    tags_field: str | None = None
    question_field: str = "question"
    context_field: str = "context"
    answers_field: str = "answers"
    id_field: str | None = None
    choice_fields: list[str] | None = None
    labels: list[str] | None = None  # the label list in head order; null = inferred
    metrics: list[str] | None = None
    main_metric: str | None = None
    template: str | None = None  # classification: method=ptv1 / method.head=verbalizer
    label_words: list[str] | None = None
    label_all_tokens: bool = False  # tagging
    doc_stride: int | None = None  # qa options; null = the family's defaults
    n_best: int | None = None
    max_answer_len: int | None = None
    max_question_len: int | None = None

    def __post_init__(self):  # the name may be missing until the declaration is checked (tasks/custom/config.py)
        if self.name not in (None, "", MISSING):
            super().__post_init__()


# key -> schema, registered as task/<key>_base; a family's default schema is the one under its own key
TASK_SCHEMAS: dict[str, type] = {
    "classification": ClassificationConfig,
    "multiple_choice": MultipleChoiceConfig,
    "candidates": CandidatesConfig,
    "tagging": TaggingConfig,
    "tagging_from_data": TaggingFromDataConfig,
    "srl": SRLConfig,
    "qa": QAConfig,
    "qa_v2": QA2Config,
    "multi": MultiConfig,
    "custom": CustomConfig,  # no family of its own: the family it declares reads its options
}
