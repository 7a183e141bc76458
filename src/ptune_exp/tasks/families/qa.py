"""Task family `qa`: extractive question answering (SQuAD 1.1 and 2.0).

Rows: `{id, title, question, context, answer_texts, answer_starts, is_impossible}`; `answer_starts`
are character offsets into `context`; an unanswerable SQuAD 2.0 question has no answers and
`is_impossible` true.

Features: question + context, truncating only the context, in overlapping windows of
`task.max_seq_len` tokens. `task.doc_stride` is the number of context tokens two consecutive windows
share (the `stride` of Hugging Face tokenizers, as in `run_qa.py`; the original BERT code used the
word for the step between windows instead). Questions longer than `task.max_question_len` tokens are
cut. The offset mapping ties every context token back to its characters. A window that does not hold
the whole (first) gold answer, and an unanswerable question, is labelled with start = end = 0, the
[CLS]/<s> position. For `pt` the head reads hidden states with the virtual tokens stripped again
(`methods/prompts.py`), so positions and offsets are the same for every method.

Head: dropout + linear(hidden, 2) -> start/end logits, cross-entropy on the gold positions. At
evaluation it does not hand the full logits to the Trainer: it keeps only the `task.n_best` best
start and end positions inside the context, plus the null score (start + end logit of position 0),
so the Trainer accumulates (features x 4 n_best + 1) numbers instead of (features x length x 2).

Post-processing (Scorer): per example, over all of its windows, every pair of an n-best start and an
n-best end with start <= end and at most `task.max_answer_len` tokens; the best sum of logits wins and
its text is cut from the original context with the offsets. SQuAD 2.0: the example's null score is
the smallest null score over its windows; it answers "" when null score - best span score >
`task.null_threshold`.

Metrics: `evaluate.load("squad" / "squad_v2")` fetches its scripts from the hub at run time, which
fails offline, so `squad_scores` implements the official evaluation scripts (SQuAD v1.1
`evaluate-v1.1.py`, v2.0 `evaluate-v2.0.py`) here: answer normalisation (lower case, no punctuation,
no articles, single spaces), exact match and token F1, each the maximum over the gold answers, in
percent. SQuAD 2.0 scores an unanswerable question against the gold answer "" and splits the scores
into HasAns/NoAns. Names: `exact_match`, `f1` (the official v2.0 script says `exact`), and for 2.0
`HasAns_exact_match`, `HasAns_f1`, `NoAns_exact_match`, `NoAns_f1` (present when the split has such
questions).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset, Features, Sequence, Value
from torch import nn
from transformers.utils import ModelOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.files import as_split, hub_split, require_file
from ptune_exp.tasks.metrics import exact_match, normalize_answer, token_f1
from ptune_exp.tasks.spec import TaskSpec

log = logging.getLogger("ptune_exp")

ROW_FEATURES = Features(
    {
        "id": Value("string"),
        "title": Value("string"),
        "question": Value("string"),
        "context": Value("string"),
        "answer_texts": Sequence(Value("string")),
        "answer_starts": Sequence(Value("int64")),
        "is_impossible": Value("bool"),
    }
)
# the task.* keys a QA spec takes from the run config (see `configure`)
OPTIONS = ("doc_stride", "n_best", "max_answer_len", "max_question_len", "null_threshold")


@dataclass(frozen=True)
class QASpec(TaskSpec):
    version: str = "1.1"  # SQuAD 1.1 | 2.0 (unanswerable questions)
    read_file: Callable[[str, str], list[dict]] | None = None  # (path, version) -> rows, for task.data_dir
    doc_stride: int = 128  # context tokens shared by consecutive windows
    n_best: int = 20  # start and end candidates kept per window
    max_answer_len: int = 30  # longest answer, in tokens
    max_question_len: int = 64  # longer questions are cut to this many tokens
    null_threshold: float = 0.0  # 2.0: answer "" when null score - best span score > this

    @property
    def has_null(self) -> bool:
        return self.version == "2.0"


def configure(spec: QASpec, task_cfg) -> QASpec:
    """The spec with the run's QA options (`task.doc_stride`, ...), checked."""
    values = {key: task_cfg.get(key) for key in OPTIONS if task_cfg.get(key) is not None}
    spec = dataclasses.replace(spec, **values)
    for key in ("doc_stride", "n_best", "max_answer_len", "max_question_len"):
        if not isinstance(getattr(spec, key), int) or getattr(spec, key) < 1:
            raise PtuneError(f"task.{key}={getattr(spec, key)!r} must be a whole number >= 1")
    if not isinstance(spec.null_threshold, (int, float)):
        raise PtuneError(f"task.null_threshold={spec.null_threshold!r} must be a number")
    return spec


