"""Task family `tagging`: a sentence of words -> one IOB2 tag per word (NER), scored by entity.

Rows are `{idx, tokens, tags}`: the words and their IOB2 tags (strings), read from CoNLL column
files (`tagging_files.py`) or the dataset hub. Datasets are in `benchmarks/conll.py`.

- Head: dropout + linear on every token; the loss skips positions labelled -100.
- Alignment (`tagging_features.py`): words go through the fast tokenizer pre-split
  (`is_split_into_words`) and its word ids; a word's FIRST sub-word carries the word's tag, the
  others -100 (with `label_all_tokens`: the tag too, B-X turned into I-X). Special tokens get -100.
  Byte-level BPE tokenizers (RoBERTa) get `add_prefix_space`, so every word is encoded as it is
  mid-sentence. A word's prediction is read from its first sub-word. `pt`'s virtual tokens never
  reach the head (prompts.py strips them).
- Long sentences: when a sentence's sub-words do not fit `max_len`, it is cut into consecutive
  windows of whole words that do; every window is a feature of its own, and the Scorer stitches
  the windows' word predictions back into one sentence (nothing is truncated away). A single word
  longer than a window keeps its first sub-words. The number of split sentences is a metric.
- Metrics (`seqeval`, the conlleval computation): entity-level micro precision, recall and F1 in
  percent, F1 the headline, plus `f1_<TYPE>` per entity type.
- Predictions: CoNLL text, `word gold predicted` per line (`word predicted` for untagged inputs),
  a blank line between sentences; `score_file` scores such a file again.
- Labels: a spec's fixed list (in the hub's order), or, when it fixes none, `task.labels`, or else
  "O" and B-/I- of every entity type seen in the loaded splits of that task.
- Options (`configure`): `task.label_all_tokens`, `task.labels`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset
from seqeval.metrics import classification_report
from torch import nn
from transformers.modeling_outputs import TokenClassifierOutput

from ptune_exp.config.tasks import TaggingConfig, TaggingFromDataConfig
from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import Family, LinearHead, Scorer, input_at
from ptune_exp.tasks.families.tagging_features import (
    IGNORE,
    NO_WORD,
    TokenCollator,
    tokenize_windows,
    word_tokenizer,
)
from ptune_exp.tasks.families.tagging_files import (
    checked_labels,
    iob_labels,
    read_columns,
    read_predictions,
    sentence_rows,
    spans_to_tags,
    to_iob2,
    write_conll,
)
from ptune_exp.tasks.files import hub_split
from ptune_exp.tasks.metrics import pct
from ptune_exp.tasks.spec import TaskSpec


@dataclass(frozen=True)
class TaggingSpec(TaskSpec):
    labels: tuple[str, ...] = ()  # IOB2 tags in head order (the hub's); empty: from the data
    hub_revision: str | None = None  # e.g. the Hub's parquet branch of a script dataset
    hub_format: str = "tags"  # tags: a tag column | spans: entity spans {start, end, type}
    hub_columns: tuple[str, str] = ("tokens", "ner_tags")  # (words, tags or spans)
    label_all_tokens: bool = False  # label every sub-word, not only a word's first
    generate: Callable[[str, int], list[dict]] | None = None  # (role, seed) -> rows: a task the project generates


def label_list(spec: TaggingSpec) -> tuple[str, ...]:
    """The head's labels (fixed by the spec, by task.labels, or by `fit` from the data)."""
    if not spec.labels:
        raise PtuneError(
            f"task={spec.name} takes its labels from its data, but none of its splits is loaded; "
            "fix them with task.labels=[O,B-TYPE,I-TYPE,...]"
        )
    return spec.labels


def _tag_names(spec: TaggingSpec, feature) -> tuple[str, ...]:
    names = getattr(getattr(feature, "feature", None), "names", None)  # a sequence of ClassLabel
    if names:
        return tuple(names)
    if spec.labels:
        return spec.labels
    raise PtuneError(
        f"{spec.hub[0]} stores its tags as numbers without names, and task={spec.name} fixes "
        "no label list; use task.data_dir with CoNLL column files"
    )


