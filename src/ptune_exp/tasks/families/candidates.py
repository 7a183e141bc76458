"""Task family `candidates`: a passage, a question and its candidate answers. Every (passage, question
+ candidate) pair is a binary example (is this candidate right?); decisions and metrics are made per
question, as the official SuperGLUE metrics of MultiRC and ReCoRD are.

Rows (one per question, so `task.max_*_samples` subsets whole questions): `{idx, passage, question,
candidates, candidate_ids, labels, answers}`. `labels[c]` is 1 when candidate `c` is right, 0 when
not, -1 when the split has no labels; `answers` are the gold answer texts where a task has them
(ReCoRD), else empty. Dataset adapters (`benchmarks/superglue.py`) turn the official files into these rows.

Features (one per candidate): the passage as the first text, `spec.pair(question, candidate)` as the
second (MultiRC: "question answer"; ReCoRD: the query with the entity in its @placeholder).
Truncation is longest-first to `task.max_seq_len`: the passage, being the long text, loses its end;
the question + candidate is only cut when it alone takes more than half of `max_seq_len`. No
candidate is ever dropped. What could not be kept is counted, logged when tokenizing and returned by
the Scorer with the metrics (so it lands in the record):
  passages_cut    questions whose passage lost its end
  candidates_cut  (question, candidate) pairs whose question + candidate text was cut
  gold_cut        ReCoRD: labelled queries none of whose gold entities is mentioned in the kept passage
  gold_missing    ReCoRD: labelled queries whose gold answer is not among the candidate entities

Head: classification's binary head on [CLS] (dropout + linear(hidden, 2), cross-entropy). A
candidate's score is its logit margin (true - false).
Decisions (`spec.decide`):
  each  every candidate on its own: right when its margin > 0 (MultiRC answer options);
  top   the best-scored candidate is the question's answer (ReCoRD).
Metrics, in percent:
  each  `f1a`: binary F1 over all answer options of the split; `exact_match`: share of questions with
        every answer option right (the official MultiRC EM, grouped by question).
  top   `f1`, `exact_match`: max over the gold answers of token F1 / exact match after SQuAD-style
        normalisation (lower case, no punctuation, no articles a/an/the, single spaces), averaged
        over queries (the official ReCoRD evaluation).
Predictions, one line per question: each `{idx, prediction: [{idx, label, score}]}` (score = the
probability that the option is right); top `{idx, prediction: answer text, scores: {candidate: p}}`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from datasets import Dataset
from transformers import DataCollatorWithPadding

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import (
    MODEL_KEYS,
    UNLABELLED,
    Family,
    Scorer,
    input_at,
    located,
    numbered,
    official_jsonl,
    tokenize_rows,
    unlabelled_row,
)
from ptune_exp.tasks.families.classification import ClassificationHead
from ptune_exp.tasks.files import hub_split, read_jsonl
from ptune_exp.tasks.metrics import METRICS, exact_match, pct, token_f1
from ptune_exp.tasks.spec import TaskSpec

log = logging.getLogger("ptune_exp")

DECISIONS = ("each", "top")


@dataclass(frozen=True)
class CandidatesSpec(TaskSpec):
    decide: str = "each"  # each | top (see the module docstring)
    read_line: Callable[[dict], list[dict]] | None = None  # one object of the official jsonl -> rows
    read_hub: Callable[[Iterable[dict]], list[dict]] | None = None  # the hub split -> rows
    pair: Callable[[str, str], str] | None = None  # (question, candidate) -> the second text


def question_row(
    idx: dict,
    passage: str,
    question: str,
    candidates: list[str],
    candidate_ids: list[int],
    labels: list[int],
    answers: list[str] = (),
) -> dict:
    """One row of this family (what the dataset adapters return)."""
    return {
        "idx": idx,
        "passage": passage,
        "question": question,
        "candidates": list(candidates),
        "candidate_ids": list(candidate_ids),
        "labels": list(labels),
        "answers": list(answers),
    }


# ---------------------------------------------------------------- loading


def read_rows(spec: CandidatesSpec, lines: Iterable, where: Callable[[int], str], labelled: bool = False) -> list[dict]:
    """Rows (one per question) of lines in the official jsonl fields; a bad line is named by `where(i)`,
    and so is, with `labelled`, a question with a candidate that has no label."""
    rows = []
    for i, line in enumerate(lines):
        with located(spec, where(i)):
            for row in spec.read_line(line):
                if labelled and UNLABELLED in row["labels"]:
                    raise unlabelled_row(
                        f"question {row['idx']} has candidates without one: MultiRC `label`, ReCoRD `answers`"
                    )
                rows.append(_check(row))
    return rows


def _check(row: dict) -> dict:
    if not row["candidates"]:
        raise ValueError(f"question {row['idx']} has no candidate answers")
    if len(row["labels"]) != len(row["candidates"]):
        raise ValueError(f"question {row['idx']}: {len(row['labels'])} labels for {len(row['candidates'])} candidates")
    return row


# ---------------------------------------------------------------- features


def _pairs(spec: CandidatesSpec, batch: dict, indices: list[int]) -> dict[str, list]:
    """One entry per candidate: the row it belongs to (`owner`), the two texts, its label, and where its
    first mention in the passage ends (`mention_end`, -1: not mentioned)."""
    out = {"owner": [], "first": [], "second": [], "labels": [], "mention_end": []}
    for i, passage, question, candidates, row_labels in zip(
        indices, batch["passage"], batch["question"], batch["candidates"], batch["labels"]
    ):
        for candidate, label in zip(candidates, row_labels):
            at = passage.find(candidate) if candidate else -1
            out["owner"].append(i)
            out["first"].append(passage)
            out["second"].append(spec.pair(question, candidate))
            out["labels"].append(label)
            out["mention_end"].append(at + len(candidate) if at >= 0 else -1)
    return out


def _encode(spec: CandidatesSpec, tokenizer, max_len: int, batch: dict, indices: list[int]) -> dict:
    pairs = _pairs(spec, batch, indices)
    first, second = pairs["first"], pairs["second"]
    enc = tokenizer(first, second, truncation="longest_first", max_length=max_len, return_offsets_mapping=True)
    out = {key: enc[key] for key in MODEL_KEYS if key in enc}
    kept = [_kept_ends(enc.sequence_ids(j), enc["offset_mapping"][j]) for j in range(len(first))]
    out["labels"] = pairs["labels"]
    out["example_index"] = pairs["owner"]
    out["passage_cut"] = [a_end < len(a.rstrip()) for (a_end, _), a in zip(kept, first)]
    out["candidate_cut"] = [b_end < len(b.rstrip()) for (_, b_end), b in zip(kept, second)]
    out["mention_kept"] = [0 <= end <= a_end for end, (a_end, _) in zip(pairs["mention_end"], kept)]
    return out


def _kept_ends(sequence_ids: list, offsets: list) -> tuple[int, int]:
    """End character of the kept part of the first and of the second text."""
    ends = [0, 0]
    for sid, (_, end) in zip(sequence_ids, offsets):
        if sid is not None:
            ends[sid] = max(ends[sid], end)
    return ends[0], ends[1]


def coverage(spec: CandidatesSpec, raw: Dataset, features: Dataset) -> dict[str, int]:
    """What truncation (or the data) did not let the model see; see the module docstring."""
    cols = features.select_columns(["example_index", "labels", "passage_cut", "candidate_cut", "mention_kept"])
    cols = cols.with_format("numpy")[:]
    owner = cols["example_index"]
    counts = {
        "passages_cut": len(np.unique(owner[cols["passage_cut"]])),
        "candidates_cut": int(cols["candidate_cut"].sum()),
    }
    if spec.decide == "top":
        gold = cols["labels"] == 1
        seen = np.unique(owner[gold & cols["mention_kept"]])
        with_gold = np.unique(owner[gold])
        answered = [i for i, answers in enumerate(raw["answers"]) if answers]
        counts["gold_cut"] = len(np.setdiff1d(with_gold, seen))
        counts["gold_missing"] = len(np.setdiff1d(np.asarray(answered, dtype=owner.dtype), with_gold))
    return counts


class CandidateCollator:
    """Pads the model inputs and keeps `labels`; drops the bookkeeping columns."""

    def __init__(self, tokenizer):
        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, features: list[dict]) -> dict:
        return self.pad([{key: f[key] for key in (*MODEL_KEYS, "labels") if key in f} for f in features])


# ---------------------------------------------------------------- scoring


class CandidatesScorer(Scorer):
    """`compute_metrics` for one split: per-question decisions from the candidates' margins, then the
    official metric; `.predictions` holds one entry per question."""

    def __init__(self, spec: CandidatesSpec, raw: Dataset, features: Dataset):
        if spec.decide not in DECISIONS:
            raise PtuneError(f"task={spec.name}: decide={spec.decide!r} is not one of {DECISIONS}")
        super().__init__(spec, raw, features)
        self.coverage = coverage(spec, raw, features)

    def score(self, logits, label_ids) -> dict[str, float]:
        logits = np.asarray(logits, dtype=np.float64)
        margins = logits[:, 1] - logits[:, 0]
        candidates, labels = list(self.raw["candidates"]), list(self.raw["labels"])
        bounds = np.cumsum([0] + [len(c) for c in candidates])
        if bounds[-1] != len(margins):
            raise PtuneError(f"task={self.spec.name}: {len(margins)} scores for {bounds[-1]} candidates")
        per_question = [margins[a:b] for a, b in itertools.pairwise(bounds)]
        if self.spec.decide == "each":
            scores = self._each(per_question, labels)
        else:
            scores = self._top(per_question, candidates)
        return {**scores, **self.coverage} if scores else {}

    def _each(self, margins: list[np.ndarray], labels: list[list[int]]) -> dict[str, float]:
        decided = [[int(m > 0) for m in ms] for ms in margins]
        self.predictions = [
            {
                "idx": idx,
                "prediction": [
                    {"idx": int(cid), "label": d, "score": round(_sigmoid(m), 6)} for cid, d, m in zip(ids, ds, ms)
                ],
            }
            for idx, ids, ds, ms in zip(self.raw["idx"], self.raw["candidate_ids"], decided, margins)
        ]
        keep = [i for i, ls in enumerate(labels) if UNLABELLED not in ls]
        if not keep:  # prediction on unlabelled inputs: nothing to score
            return {}
        return multirc_scores([decided[i] for i in keep], [labels[i] for i in keep])

    def _top(self, margins: list[np.ndarray], candidates: list[list[str]]) -> dict[str, float]:
        best = [cands[int(np.argmax(ms))] for cands, ms in zip(candidates, margins)]
        self.predictions = [
            {"idx": idx, "prediction": answer, "scores": {c: round(_sigmoid(m), 6) for c, m in zip(cands, ms)}}
            for idx, answer, cands, ms in zip(self.raw["idx"], best, candidates, margins)
        ]
        golds = list(self.raw["answers"])
        keep = [i for i, answers in enumerate(golds) if answers]
        if not keep:
            return {}
        return record_scores([best[i] for i in keep], [golds[i] for i in keep])


def _sigmoid(margin: float) -> float:
    """The binary head's probability of "right": softmax over (false, true) = sigmoid of the margin."""
    return float(1.0 / (1.0 + np.exp(-margin)))


