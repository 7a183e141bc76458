"""Training several tasks with one prompt (`task=multi`; the plan's side is `tasks/multi/spec.py`).

The model stays a `PromptedModel` (backbone + shared prompt + head) whose head is a `MultiHead`: one head
per member task, chosen per batch by the batch's `task_id`. Every tokenized feature carries its
member's `task_id`; `TaskSampler` orders the training examples so that each batch holds one member's
examples only (drawn by the sampling rule), and `MultiCollator` batches them with that member family's
own collator. So a head gets gradient from its own task's batches only, the prompt from all of them.
`MultiTask` is the family interface over the members (what `experiment.build` and `engine` call);
evaluation scores every member's split with its own family's scorer (`multitrainer.py`).
"""

from __future__ import annotations

import dataclasses
import math
import os

import torch
from torch import nn
from torch.utils.data import Sampler

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families import Family, family_of
from ptune_exp.tasks.multi.spec import MultiSpec, is_multi, probabilities

TASK_ID = "task_id"


class MultiHead(nn.Module):
    """One head per member task; a batch goes to the head its `task_id` names."""

    def __init__(self, heads: dict[str, nn.Module]):
        super().__init__()
        self.heads = nn.ModuleDict(heads)
        self.names = list(heads)

    def forward(self, hidden, task_id: int, **kwargs):
        return self.heads[self.names[int(task_id)]](hidden, **kwargs)


class MultiCollator:
    """Batches features of one member task with that member family's collator, plus the batch's `task_id`."""

    def __init__(self, collators: list):
        self.collators = collators

    def __call__(self, features: list[dict]) -> dict:
        ids = {int(f[TASK_ID]) for f in features}
        if len(ids) != 1:
            raise PtuneError(f"a multi-task batch mixes member tasks {sorted(ids)}; each batch must hold one task")
        task = ids.pop()
        batch = self.collators[task]([{k: v for k, v in f.items() if k != TASK_ID} for f in features])
        batch[TASK_ID] = task
        return batch


class TaskSampler(Sampler[int]):
    """Indices into the members' concatenated training features, `batch_size` at a time from one member.

    An epoch has as many batches as the members have apart (sum of ceil(n_i / batch_size)); each batch's
    task is drawn independently with the sampling rule's p_i; within a task, examples come in a shuffled
    order, reshuffled whenever all were used (so a small task drawn often repeats its examples). The draws
    depend only on (seed, epoch): the Trainer's `set_epoch` and its skipping of the batches already
    trained reproduce a resumed run's batches exactly."""

    def __init__(self, sizes: list[int], batch_size: int, weights: list[float], seed: int):
        self.sizes, self.batch_size, self.weights, self.seed = list(sizes), batch_size, list(weights), seed
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.batches = sum(math.ceil(n / batch_size) for n in self.sizes)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches * self.batch_size

    def tasks(self, generator: torch.Generator) -> list[int]:
        """The member task of each batch of the epoch."""
        return torch.multinomial(torch.tensor(self.weights), self.batches, True, generator=generator).tolist()

    def __iter__(self):
        g = torch.Generator().manual_seed((self.seed * 100_003 + self.epoch) % 2**63)
        orders: list[list[int]] = [[] for _ in self.sizes]
        for task in self.tasks(g):
            for _ in range(self.batch_size):
                if not orders[task]:
                    orders[task] = torch.randperm(self.sizes[task], generator=g).tolist()[::-1]
                yield self.offsets[task] + orders[task].pop()


def epoch_examples(sizes: list[int], batch_size: int) -> int:
    """How many examples a `TaskSampler` epoch yields (full batches only)."""
    return sum(math.ceil(n / batch_size) for n in sizes) * batch_size


class MultiScorer:
    """The scorers of one split's members (each its own family's), and their predictions after evaluation."""

    def __init__(self, spec: MultiSpec, raw: dict, features: dict):
        self.members = {
            m.name: family_of(m.task).Scorer(m.task, raw[m.name], features[m.name])
            for m in spec.members
            if m.name in raw
        }
        self.main = {m.name: m.task.main_metric for m in spec.members}
        self.predictions: dict | None = None

    def __call__(self, eval_pred):
        raise PtuneError("a multi-task split is scored member by member (MultiTrainer.evaluate)")


def member_scores(scores: dict | None) -> dict[str, dict]:
    """`{"conll03/f1": 80.1, "mean": ...}` (a multi-task split's scores) as `{"conll03": {"f1": 80.1}}`."""
    out: dict[str, dict] = {}
    for key, value in (scores or {}).items():
        if "/" in key:
            member, metric = key.split("/", 1)
            out.setdefault(member, {})[metric] = value
    return out