# ---------------------------------------------------------------- head and scoring


class TokenClassificationHead(LinearHead):
    def forward(self, hidden: torch.Tensor, labels: torch.Tensor | None = None, **_) -> TokenClassifierOutput:
        logits = self.out(self.dropout(hidden))
        loss = None
        if labels is not None:
            if labels.shape != logits.shape[:2]:
                raise PtuneError(
                    f"token labels of shape {tuple(labels.shape)} do not line up with the encoder "
                    f"output {tuple(logits.shape[:2])}; the prompt must not leave positions behind"
                )
            flat = labels.reshape(-1)
            summed = nn.functional.cross_entropy(
                logits.float().reshape(flat.numel(), -1), flat, ignore_index=IGNORE, reduction="sum"
            )
            loss = summed / (flat != IGNORE).sum().clamp(min=1)  # a batch without labels: 0, not NaN
        return TokenClassifierOutput(loss=loss, logits=logits)


def score(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, float]:
    """Entity-level micro precision/recall/F1 (conlleval rules, via seqeval) and F1 per type, in percent."""
    with warnings.catch_warnings():  # seqeval's macro average of no entities warns; it is not used
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    scores = {"f1": pct(micro["f1-score"]), "precision": pct(micro["precision"]), "recall": pct(micro["recall"])}
    for kind in sorted(k for k in report if not k.endswith(" avg")):
        scores[f"f1_{kind}"] = pct(report[kind]["f1-score"])
    return scores


def score_file(path: str) -> dict[str, float]:
    """Scores of a predictions file (ours, or any `word ... gold predicted` CoNLL file)."""
    return score(*read_predictions(path))


class TaggingScorer(Scorer):
    """`compute_metrics` for the Trainer, bound to one split: stitches the windows' predictions
    back into sentences (one tag per word), scores them, keeps them in `.predictions`."""

    measure = staticmethod(score)  # the metric of (gold, predicted) tag sequences

    def __init__(self, spec: TaggingSpec, raw: Dataset, features: Dataset):
        super().__init__(spec, raw, features)
        self.labels = label_list(spec)
        self.idx, self.tokens, self.gold = raw["idx"], raw["tokens"], raw["tags"]
        self.sentence, self.word_ids = features["sentence"], features["word_ids"]
        self.windowed = sum(1 for n in np.bincount(self.sentence, minlength=len(self.tokens)) if n > 1)

    def stitch(self, label_ids: np.ndarray) -> tuple[list[list[str]], int]:
        """Per-sentence predicted tags from per-token label ids; words without a sub-word get "O"."""
        tags: list[list[str | None]] = [[None] * len(words) for words in self.tokens]
        for f, (s, word_ids) in enumerate(zip(self.sentence, self.word_ids)):
            previous = NO_WORD
            for pos, w in enumerate(word_ids):
                if w != NO_WORD and w != previous:
                    tags[s][w] = self.labels[int(label_ids[f, pos])]
                previous = w
        missing = sum(t is None for sentence in tags for t in sentence)
        return [[t or "O" for t in sentence] for sentence in tags], missing

    def score(self, logits, label_ids) -> dict[str, float]:
        predicted, missing = self.stitch(np.asarray(logits).argmax(-1))
        self.predictions = [
            {"idx": i, "tokens": w, "gold": g or None, "predicted": p}
            for i, w, g, p in zip(self.idx, self.tokens, self.gold, predicted)
        ]
        scored = [(g, p) for g, p in zip(self.gold, predicted) if g]
        scores = self.measure([g for g, _ in scored], [p for _, p in scored]) if scored else {}
        return {**scores, "windowed_sentences": self.windowed, "words_without_subwords": missing}


# ---------------------------------------------------------------- the family


