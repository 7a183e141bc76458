"""The qa family's head outputs, post-processing and official metrics (see `qa.py` for rows and features).

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

from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset
from torch import nn
from transformers.utils import ModelOutput

from ptune_exp.storage.files import json_text, write_text
from ptune_exp.tasks.families.base import LinearHead, Scorer
from ptune_exp.tasks.metrics import exact_match, normalize_answer, token_f1

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


class SpanHead(LinearHead):
    def __init__(self, hidden_size: int, dropout: float, n_best: int):
        super().__init__(hidden_size, 2, dropout)
        self.n_best = n_best

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


class SpanScorer(Scorer):
    """`compute_metrics` for one split: spans from the n-best candidates, then the official metrics.
    Reads the features' offsets in batches, so a large dev set is never held as Python lists.
    `.predictions` maps a question id to its answer text."""

    BATCH = 512

    def __init__(self, spec, raw: Dataset, features: Dataset):
        super().__init__(spec, raw, features)
        self.features = features

    def outputs(self, predictions):
        return predictions  # the head's n-best candidates: all five arrays

    def score(self, outputs, label_ids) -> dict[str, float]:
        start_scores, start_index, end_scores, end_index, null_score = outputs
        row_of = {int(f): r for r, f in enumerate(np.asarray(label_ids).reshape(-1))}
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


def write_answers(predictions: dict[str, str], path: str) -> str:
    """The official prediction file: one JSON object {question id: answer text} ("" = no answer)."""
    return write_text(f"{path}.json", json_text(predictions, ensure_ascii=False, indent=0) + "\n")


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
