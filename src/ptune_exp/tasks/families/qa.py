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

Head, post-processing and the official metrics: `qa_decode.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from datasets import Dataset, Features, Sequence, Value

from ptune_exp.config.tasks import QA2Config, QAConfig
from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import MODEL_KEYS, Family, input_at, tokenize_rows
from ptune_exp.tasks.families.qa_decode import SpanHead, SpanScorer, write_answers
from ptune_exp.tasks.families.qa_rows import question_rows
from ptune_exp.tasks.files import hub_split
from ptune_exp.tasks.spec import TaskSpec

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
SCALAR_KEYS = ("start_positions", "end_positions", "labels")


@dataclass(frozen=True)
class QASpec(TaskSpec):
    version: str = "1.1"  # SQuAD 1.1 | 2.0 (unanswerable questions)
    read_file: Callable[..., list[dict]] | None = None  # (path, version, labelled) -> rows, for task.data_dir
    # the run's options (`task.*`, declared and checked in config/tasks.py QAConfig, set by `configure`)
    doc_stride: int = QAConfig.doc_stride  # context tokens shared by consecutive windows
    n_best: int = QAConfig.n_best  # start and end candidates kept per window
    max_answer_len: int = QAConfig.max_answer_len  # longest answer, in tokens
    max_question_len: int = QAConfig.max_question_len  # longer questions are cut to this many tokens
    null_threshold: float = QA2Config.null_threshold  # 2.0: answer "" when null score - best span score > this

    @property
    def has_null(self) -> bool:
        return self.version == "2.0"


# ---------------------------------------------------------------- features


def _encode(spec: QASpec, tokenizer, max_len: int, train: bool, batch: dict, indices: list[int]) -> dict:
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
    out = {key: enc[key] for key in MODEL_KEYS if key in enc}
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


# ---------------------------------------------------------------- the family


class QA(Family):
    key = "qa"
    Scorer = SpanScorer
    row_features = ROW_FEATURES
    inputs_noun = "questions"

    def schema(self, spec: QASpec) -> type:
        """`task.null_threshold` exists where questions may have no answer (SQuAD 2.0)."""
        return QA2Config if spec.has_null else QAConfig

    def read_examples(self, spec: QASpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Questions as dicts (see `question_rows`)."""
        return question_rows(examples, where, spec.version, labelled)

    def read_file(self, spec: QASpec, path: str, labelled: bool = False) -> list[dict]:
        return spec.read_file(path, spec.version, labelled)

    def read_hub(self, spec: QASpec, split: str) -> list[dict]:
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
            for row in hub_split(spec, split)
        ]

    def input_rows(self, spec: QASpec, path: str) -> list[dict]:
        """Questions to answer: an official SQuAD json file; answers are optional."""
        if not path.endswith(".json"):
            raise PtuneError(f"{path}: give the questions as an official SQuAD json file (.json) for task={spec.name}")
        return self.read_file(spec, path)

    def is_labelled(self, split: Dataset) -> bool:
        return any(split["is_impossible"]) or any(len(texts) > 0 for texts in split["answer_texts"])

    def make_head(self, spec: QASpec, hidden_size: int, dropout: float) -> SpanHead:
        return SpanHead(hidden_size, dropout, spec.n_best)

    def tokenize(self, split: Dataset, spec: QASpec, tokenizer, max_len: int, train: bool) -> Dataset:
        """Windows of question + context. Every feature has start/end positions (so dev has a loss too);
        evaluation features also carry `labels` (the feature's own index, which tells the Scorer which
        feature a row of logits belongs to), `example_index`, `offset_mapping` and `context_mask`."""
        if not getattr(tokenizer, "is_fast", False):
            raise PtuneError("task family qa needs a fast (Rust) tokenizer for offset mappings; this model has none")
        encode = lambda batch, indices: _encode(spec, tokenizer, max_len, train, batch, indices)
        features = tokenize_rows(split, spec, encode, with_indices=True)
        if not train:
            features = features.add_column("labels", list(range(len(features))))
        return features

    def collator(self, tokenizer):
        return QACollator(tokenizer)

    def write_predictions(self, spec: QASpec, predictions: dict[str, str], path: str) -> str:
        return write_answers(predictions, path)
