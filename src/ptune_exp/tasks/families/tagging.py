"""Task family `tagging`: a sentence of words -> one IOB2 tag per word (NER), scored by entity.

Rows are `{idx, tokens, tags}`: the words and their IOB2 tags (strings). Datasets and readers
are in `conll.py`.

- Head: dropout + linear on every token; the loss skips positions labelled -100.
- Alignment: words go through the fast tokenizer pre-split (`is_split_into_words`) and its word
  ids; a word's FIRST sub-word carries the word's tag, the others -100 (with `label_all_tokens`:
  the tag too, B-X turned into I-X). Special tokens get -100. Byte-level BPE tokenizers (RoBERTa)
  get `add_prefix_space`, so every word is encoded as it is mid-sentence. A word's prediction is
  read from its first sub-word. `pt`'s virtual tokens never reach the head (prompts.py strips them).
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

import copy
import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset
from seqeval.metrics import classification_report
from tokenizers import pre_tokenizers
from torch import nn
from transformers import DataCollatorForTokenClassification
from transformers.modeling_outputs import TokenClassifierOutput

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.files import as_split, require_file
from ptune_exp.tasks.spec import TaskSpec

IGNORE = -100  # label of positions the loss and the scorer skip
NO_WORD = -1  # word id of special tokens in the features' `word_ids` column


@dataclass(frozen=True)
class TaggingSpec(TaskSpec):
    labels: tuple[str, ...] = ()  # IOB2 tags in head order (the hub's); empty: from the data
    hub_revision: str | None = None  # e.g. the Hub's parquet branch of a script dataset
    hub_format: str = "tags"  # tags: a tag column | spans: entity spans {start, end, type}
    hub_columns: tuple[str, str] = ("tokens", "ner_tags")  # (words, tags or spans)
    label_all_tokens: bool = False  # label every sub-word, not only a word's first


def configure(spec: TaggingSpec, task_cfg) -> TaggingSpec:
    """The spec with the run's tagging options: `task.label_all_tokens`, and `task.labels` (a fixed
    IOB2 tag list for a task that otherwise takes its labels from the data)."""
    spec = dataclasses.replace(spec, label_all_tokens=bool(task_cfg.get("label_all_tokens") or False))
    labels = task_cfg.get("labels")
    if labels is None:
        return spec
    if spec.labels:
        raise PtuneError(
            f"task={spec.name} fixes its labels (in its hub's order); task.labels is for tasks "
            "that take theirs from the data. Drop task.labels."
        )
    return dataclasses.replace(spec, labels=_checked_labels(tuple(str(t) for t in labels)))


def check_tag(tag: str) -> str | None:
    """None if `tag` is an IOB tag (O, B-TYPE, I-TYPE), else what is wrong with it."""
    if tag == "O" or (len(tag) > 2 and tag[:2] in ("B-", "I-")):
        return None
    return (
        f"tag {tag!r} is not an IOB tag (O, B-TYPE or I-TYPE); convert other schemes "
        "(BIOES, BILOU, bare types) to IOB2 first"
    )


def _checked_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    problems = [p for p in map(check_tag, labels) if p]
    if not problems and "O" not in labels:
        problems.append('"O" is missing')
    if not problems and len(set(labels)) != len(labels):
        problems.append("a tag is listed twice")
    problems += [f"{t} has no I-{t[2:]}" for t in labels if t.startswith("B-") and "I-" + t[2:] not in labels]
    if problems:
        raise PtuneError(f"task.labels={list(labels)}: {problems[0]}; list O and B-/I- of every entity type")
    return labels


# ---------------------------------------------------------------- labels


def fit(spec: TaggingSpec, raw: dict[str, Dataset]) -> TaggingSpec:
    """The spec with its labels fixed: its own, or "O" + B-/I- of each entity type in the loaded splits."""
    if spec.labels:
        return spec
    types = sorted({tag[2:] for split in raw.values() for tags in split["tags"] for tag in tags if tag != "O"})
    return dataclasses.replace(spec, labels=("O", *(f"{p}-{t}" for t in types for p in "BI")))


def label_list(spec: TaggingSpec) -> tuple[str, ...]:
    """The head's labels (fixed by the spec, by task.labels, or by `fit` from the data)."""
    if not spec.labels:
        raise PtuneError(
            f"task={spec.name} takes its labels from its data, but none of its splits is loaded; "
            "fix them with task.labels=[O,B-TYPE,I-TYPE,...]"
        )
    return spec.labels


def entity_types(labels: tuple[str, ...]) -> list[str]:
    return sorted({tag[2:] for tag in labels if tag != "O"})


# ---------------------------------------------------------------- loading