def multirc_scores(predicted: list[list[int]], gold: list[list[int]]) -> dict[str, float]:
    """MultiRC, per question the 0/1 decisions and labels of its answer options: F1a (binary F1 over
    all answer options) and EM (share of questions whose options are all right), in percent."""
    flat_pred = np.asarray([p for ps in predicted for p in ps])
    flat_gold = np.asarray([g for gs in gold for g in gs])
    exact = [list(ps) == list(gs) for ps, gs in zip(predicted, gold)]
    return {"f1a": METRICS["f1"](flat_pred, flat_gold), "exact_match": pct(np.mean(exact))}


def record_scores(predicted: list[str], golds: list[list[str]]) -> dict[str, float]:
    """ReCoRD: per query, the best over its gold answers of token F1 and exact match; means in percent."""
    f1 = [max(token_f1(p, g) for g in gs) for p, gs in zip(predicted, golds)]
    exact = [max(exact_match(p, g) for g in gs) for p, gs in zip(predicted, golds)]
    return {"f1": pct(np.mean(f1)), "exact_match": pct(np.mean(exact))}


# ---------------------------------------------------------------- the family


class Candidates(Family):
    key = "candidates"
    Scorer = CandidatesScorer

    def read_examples(self, spec: CandidatesSpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Lines of the official jsonl (MultiRC, ReCoRD: a passage with its questions), as dicts."""
        return read_rows(spec, examples, where, labelled)

    def read_file(self, spec: CandidatesSpec, path: str, labelled: bool = False) -> list[dict]:
        return read_rows(spec, *numbered(path, read_jsonl(path)), labelled)

    def read_hub(self, spec: CandidatesSpec, split: str) -> list[dict]:
        rows = spec.read_hub(hub_split(spec, split))
        for row in rows:
            _check(row)
        return rows

    def input_rows(self, spec: CandidatesSpec, path: str) -> list[dict]:
        official_jsonl(spec, path)
        return self.read_file(spec, path)

    def is_labelled(self, split: Dataset) -> bool:
        return any(label != UNLABELLED for labels in split["labels"] for label in labels)

    def make_head(self, spec: CandidatesSpec, hidden_size: int, dropout: float):
        return ClassificationHead(hidden_size, 2, dropout)

    def tokenize(self, split: Dataset, spec: CandidatesSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        """One feature per candidate: model inputs, `labels`, and for the coverage counts `example_index`
        (the row it belongs to), `passage_cut`, `candidate_cut`, `mention_kept` (whether the candidate's
        first mention in the passage lies inside the kept part)."""
        if not getattr(tokenizer, "is_fast", False):
            raise PtuneError(
                f"task={spec.name} needs a fast (Rust) tokenizer (offsets show what truncation kept); "
                "this model has none"
            )
        encode = lambda batch, indices: _encode(spec, tokenizer, max_len, batch, indices)
        features = tokenize_rows(split, spec, encode, with_indices=True)
        lost = {k: v for k, v in coverage(spec, split, features).items() if v}
        if lost:
            log.warning(
                "task=%s, %d questions at task.max_seq_len=%d: %s (see tasks/families/candidates.py)",
                spec.name,
                len(split),
                max_len,
                ", ".join(f"{k}={v}" for k, v in lost.items()),
            )
        return features

    def collator(self, tokenizer):
        return CandidateCollator(tokenizer)