class Tagging(Family):
    key = "tagging"
    Scorer = TaggingScorer
    inputs_noun = "sentences"

    def schema(self, spec: TaggingSpec) -> type:
        """`task.labels` exists for a task that takes its tags from the data (none fixed by its spec)."""
        return TaggingConfig if spec.labels else TaggingFromDataConfig

    def configure(self, spec: TaggingSpec, task_cfg) -> TaggingSpec:
        """The spec with the run's tagging options: `task.label_all_tokens`, and `task.labels` (a fixed
        IOB2 tag list for a task that otherwise takes its labels from the data)."""
        options = self.options(spec, task_cfg)
        spec = dataclasses.replace(spec, label_all_tokens=options.label_all_tokens)
        labels = getattr(options, "labels", None)
        return spec if labels is None else dataclasses.replace(spec, labels=checked_labels(tuple(labels)))

    def fit(self, spec: TaggingSpec, raw: dict[str, Dataset]) -> TaggingSpec:
        """The spec with its labels fixed: its own, or "O" + B-/I- of each entity type in the loaded splits."""
        if spec.labels:
            return spec
        types = sorted({tag[2:] for split in raw.values() for tags in split["tags"] for tag in tags if tag != "O"})
        return dataclasses.replace(spec, labels=iob_labels(types))

    def split_rows(self, spec: TaggingSpec, role: str, data_dir: str | None) -> list[dict]:
        rows = super().split_rows(spec, role, data_dir)
        unknown = {tag for row in rows for tag in row["tags"]} - set(spec.labels) if spec.labels else set()
        if unknown:  # files are checked line by line; this catches a hub copy with other tag names
            raise PtuneError(
                f"task={spec.name}: the {role} split has tags {sorted(unknown)} that are not among "
                f"its labels {list(spec.labels)}"
            )
        return rows

    def read_examples(self, spec: TaggingSpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Sentences as dicts: `tokens` (words), optional `tags` (IOB, one per word)."""
        return sentence_rows(examples, where, spec.labels, f"task={spec.name}", labelled)

    def read_file(self, spec: TaggingSpec, path: str, labelled: bool = False) -> list[dict]:
        """Sentences of a column file; a tag column is always required (inputs without one: `input_rows`)."""
        return read_columns(path, spec.labels, f"task={spec.name}")

    def read_hub(self, spec: TaggingSpec, split: str) -> list[dict]:
        """Rows `{idx, tokens, tags}` (IOB2) of one split of the spec's hub dataset."""
        data = hub_split(spec, split, spec.hub_revision)
        tokens_col, tags_col = spec.hub_columns
        if spec.hub_format == "spans":
            tag_rows = (spans_to_tags(len(row[tokens_col]), row[tags_col]) for row in data)
        else:
            names = _tag_names(spec, data.features[tags_col])
            tag_rows = ([names[t] if isinstance(t, int) else t for t in row[tags_col]] for row in data)
        rows = []
        for row, tags in zip(data, tag_rows):
            if row[tokens_col]:  # a few hub copies hold empty "sentences" (document breaks)
                rows.append({"idx": len(rows), "tokens": list(row[tokens_col]), "tags": to_iob2(tags)[0]})
        return rows

    def input_rows(self, spec: TaggingSpec, path: str) -> list[dict]:
        """Sentences to tag: a CoNLL column file, words in the first column; a tag in the last column is
        optional (a one-column file has none)."""
        return read_columns(path, spec.labels, f"task={spec.name}", words_only=True)

    def is_labelled(self, split: Dataset) -> bool:
        return any(len(tags) > 0 for tags in split["tags"])  # tags are [] only in words-only inputs

    def make_head(self, spec: TaggingSpec, hidden_size: int, dropout: float) -> nn.Module:
        return TokenClassificationHead(hidden_size, len(label_list(spec)), dropout)

    def tokenize(self, split: Dataset, spec: TaggingSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        tok = word_tokenizer(tokenizer)
        return tokenize_windows(split, spec, tok, max_len, {tag: i for i, tag in enumerate(label_list(spec))})

    def collator(self, tokenizer):
        return TokenCollator(tokenizer)

    def write_predictions(self, spec: TaggingSpec, predictions: list[dict], path: str) -> str:
        return write_conll(predictions, path)
