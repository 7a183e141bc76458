"""A custom task's spec: the family's own spec class (ClassificationSpec, TaggingSpec, QASpec,
MultipleChoiceSpec) filled from the declaration, with the loaded rows as its `reader` (`CustomData`).

The family then trains it exactly as it trains a built-in task: `Family.load_split` takes the rows from
the reader instead of its own file readers, and `Family.read_input_rows` (ptune-exp-predict, the API,
the server) reads inputs through `inputs.py` in the declared fields. Everything is read and checked when
the run is planned, before any folder is written or model loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ptune_exp.config.checks import declared
from ptune_exp.errors import PtuneError
from ptune_exp.storage.weights import sha256_file
from ptune_exp.tasks.benchmarks.squad import read_squad_json
from ptune_exp.tasks.custom import labels as label_values
from ptune_exp.tasks.custom.config import CustomTaskConfig
from ptune_exp.tasks.custom.read import Source, load_hub, load_table, sources
from ptune_exp.tasks.custom.rows import (
    choice_fields,
    choice_rows,
    classification_texts,
    context_field,
    need,
    qa_rows,
    tagging_rows,
    text_fields,
)
from ptune_exp.tasks.families import family_of
from ptune_exp.tasks.families.classification import ClassificationSpec
from ptune_exp.tasks.families.multiple_choice import MultipleChoiceSpec
from ptune_exp.tasks.families.qa import QASpec
from ptune_exp.tasks.families.tagging import TaggingSpec
from ptune_exp.tasks.families.tagging_files import read_columns
from ptune_exp.tasks.spec import Split, TaskSpec

BENCHMARK = "custom"


@dataclass
class CustomData:
    """A custom task's data: its rows per split (none for an export's task), their digests, and the
    column names as resolved (recorded, so that an export reads inputs by the same fields)."""

    task: CustomTaskConfig
    rows: dict[str, list[dict]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    resolved: dict = field(default_factory=dict)

    def split_rows(self, spec: TaskSpec, role: str) -> list[dict]:
        if role not in self.rows:
            raise PtuneError(f"task={spec.name}: its data is not here (an export predicts; it does not train)")
        return self.rows[role]

    def input_rows(self, spec: TaskSpec, path: str) -> list[dict]:
        from ptune_exp.tasks.custom.inputs import read_input_file

        return read_input_file(self.task, spec, path)

    def provenance(self) -> dict:
        task = self.task
        where = {"hub_id": task.hub_id, "config": task.hub_config, "revision": task.revision or "unpinned"}
        if not task.hub_id:
            where = {"files": dict(task.data_files)}
        carved = {"dev_fraction": task.dev_fraction} if task.dev_fraction else {}
        return {"source": "custom", **where, "sha256": dict(self.digests), **carved}


def custom_spec(task_cfg, load: bool = True) -> TaskSpec:
    """The spec of a custom task config; `load=False` for an export's task (no data: labels as recorded)."""
    task = CustomTaskConfig.from_cfg(task_cfg, need_data=load)
    data = load_data(task) if load else CustomData(task, resolved=_given_fields(task))
    labels = data.resolved.get("labels", task.labels or ())
    regression = task.family == "classification" and not labels
    metrics, main = task.chosen_metrics(regression)
    common = {"name": task.name, "family": task.family, "benchmark": BENCHMARK, "metrics": metrics}
    common |= {"main_metric": main, "splits": {role: Split() for role in task.roles}, "reader": data}
    spec = _family_spec(task, common, labels, data.resolved)
    family = family_of(spec)
    return family.configure(spec, _options(task_cfg, task, declared(family.schema(spec))))


def _family_spec(task: CustomTaskConfig, common: dict, labels: tuple, resolved: dict) -> TaskSpec:
    if task.family == "classification":
        a, b = resolved.get("text_fields") or (*(task.text_fields or ("text",)), None)[:2]
        columns = (a, b if b else None, task.label_field)
        return ClassificationSpec(
            **common, labels=tuple(labels), hub_text=columns[:2], file_format="superglue_jsonl", file_columns=columns
        )
    if task.family == "tagging":
        return TaggingSpec(**common)
    if task.family == "qa":
        return QASpec(**common, read_file=read_squad_json)
    choices = resolved.get("choice_fields") or task.choice_fields or ()
    return MultipleChoiceSpec(**common, num_choices=len(choices))


def _options(task_cfg, task: CustomTaskConfig, allowed) -> dict:
    """The family's own task.* options (tagging: labels; qa: doc_stride, ...) its schema declares, for its
    `configure` (a custom task's yaml holds every family's: each family takes its own)."""
    keys = ("label_all_tokens", "doc_stride", "n_best", "max_answer_len", "max_question_len", "template", "label_words")
    options = {k: task_cfg.get(k) for k in keys if k in allowed and task_cfg.get(k) is not None}
    if task.family == "tagging" and task.labels:
        options["labels"] = list(task.labels)
    return options


def _given_fields(task: CustomTaskConfig) -> dict:
    """An export's fields: as recorded (the run wrote the resolved ones into its config)."""
    out = {}
    if task.text_fields:
        out["text_fields"] = (*task.text_fields, None)[:2]
    if task.choice_fields:
        out["choice_fields"] = task.choice_fields
    return out


# ---------------------------------------------------------------- loading


def load_data(task: CustomTaskConfig) -> CustomData:
    """Every split read, checked and turned into the family's rows; labels inferred; dev carved."""
    srcs = sources(task)
    tables = {role: _read(task, role, source) for role, source in srcs.items()}
    digests = {role: _digest(source, tables[role]) for role, source in srcs.items()}
    rows, resolved = ROWS[task.family](task, tables, srcs)
    if task.dev_fraction:
        rows["train"], rows["dev"] = carve(rows["train"], task.dev_fraction, digests["train"])
    for role, split in rows.items():
        if not split:
            raise PtuneError(f"{srcs.get(role, srcs['train']).label}: the {role} split is empty; give it some rows")
    return CustomData(task, rows, digests, resolved)