# ---------------------------------------------------------------- loading


def load_split(spec: QASpec, role: str, data_dir: str | None) -> Dataset:
    split = spec.splits[role]
    if data_dir:
        rows = spec.read_file(require_file(data_dir, split.file, f"task={spec.name} {role} split"), spec.version)
    else:
        rows = _read_hub(spec, split.hub)
    return as_split(rows, spec, role, ROW_FEATURES)


def _read_hub(spec: QASpec, split: str) -> list[dict]:
    data = hub_split(spec, split)
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "question": row["question"],
            "context": row["context"],
            "answer_texts": row["answers"]["text"],
            "answer_starts": row["answers"]["answer_start"],
            "is_impossible": spec.has_null and not row["answers"]["text"],
        }
        for row in data
    ]


def read_inputs(spec: QASpec, path: str) -> Dataset:
    """Questions to answer (ptune-exp-predict): an official SQuAD json file; answers are optional."""
    if not path.endswith(".json"):
        raise PtuneError(f"{path}: give the questions as an official SQuAD json file (.json) for task={spec.name}")
    rows = spec.read_file(path, spec.version)
    if not rows:
        raise PtuneError(f"{path} holds no questions")
    return Dataset.from_list(rows, features=ROW_FEATURES)


def is_labelled(split: Dataset) -> bool:
    return any(split["is_impossible"]) or any(len(texts) > 0 for texts in split["answer_texts"])


# ---------------------------------------------------------------- features


