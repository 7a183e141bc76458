"""Features of the tagging family: words -> sub-word tokens with aligned labels, in windows that fit.

See `tagging.py` for the rules (first sub-word carries the tag, windows of whole words, byte-level
BPE gets `add_prefix_space`).
"""

from __future__ import annotations

import copy

from datasets import Dataset
from tokenizers import pre_tokenizers
from transformers import DataCollatorForTokenClassification

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import tokenize_rows

IGNORE = -100  # label of positions the loss and the scorer skip
NO_WORD = -1  # word id of special tokens in the features' `word_ids` column


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


def tokenize_windows(
    split: Dataset, spec, tok, max_len: int, label_ids: dict[str, int], second: list[list[str]] | None = None
) -> Dataset:
    """Features, one per window (one per sentence unless it is too long): the model inputs, `labels`,
    `sentence` (row of `split`) and `word_ids` (the sentence's word index per token, -1 for specials).
    `tok` is a `word_tokenizer`. `second` (words per row of `split`, e.g. SRL's predicate) is given to
    every window of its row as the tokenizer's second segment: its tokens carry no label and no word id."""
    specials = tok.num_special_tokens_to_add(pair=second is not None)
    if max_len - specials < 1:
        raise PtuneError(f"task.max_seq_len={max_len} leaves no room for words next to the special tokens")

    def encode(batch, indices):
        pairs = [second[i] for i in indices] if second is not None else None
        extra = [sum(c) for c in _subword_counts(tok, pairs)] if pairs else [0] * len(indices)
        parts = [
            (b, lo, hi)
            for b, c in enumerate(_subword_counts(tok, batch["tokens"]))
            for lo, hi in windows(c, _budget(max_len - specials - extra[b], max_len))
        ]
        enc = tok(
            [batch["tokens"][b][lo:hi] for b, lo, hi in parts],
            [pairs[b] for b, _, _ in parts] if pairs else None,
            is_split_into_words=True,
            truncation="only_first" if pairs else True,
            max_length=max_len,
        )
        return _window_features(enc, parts, batch, indices, label_ids, spec.label_all_tokens)

    return tokenize_rows(split, spec, encode, with_indices=True)


def _budget(budget: int, max_len: int) -> int:
    if budget < 1:
        raise PtuneError(f"task.max_seq_len={max_len} leaves no room for words next to the second segment")
    return budget


def _window_features(enc, parts, batch, indices, label_ids: dict[str, int], label_all_tokens: bool) -> dict:
    """The model inputs of the windows `parts` [(row, lo, hi)], with their labels and bookkeeping."""
    out = {key: list(values) for key, values in enc.items()}
    out.update(labels=[], sentence=[], word_ids=[])
    for k, (b, lo, hi) in enumerate(parts):
        # words of the first segment only: the second segment's tokens are not words of the sentence
        local = [w if s == 0 else None for w, s in zip(enc.word_ids(k), enc.sequence_ids(k))]
        tags = batch["tags"][b][lo:hi]
        out["labels"].append(
            align_labels(local, tags, label_ids, label_all_tokens) if tags else [IGNORE] * len(local)
        )  # words-only inputs: nothing to learn or score
        out["sentence"].append(indices[b])
        out["word_ids"].append([NO_WORD if w is None else lo + w for w in local])
    return out


class TokenCollator:
    """Pads model inputs (labels with -100) and drops the bookkeeping columns."""

    def __init__(self, tokenizer):
        self.keep = set(tokenizer.model_input_names) | {"labels"}
        self.pad = DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE)

    def __call__(self, features: list[dict]) -> dict:
        return self.pad([{k: v for k, v in f.items() if k in self.keep} for f in features])