def _read(task: CustomTaskConfig, role: str, source: Source):
    if source.format == "hub":
        table = load_hub(task, role, source)
    elif source.format == "conll":
        table = read_columns(source.path, task.labels or (), f"task={task.name}")
    elif source.format == "squad":
        table = read_squad_json(source.path, "1.1", labelled=True)
    else:
        table = load_table(source)
    if len(table) == 0:
        raise PtuneError(f"{source.label}: the {role} split is empty (no rows); give it some")
    return table


def _digest(source: Source, table) -> str:
    if source.path:
        return sha256_file(source.path)
    return hashlib.sha256(str(getattr(table, "_fingerprint", source.label)).encode()).hexdigest()


def carve(train: list[dict], fraction: float, digest: str) -> tuple[list[dict], list[dict]]:
    """(train, dev): a `fraction` of train's rows as dev, chosen by a permutation seeded from the train
    data's digest, so every method and seed gets the same split; both keep the file's order."""
    order = np.random.default_rng(int(digest[:16], 16)).permutation(len(train))
    n_dev = max(1, round(fraction * len(train)))
    if n_dev >= len(train):
        raise PtuneError(f"task.dev_fraction={fraction} leaves no training rows of {len(train)}; use less")
    dev = set(order[:n_dev].tolist())
    return [r for i, r in enumerate(train) if i not in dev], [r for i, r in enumerate(train) if i in dev]


def _classification(task: CustomTaskConfig, tables: dict, srcs: dict) -> tuple[dict, dict]:
    fields = text_fields(task, list(tables["train"].column_names), srcs["train"])
    kinds: dict = {}
    values, rows = {}, {}
    for role, table in tables.items():
        columns = list(table.column_names)
        for column, key in zip((*fields, task.label_field), ("task.text_fields",) * 2 + ("task.label_field",)):
            if column is not None:
                need(columns, column, srcs[role], key)
        values[role] = list(table[task.label_field])
        label_values.check_values(values[role], srcs[role], role, kinds)
        rows[role] = classification_texts(table, fields, srcs[role])
    names = getattr(tables["train"].features.get(task.label_field), "names", None)
    labels = task.labels or label_values.infer(values["train"], names)
    for role in rows:
        rows[role] = _labelled(task, rows[role], values[role], labels, names, srcs[role])
    return rows, {"text_fields": fields, "labels": tuple(labels)}


def _labelled(task: CustomTaskConfig, rows: list, values: list, labels: tuple, names, source: Source) -> list:
    """The rows with their labels: an index into `labels` (a score, for regression)."""
    if names and not task.labels:  # a hub ClassLabel: integers name its entries
        values = [names[v] if isinstance(v, int) and 0 <= v < len(names) else v for v in values]
    if labels:
        mapped = label_values.indices(values, labels, source, bool(task.labels))
    else:
        mapped = label_values.scores(values, source)
    return [{**row, "label": label} for row, label in zip(rows, mapped)]


def _tagging(task: CustomTaskConfig, tables: dict, srcs: dict) -> tuple[dict, dict]:
    rows = {
        role: table if isinstance(table, list) else tagging_rows(task, table, srcs[role], labelled=True)
        for role, table in tables.items()
    }
    seen = {tag[2:] for row in rows["train"] for tag in row["tags"] if tag != "O"}
    for role, split in rows.items():
        unseen = [(i, tag) for i, row in enumerate(split) for tag in row["tags"] if tag != "O" and tag[2:] not in seen]
        if unseen and not task.labels:
            i, tag = unseen[0]
            where = srcs[role].where(i) if srcs[role].format != "conll" else f"{srcs[role].label} sentence {i + 1}"
            raise PtuneError(
                f"{where}: tag {tag!r} has entity type {tag[2:]!r}, which train does not have; fix it, or "
                "declare every tag with task.labels=[O,B-X,I-X,...]"
            )
    return rows, {}


def _qa(task: CustomTaskConfig, tables: dict, srcs: dict) -> tuple[dict, dict]:
    rows = {
        role: table if isinstance(table, list) else qa_rows(task, table, srcs[role], labelled=True)
        for role, table in tables.items()
    }
    return rows, {}


def _multiple_choice(task: CustomTaskConfig, tables: dict, srcs: dict) -> tuple[dict, dict]:
    rows = {role: choice_rows(task, table, srcs[role], labelled=True) for role, table in tables.items()}
    columns = list(tables["train"].column_names)
    choices = choice_fields(task, columns, srcs["train"])
    context = context_field(task, columns, srcs["train"])
    return rows, {"choice_fields": tuple(choices), "text_fields": (context, None)}


ROWS = {"classification": _classification, "tagging": _tagging, "qa": _qa, "multiple_choice": _multiple_choice}


def stratified(labels: list, limit: int) -> list[int]:
    """`limit` row indices keeping each class's share (largest remainders), the rows of each class taken
    in a fixed random order (seed 0): the same subset for every seed and method."""
    by_class: dict = {}
    for i in np.random.default_rng(0).permutation(len(labels)).tolist():
        by_class.setdefault(labels[i], []).append(i)
    shares = {c: limit * len(rows) / len(labels) for c, rows in by_class.items()}
    quota = {c: int(s) for c, s in shares.items()}
    for c in sorted(shares, key=lambda c: (quota[c] - shares[c], str(c)))[: limit - sum(quota.values())]:
        quota[c] += 1
    return sorted(i for c, rows in by_class.items() for i in rows[: quota[c]])
