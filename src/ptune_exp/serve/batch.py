"""Predicting for many tasks at once: the mixed-batch counterpart of `predict.predict_raw`.

A `Job` is one task's inputs (one request, or one task's rows of an input file): read into the family's
rows by its own `read_examples` (the path its file reader takes: the same checks as `ptune-exp-predict`;
no file is written), tokenized by the family's own
`tokenize` (so an over-long input is truncated, or windowed, exactly as in training), the rows held in
memory as `Columns` (`columns.py`: no Arrow table, no fingerprint, no `map` machinery per request). `run_jobs` cuts
all jobs' features into forwards of at most `max_rows` rows: **mixed** (any tasks in one forward: every
row gets its task's prompt, `rows.py`, and its task's head) or **per task** (one forward per task, the
alternative the serving benchmark compares against). Each job's logits are gathered as the HF
Trainer gathers them (`nested_concat`, padding -100) and scored by the family's `Scorer`, so a job
gets the predictions `predict_raw` gives for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import EvalPrediction
from transformers.trainer_pt_utils import nested_concat, nested_numpify

from ptune_exp.serve.columns import Columns
from ptune_exp.serve.registry import Registry, Served
from ptune_exp.serve.rows import mixed_inputs, strip
from ptune_exp.tasks.families.base import MODEL_KEYS
from ptune_exp.tasks.families.templates import encode
from ptune_exp.tasks.inputs import input_rows, results


@dataclass
class Job:
    """One task's inputs, read and tokenized; `logits`/`labels` gather what the forwards give it."""

    task: Served
    raw: Columns  # the family's rows
    dataset: Columns  # their features (the Scorer reads its bookkeeping columns)
    features: list[dict]  # the same, as rows for the collator
    inputs: list
    truncated: list[int] = field(default_factory=list)  # indices of inputs cut to task.max_seq_len
    logits: object = None
    labels: object = None


def job_from_list(task: Served, inputs: list) -> Job:
    """A job of a request's inputs (in the task's own fields, as `Predictor.predict` takes them); a bad
    input is a PtuneError that names `inputs[i]`."""
    parts, tokenizer = task.parts, task.tokenizer
    raw = Columns.from_rows(input_rows(parts.task, inputs))
    features = parts.family.tokenize(raw, parts.task, tokenizer, parts.data.max_seq_len, False)
    return Job(task, raw, features, features.to_list(), inputs, _truncated(parts, raw, tokenizer))


def _truncated(parts, raw, tokenizer) -> list[int]:
    """Classification inputs longer than task.max_seq_len (cut there, as in training; written through
    the task's template when it has one); other families split long inputs into windows instead."""
    if parts.family.key != "classification":
        return []
    pair = list(raw["text_b"]) if parts.task.is_pair else None
    if parts.task.templated:  # the whole input the template writes, uncut
        task, texts = parts.task, zip(raw["text_a"], pair or [None] * len(raw))
        lengths = [len(encode(tokenizer, task.template, task.virtual_tokens, a, b, 1 << 30)) for a, b in texts]
    else:
        lengths = [len(ids) for ids in tokenizer(list(raw["text_a"]), pair)["input_ids"]]
    return [i for i, n in enumerate(lengths) if n > parts.data.max_seq_len]


def run_jobs(registry: Registry, jobs: list[Job], max_rows: int = 64, mixed: bool = True) -> None:
    """Every job's features through the backbone (mixed or per-task forwards of <= max_rows rows); sets
    each job's logits and labels."""
    for forward in plan(jobs, max_rows, mixed):
        _forward(registry, forward)


def plan(jobs: list[Job], max_rows: int, mixed: bool) -> list[list[tuple[Job, int, int]]]:
    """Forwards as lists of (job, first row, end row): rows of any task together (`mixed`), or each task's
    rows together, in order."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.task.name, []).append(job)
    order = jobs if mixed else [job for group in groups.values() for job in group]
    forwards: list[list[tuple[Job, int, int]]] = []
    room, last = 0, None
    for job in order:
        start = 0
        while start < len(job.features):
            if room == 0 or (not mixed and job.task.name != last):
                forwards.append([])
                room = max_rows
            end = min(len(job.features), start + room)
            forwards[-1].append((job, start, end))
            room, last, start = room - (end - start), job.task.name, end
    return forwards


@torch.no_grad()
def _forward(registry: Registry, pieces: list[tuple[Job, int, int]]) -> None:
    """One forward through the shared backbone for rows of one or several tasks, each task's head after."""
    device = registry.backbone.model.device
    batches = [job.task.parts.family.collator(registry.backbone.tokenizer)(job.features[a:b]) for job, a, b in pieces]
    batches = [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in b.items()} for b in batches]
    flat = [{k: b[k].reshape(-1, b[k].shape[-1]) for k in MODEL_KEYS if b.get(k) is not None} for b in batches]
    longest = max(f["input_ids"].shape[1] for f in flat)
    pad_id = registry.backbone.tokenizer.pad_token_id or 0
    cat = lambda key, value: torch.cat([_pad(f[key], longest, value) for f in flat])
    types = cat("token_type_ids", 0) if all("token_type_ids" in f for f in flat) else None
    counts = [f["input_ids"].shape[0] for f in flat]
    prompts = [job.task.prompt for job, _, _ in pieces]
    backbone = registry.backbone.model
    inputs, index = mixed_inputs(backbone, prompts, counts, cat("input_ids", pad_id), cat("attention_mask", 0), types)
    hidden = strip(backbone(**inputs).last_hidden_state, index)
    start = 0
    for (job, _, _), batch, f, n in zip(pieces, batches, flat, counts):
        _head(job, batch, f, hidden[start : start + n, : f["input_ids"].shape[1]])
        start += n


def _pad(t: torch.Tensor, length: int, value: int) -> torch.Tensor:
    return torch.nn.functional.pad(t, (0, length - t.shape[1]), value=value)


def _head(job: Job, batch: dict, flat: dict, hidden: torch.Tensor) -> None:
    """The task's head on its rows, as PromptedModel.forward calls it; the logits gathered as the Trainer does."""
    extra = {k: v for k, v in batch.items() if k not in MODEL_KEYS and k != "labels"}
    if getattr(job.task.model.head, "reads_input_ids", False):  # a verbalizer finds the [MASK] position
        extra["input_ids"] = flat["input_ids"]
    shape = batch["input_ids"].shape[:-1]
    out = job.task.model.head(hidden, labels=None, attention_mask=flat["attention_mask"], batch_shape=shape, **extra)
    logits = tuple(v for k, v in out.items() if k != "loss")
    logits = logits[0] if len(logits) == 1 else logits
    job.logits = logits if job.logits is None else nested_concat(job.logits, logits, padding_index=-100)
    labels = batch.get("labels")
    if labels is not None:
        job.labels = labels if job.labels is None else nested_concat(job.labels, labels, padding_index=-100)


def predictions(job: Job):
    """The family's per-example predictions of a job that has been run (what `predict_raw` returns)."""
    parts = job.task.parts
    scorer = parts.family.Scorer(parts.task, job.raw, job.dataset)
    labels = nested_numpify(job.labels) if job.labels is not None else None
    scorer(EvalPrediction(predictions=nested_numpify(job.logits), label_ids=labels))
    return scorer.predictions


def answers(job: Job) -> list[dict]:
    """One result per input of a list job, in order (as `Predictor.predict`), over-long ones marked."""
    out = results(job.task.parts.task, job.inputs, predictions(job), job.raw)
    for i in job.truncated:
        out[i] = {**out[i], "truncated": True}
    return out