def load_split(spec: TaggingSpec, role: str, data_dir: str | None) -> Dataset:
    from ptune_exp.tasks.benchmarks import conll  # the readers; conll imports this module for TaggingSpec

    split = spec.splits[role]
    if data_dir:
        path = require_file(data_dir, split.file, f"task={spec.name} {role} split")
        rows = conll.read_columns(path, spec.labels, f"task={spec.name}")
    else:
        rows = conll.read_hub(spec, split.hub)
    unknown = {tag for row in rows for tag in row["tags"]} - set(spec.labels) if spec.labels else set()
    if unknown:  # files are checked line by line; this catches a hub copy with other tag names
        raise PtuneError(
            f"task={spec.name}: the {role} split has tags {sorted(unknown)} that are not among "
            f"its labels {list(spec.labels)}"
        )
    return as_split(rows, spec, role)


def read_inputs(spec: TaggingSpec, path: str) -> Dataset:
    """Sentences to tag (ptune-exp-predict): a CoNLL column file, words in the first column; a tag in
    the last column is optional (a one-column file has none)."""
    from ptune_exp.tasks.benchmarks import conll

    rows = conll.read_columns(path, spec.labels, f"task={spec.name}", words_only=True)
    if not rows:
        raise PtuneError(f"{path} holds no sentences")
    return Dataset.from_list(rows)


def is_labelled(split: Dataset) -> bool:
    return any(len(tags) > 0 for tags in split["tags"])  # tags are [] only in words-only inputs


# ---------------------------------------------------------------- training


class TokenClassificationHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_labels)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)

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


def make_head(spec: TaggingSpec, hidden_size: int, dropout: float) -> nn.Module:
    return TokenClassificationHead(hidden_size, len(label_list(spec)), dropout)


def word_tokenizer(tokenizer):
    """`tokenizer`, ready for pre-split words: byte-level BPE (RoBERTa) gets a copy that adds the
    space before each word, so a word is encoded as it is inside a sentence."""
    if not getattr(tokenizer, "is_fast", False):
        raise PtuneError(
            "task family tagging needs a fast (Rust `tokenizers`) tokenizer: it aligns tags "
            "through word ids; pick a model that ships tokenizer.json"
        )
    pre = tokenizer.backend_tokenizer.pre_tokenizer
    if not isinstance(pre, pre_tokenizers.ByteLevel) or pre.add_prefix_space:
        return tokenizer
    spaced = copy.deepcopy(tokenizer)  # never change the caller's tokenizer
    spaced.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=pre.use_regex)
    spaced.add_prefix_space = True
    return spaced


def align_labels(
    word_ids: list[int | None], tags: list[str], label_ids: dict[str, int], label_all_tokens: bool = False
) -> list[int]:
    """Token labels from word tags: first sub-word of a word -> its tag, other sub-words -> -100
    (or, with `label_all_tokens`, the tag with B-X as I-X), special tokens -> -100."""
    labels, previous = [], None
    for w in word_ids:
        if w is None:
            labels.append(IGNORE)
        elif w != previous:
            labels.append(label_ids[tags[w]])
        elif label_all_tokens:
            tag = tags[w]
            labels.append(label_ids["I-" + tag[2:] if tag.startswith("B-") else tag])
        else:
            labels.append(IGNORE)
        previous = w
    return labels