def tokenize(split: Dataset, spec: QASpec, tokenizer, max_len: int, train: bool) -> Dataset:
    """Windows of question + context. Every feature has start/end positions (so dev has a loss too);
    evaluation features also carry `labels` (the feature's own index, which tells the Scorer which
    feature a row of logits belongs to), `example_index`, `offset_mapping` and `context_mask`."""
    if not getattr(tokenizer, "is_fast", False):
        raise PtuneError("task family qa needs a fast (Rust) tokenizer for offset mappings; this model has none")

    def encode(batch, indices):
        questions = _clip_questions(batch["question"], tokenizer, spec, max_len)
        enc = tokenizer(
            questions,
            batch["context"],
            truncation="only_second",
            max_length=max_len,
            stride=spec.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        out = {key: enc[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in enc}
        rows = enc["overflow_to_sample_mapping"]
        masks = [[s == 1 for s in enc.sequence_ids(i)] for i in range(len(rows))]
        spans = [
            gold_positions(offsets, mask, _first_answer(batch, row))
            for offsets, mask, row in zip(enc["offset_mapping"], masks, rows)
        ]
        out["start_positions"] = [start for start, _ in spans]
        out["end_positions"] = [end for _, end in spans]
        if not train:
            out["example_index"] = [indices[row] for row in rows]
            out["context_mask"] = masks
            out["offset_mapping"] = [[list(o) for o in offsets] for offsets in enc["offset_mapping"]]
        return out

    features = split.map(
        encode, batched=True, with_indices=True, remove_columns=split.column_names, desc=f"tokenize {spec.name}"
    )
    if not train:
        features = features.add_column("labels", list(range(len(features))))
    return features


def _clip_questions(questions: list[str], tokenizer, spec: QASpec, max_len: int) -> list[str]:
    """Questions without leading spaces, cut to `max_question_len` tokens; fails when the longest
    leaves no more than `doc_stride` context tokens per window."""
    questions = [q.lstrip() for q in questions]
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    longest = 0
    for i, offsets in enumerate(enc["offset_mapping"]):
        if len(offsets) > spec.max_question_len:
            questions[i] = questions[i][: offsets[spec.max_question_len - 1][1]]
        longest = max(longest, min(len(offsets), spec.max_question_len))
    room = max_len - longest - tokenizer.num_special_tokens_to_add(pair=True)
    if room <= spec.doc_stride:
        raise PtuneError(
            f"task.max_seq_len={max_len} leaves {room} context tokens beside a question of {longest} tokens, "
            f"but windows must advance past task.doc_stride={spec.doc_stride} shared tokens: raise "
            f"task.max_seq_len, or lower task.doc_stride or task.max_question_len"
        )
    return questions


def _first_answer(batch: dict, row: int) -> tuple[int, int] | None:
    """(start, end) characters of the first gold answer of a row; None when it has none."""
    texts, starts = batch["answer_texts"][row], batch["answer_starts"][row]
    if batch["is_impossible"][row] or not texts:
        return None
    return starts[0], starts[0] + len(texts[0])


def gold_positions(offsets, in_context: list[bool], answer: tuple[int, int] | None) -> tuple[int, int]:
    """Token positions of the answer's first and last token in this window; (0, 0) when the window
    does not hold all of it (or there is no answer)."""
    if answer is None or True not in in_context:
        return 0, 0
    first = in_context.index(True)
    last = len(in_context) - 1 - in_context[::-1].index(True)
    start_char, end_char = answer
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = first
    while start + 1 <= last and offsets[start + 1][0] <= start_char:
        start += 1
    end = last
    while end - 1 >= first and offsets[end - 1][1] >= end_char:
        end -= 1
    return start, end


MODEL_KEYS = ("input_ids", "attention_mask", "token_type_ids")
SCALAR_KEYS = ("start_positions", "end_positions", "labels")


class QACollator:
    """Pads the model inputs (right side: positions count from the left) and the context mask;
    drops the columns that only the Scorer reads (example_index, offset_mapping)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict:
        batch = self.tokenizer.pad(
            [{k: f[k] for k in MODEL_KEYS if k in f} for f in features], padding_side="right", return_tensors="pt"
        )
        for key in SCALAR_KEYS:
            if key in features[0]:
                batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
        if "context_mask" in features[0]:
            length = batch["input_ids"].shape[1]
            batch["context_mask"] = torch.tensor(
                [f["context_mask"] + [False] * (length - len(f["context_mask"])) for f in features], dtype=torch.bool
            )
        return dict(batch)


def collator(tokenizer):
    return QACollator(tokenizer)


# ---------------------------------------------------------------- head


@dataclass
class SpanOutput(ModelOutput):
    """Loss, and at evaluation the n-best candidates per window (this order reaches the Scorer)."""

    loss: torch.Tensor | None = None
    start_scores: torch.Tensor | None = None  # (batch, n_best) best start logits inside the context
    start_index: torch.Tensor | None = None  # (batch, n_best) their token positions
    end_scores: torch.Tensor | None = None
    end_index: torch.Tensor | None = None
    null_score: torch.Tensor | None = None  # (batch,) start + end logit of position 0


class SpanHead(nn.Module):
    def __init__(self, hidden_size: int, dropout: float, n_best: int):
        super().__init__()
        self.n_best = n_best
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 2)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)

    def forward(
        self,
        hidden: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        **_,
    ) -> SpanOutput:
        start, end = self.out(self.dropout(hidden)).float().unbind(-1)
        if attention_mask is not None:  # padding is never an answer
            start = start.masked_fill(attention_mask == 0, float("-inf"))
            end = end.masked_fill(attention_mask == 0, float("-inf"))
        loss = None
        if start_positions is not None and end_positions is not None:
            ce = nn.functional.cross_entropy
            loss = (ce(start, start_positions) + ce(end, end_positions)) / 2
        if context_mask is None:
            return SpanOutput(loss=loss)
        return SpanOutput(loss=loss, **top_candidates(start, end, context_mask, self.n_best))


def top_candidates(start: torch.Tensor, end: torch.Tensor, context_mask: torch.Tensor, k: int) -> dict:
    """The k best start and end positions inside the context (-inf scores fill windows with fewer
    than k context tokens), and the null score."""

    def best(logits):
        logits = logits.masked_fill(~context_mask, float("-inf"))
        if logits.shape[-1] < k:
            logits = nn.functional.pad(logits, (0, k - logits.shape[-1]), value=float("-inf"))
        return logits.topk(k, dim=-1)

    (start_scores, start_index), (end_scores, end_index) = best(start), best(end)
    return {
        "start_scores": start_scores,
        "start_index": start_index,
        "end_scores": end_scores,
        "end_index": end_index,
        "null_score": start[:, 0] + end[:, 0],
    }


def make_head(spec: QASpec, hidden_size: int, dropout: float) -> nn.Module:
    return SpanHead(hidden_size, dropout, spec.n_best)


# ---------------------------------------------------------------- post-processing


@dataclass
class ExampleBest:
    """Best span of one example over its windows so far, and its smallest null score."""

    score: float = float("-inf")
    chars: tuple[int, int] | None = None
    null: float = float("inf")


def best_span(cand: tuple, offsets: list, max_answer_len: int) -> tuple[float, tuple[int, int] | None]:
    """(score, (start_char, end_char)) of the best valid span of one window; (-inf, None) if none."""
    start_scores, start_index, end_scores, end_index = cand
    best = (float("-inf"), None)
    for s_score, s in zip(start_scores, start_index):
        if not np.isfinite(s_score):
            break  # scores are sorted: the rest are outside the context too
        for e_score, e in zip(end_scores, end_index):
            if not np.isfinite(e_score):
                break
            if e < s or e - s + 1 > max_answer_len or e >= len(offsets):
                continue
            score = float(s_score + e_score)
            if score > best[0]:
                best = (score, (offsets[s][0], offsets[e][1]))
    return best


class Scorer:
    """`compute_metrics` for one split: spans from the n-best candidates, then the official metrics.
    Reads the features' offsets in batches, so a large dev set is never held as Python lists."""

    BATCH = 512

    def __init__(self, spec: QASpec, raw: Dataset, features: Dataset):
        self.spec, self.raw, self.features = spec, raw, features
        self.predictions: dict[str, str] | None = None

    def __call__(self, eval_pred) -> dict[str, float]:
        start_scores, start_index, end_scores, end_index, null_score = eval_pred.predictions
        row_of = {int(f): r for r, f in enumerate(np.asarray(eval_pred.label_ids).reshape(-1))}
        best = [ExampleBest() for _ in range(len(self.raw))]
        columns = self.features.select_columns(["labels", "example_index", "offset_mapping"])
        for batch in columns.iter(batch_size=self.BATCH):
            for feature, example, offsets in zip(batch["labels"], batch["example_index"], batch["offset_mapping"]):
                r = row_of[feature]
                cand = (start_scores[r], start_index[r], end_scores[r], end_index[r])
                score, chars = best_span(cand, offsets, self.spec.max_answer_len)
                b = best[example]
                b.null = min(b.null, float(null_score[r]))
                if score > b.score:
                    b.score, b.chars = score, chars
        self.predictions = {
            id_: self._answer(context, b) for id_, context, b in zip(self.raw["id"], self.raw["context"], best)
        }
        return squad_scores(self.predictions, gold_answers(self.raw), self.spec.version)

    def _answer(self, context: str, b: ExampleBest) -> str:
        if b.chars is None:
            return ""
        if self.spec.has_null and b.null - b.score > self.spec.null_threshold:
            return ""
        return context[b.chars[0] : b.chars[1]]


def gold_answers(raw: Dataset) -> dict[str, list[str]]:
    return {
        id_: ([] if impossible else texts)
        for id_, texts, impossible in zip(raw["id"], raw["answer_texts"], raw["is_impossible"])
    }


def write_predictions(spec: QASpec, predictions: dict[str, str], path: str) -> str:
    """The official prediction file: one JSON object {question id: answer text} ("" = no answer)."""
    path = f"{path}.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(predictions, f, ensure_ascii=False, indent=0)
        f.write("\n")
    return path


# ---------------------------------------------------------------- official metrics


def squad_scores(predictions: dict[str, str], golds: dict[str, list[str]], version: str) -> dict[str, float]:
    """Official SQuAD EM/F1 in percent; `golds` maps an id to its gold texts ([] = unanswerable, 2.0)."""
    exact, f1, answerable = {}, {}, {}
    for id_, texts in golds.items():
        if version == "2.0":
            texts = [t for t in texts if normalize_answer(t)]
        texts = texts or [""]
        pred = predictions.get(id_, "")
        exact[id_] = max(exact_match(pred, t) for t in texts)
        f1[id_] = max(token_f1(pred, t, empty_matches_empty=version == "2.0") for t in texts)
        answerable[id_] = texts != [""]
    scores = _mean_pct(exact, f1, list(golds), "")
    if version == "2.0":
        for prefix, wanted in (("HasAns_", True), ("NoAns_", False)):
            ids = [i for i in golds if answerable[i] == wanted]
            if ids:
                scores.update(_mean_pct(exact, f1, ids, prefix))
    return scores


def _mean_pct(exact: dict, f1: dict, ids: list[str], prefix: str) -> dict[str, float]:
    n = max(len(ids), 1)
    return {
        f"{prefix}exact_match": round(100.0 * sum(exact[i] for i in ids) / n, 4),
        f"{prefix}f1": round(100.0 * sum(f1[i] for i in ids) / n, 4),
    }