def members_record(spec: MultiSpec, result: dict) -> dict:
    """The record's `members`: each member's task facts and its dev/test (and extra) scores."""
    out = {}
    for m in spec.members:
        extra = {role: member_scores(s).get(m.name) for role, s in (result.get("extra") or {}).items()}
        out[m.name] = {
            "config": m.config,  # its `task.*`, as a run of it alone would have them (exports read it)
            "task_source": m.task.source,
            "family": m.task.family,
            "metrics": list(m.task.metrics),
            "main_metric": m.task.main_metric,
            "labels": list(getattr(m.task, "labels", ()) or ()) or None,
            "dev": member_scores(result.get("dev")).get(m.name),
            "test": member_scores(result.get("test")).get(m.name),
            "extra": {role: s for role, s in extra.items() if s} or None,
        }
    return out


class MultiTask(Family):
    """The family interface over a multi-task spec's members: each split is a dict member -> dataset."""

    key = "multi"
    Scorer = MultiScorer

    def __init__(self, spec: MultiSpec):
        self.spec = spec

    def load_raw(self, spec: MultiSpec, data, subset) -> dict:
        """Each split as a dict member -> examples, each member loaded as a run of it alone would load it."""
        by_member = {m.name: family_of(m.task).load_raw(m.task, m.data, subset) for m in spec.members}
        roles = dict.fromkeys(role for raw in by_member.values() for role in raw)
        return {role: {name: raw[role] for name, raw in by_member.items() if role in raw} for role in roles}

    def size(self, split: dict) -> dict:
        return {name: len(s) for name, s in split.items()}

    def epoch_examples(self, train: dict, batch_size: int) -> int:
        return epoch_examples(train_sizes(train), batch_size)

    def trainer_options(self, spec: MultiSpec, train: dict | None) -> dict:
        return {} if train is None else {"weights": weights_for(spec, train)}

    def facts(self, spec: MultiSpec, data: dict) -> dict:
        return {"multitask": multitask_facts(spec, data["train"])} if "train" in data else {}

    def scores(self, spec: MultiSpec, result: dict) -> dict:
        return {"members": members_record(spec, result)}

    def read_file(self, spec, path, labelled=False):
        raise PtuneError("task=multi has no files of its own: its members read theirs")

    def read_hub(self, spec, split):
        raise PtuneError("task=multi has no hub dataset of its own: its members read theirs")

    def read_examples(self, spec, examples, where=None, labelled=False):
        raise PtuneError("task=multi takes no inputs of its own: predict with one member's export")

    def is_labelled(self, split: dict) -> bool:
        return bool(split)

    def fit(self, spec: MultiSpec, raw: dict) -> MultiSpec:
        """Each member completed from its own splits (e.g. labels taken from its data)."""
        members = []
        for m in spec.members:
            own = {role: split[m.name] for role, split in raw.items() if m.name in split}
            members.append(dataclasses.replace(m, task=family_of(m.task).fit(m.task, own)))
        return dataclasses.replace(spec, members=tuple(members))

    def make_head(self, spec: MultiSpec, hidden_size: int, dropout: float) -> MultiHead:
        return MultiHead({m.name: family_of(m.task).make_head(m.task, hidden_size, dropout) for m in spec.members})

    def tokenize(self, split: dict, spec: MultiSpec, tokenizer, max_len: int, train: bool) -> dict:
        """Each member's features by its own family and length, tagged with its `task_id`."""
        out = {}
        for i, m in enumerate(spec.members):
            if m.name in split:
                features = family_of(m.task).tokenize(split[m.name], m.task, tokenizer, m.data.max_seq_len, train)
                out[m.name] = features.add_column(TASK_ID, [i] * len(features))
        return out

    def collator(self, tokenizer) -> MultiCollator:
        return MultiCollator([family_of(m.task).collator(tokenizer) for m in self.spec.members])

    def write_predictions(self, spec: MultiSpec, predictions: dict, path: str) -> str:
        """A folder `path` with each member's predictions in its family's format; returns the folder."""
        os.makedirs(path, exist_ok=True)
        for m in spec.members:
            if m.name in (predictions or {}):
                family_of(m.task).write_predictions(m.task, predictions[m.name], os.path.join(path, m.name))
        return path


def family_for(spec) -> Family:
    """The family that trains `spec`: its own, or `MultiTask` over a multi-task spec's members."""
    return MultiTask(spec) if is_multi(spec) else family_of(spec)


def train_sizes(train: dict) -> list[int]:
    return [len(split) for split in train.values()]


def weights_for(spec: MultiSpec, train: dict) -> list[float]:
    return probabilities(train_sizes(train), spec.exponent())


def multitask_facts(spec: MultiSpec, train: dict) -> dict:
    """The record's `multitask`: the members, the sampling rule and each member's share of the batches."""
    return {
        "tasks": spec.names,
        "sampling": spec.sampling,
        "temperature": spec.temperature if spec.sampling == "temperature" else 1.0,
        "train_features": dict(zip(train, train_sizes(train))),
        "probabilities": {name: round(p, 6) for name, p in zip(train, weights_for(spec, train))},
    }