def windows(counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive word ranges [lo, hi) whose sub-word counts sum to at most `budget` (a word longer
    than `budget` gets a window to itself). One range covers a sentence that fits."""
    spans, lo, size = [], 0, 0
    for i, c in enumerate(counts):
        if size + c > budget and i > lo:
            spans.append((lo, i))
            lo, size = i, 0
        size += c
    spans.append((lo, len(counts)))
    return spans


def _subword_counts(tokenizer, sentences: list[list[str]]) -> list[list[int]]:
    enc = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    counts = []
    for b, words in enumerate(sentences):
        c = [0] * len(words)
        for w in enc.word_ids(b):
            c[w] += 1
        counts.append(c)
    return counts


def tokenize(split: Dataset, spec: TaggingSpec, tokenizer, max_len: int, train: bool) -> Dataset:
    """Features, one per window (one per sentence unless it is too long): the model inputs, `labels`,
    `sentence` (row of `split`) and `word_ids` (the sentence's word index per token, -1 for specials)."""
    tok = word_tokenizer(tokenizer)
    label_ids = {tag: i for i, tag in enumerate(label_list(spec))}
    budget = max_len - tok.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise PtuneError(f"task.max_seq_len={max_len} leaves no room for words next to the special tokens")

    def encode(batch, indices):
        counts = _subword_counts(tok, batch["tokens"])
        parts = [(b, lo, hi) for b, c in enumerate(counts) for lo, hi in windows(c, budget)]
        enc = tok(
            [batch["tokens"][b][lo:hi] for b, lo, hi in parts],
            is_split_into_words=True,
            truncation=True,
            max_length=max_len,
        )
        out = {key: list(values) for key, values in enc.items()}
        out.update(labels=[], sentence=[], word_ids=[])
        for k, (b, lo, hi) in enumerate(parts):
            local = enc.word_ids(k)
            tags = batch["tags"][b][lo:hi]
            out["labels"].append(
                align_labels(local, tags, label_ids, spec.label_all_tokens) if tags else [IGNORE] * len(local)
            )  # words-only inputs: nothing to learn or score
            out["sentence"].append(indices[b])
            out["word_ids"].append([NO_WORD if w is None else lo + w for w in local])
        return out

    return split.map(
        encode, batched=True, with_indices=True, remove_columns=split.column_names, desc=f"tokenize {spec.name}"
    )


class _TokenCollator:
    """Pads model inputs (labels with -100) and drops the bookkeeping columns."""

    def __init__(self, tokenizer):
        self.keep = set(tokenizer.model_input_names) | {"labels"}
        self.pad = DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE)

    def __call__(self, features: list[dict]) -> dict:
        return self.pad([{k: v for k, v in f.items() if k in self.keep} for f in features])


def collator(tokenizer):
    return _TokenCollator(tokenizer)


# ---------------------------------------------------------------- scoring


def _pct(x) -> float:
    return round(100.0 * float(x), 4)


def score(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, float]:
    """Entity-level micro precision/recall/F1 (conlleval rules, via seqeval) and F1 per type, in percent."""
    with warnings.catch_warnings():  # seqeval's macro average of no entities warns; it is not used
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    scores = {"f1": _pct(micro["f1-score"]), "precision": _pct(micro["precision"]), "recall": _pct(micro["recall"])}
    for kind in sorted(k for k in report if not k.endswith(" avg")):
        scores[f"f1_{kind}"] = _pct(report[kind]["f1-score"])
    return scores


class Scorer:
    """`compute_metrics` for the Trainer, bound to one split: stitches the windows' predictions
    back into sentences (one tag per word), scores them, keeps them in `.predictions`."""

    def __init__(self, spec: TaggingSpec, raw: Dataset, features: Dataset):
        self.spec, self.labels = spec, label_list(spec)
        self.idx, self.tokens, self.gold = raw["idx"], raw["tokens"], raw["tags"]
        self.sentence, self.word_ids = features["sentence"], features["word_ids"]
        self.windowed = sum(1 for n in np.bincount(self.sentence, minlength=len(self.tokens)) if n > 1)
        self.predictions: list[dict] | None = None

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

    def __call__(self, eval_pred) -> dict[str, float]:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        predicted, missing = self.stitch(np.asarray(logits).argmax(-1))
        self.predictions = [
            {"idx": i, "tokens": w, "gold": g or None, "predicted": p}
            for i, w, g, p in zip(self.idx, self.tokens, self.gold, predicted)
        ]
        scored = [(g, p) for g, p in zip(self.gold, predicted) if g]
        scores = score([g for g, _ in scored], [p for _, p in scored]) if scored else {}
        return {**scores, "windowed_sentences": self.windowed, "words_without_subwords": missing}


def write_predictions(spec: TaggingSpec, predictions: list[dict], path: str) -> str:
    """CoNLL text: `word gold predicted` per word (`word predicted` for inputs without tags), a blank
    line after each sentence."""
    path = f"{path}.conll"
    with open(path, "w", encoding="utf-8") as f:
        for row in predictions:
            golds = row["gold"] or [None] * len(row["tokens"])
            for word, gold, pred in zip(row["tokens"], golds, row["predicted"]):
                f.write(" ".join(c for c in ("_".join(word.split()) or "_", gold, pred) if c is not None) + "\n")
            f.write("\n")
    return path


def read_predictions(path: str) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) tag sequences of a predictions file (the last two columns of each line)."""
    from ptune_exp.tasks.benchmarks.conll import column_sentences

    gold, predicted = [], []
    for sentence in column_sentences(path):
        if len(sentence[0][1]) < 3:
            raise PtuneError(f"{path}:{sentence[0][0]}: expected `word gold predicted` columns")
        gold.append([fields[-2] for _, fields in sentence])
        predicted.append([fields[-1] for _, fields in sentence])
    return gold, predicted


def score_file(path: str) -> dict[str, float]:
    """Scores of a predictions file (ours, or any `word ... gold predicted` CoNLL file)."""
    return score(*read_predictions(path))
