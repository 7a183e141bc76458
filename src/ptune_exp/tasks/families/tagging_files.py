"""IOB tags and the files of the tagging family: CoNLL column files (data, inputs to tag) and the
prediction files it writes.

Column files (UTF-8, with or without a byte-order mark): one word per line with the tag in the LAST
column (any number of columns in between: `word POS chunk NER`, `word NER`, CoNLL-X's ten
columns...), a blank line between sentences, `-DOCSTART-` lines skipped. Tags are IOB: IOB2 files are
read as they are, IOB1 files (the original CoNLL-2003 layout, where an entity starts with I- unless it
directly follows one of the same type) are converted to IOB2. Other schemes (BIOES, BILOU) are
refused with the line that shows them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator

from ptune_exp.errors import PtuneError
from ptune_exp.storage.files import atomic_open
from ptune_exp.tasks.files import text_lines
from ptune_exp.tasks.values import checked_text

log = logging.getLogger("ptune_exp")

DOCSTART = "-DOCSTART-"
_FIELDS = re.compile(r"[ \t]+")
_SPACE = re.compile(r"[ \t\n]")  # what separates words in a column file


# ---------------------------------------------------------------- IOB tags


def check_tag(tag: str) -> str | None:
    """None if `tag` is an IOB tag (O, B-TYPE, I-TYPE), else what is wrong with it."""
    if tag == "O" or (len(tag) > 2 and tag[:2] in ("B-", "I-")):
        return None
    return (
        f"tag {tag!r} is not an IOB tag (O, B-TYPE or I-TYPE); convert other schemes "
        "(BIOES, BILOU, bare types) to IOB2 first"
    )


def checked_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    """A label list given as `task.labels`, if it is a complete IOB2 tag set."""
    problems = [p for p in map(check_tag, labels) if p]
    if not problems and "O" not in labels:
        problems.append('"O" is missing')
    if not problems and len(set(labels)) != len(labels):
        problems.append("a tag is listed twice")
    problems += [f"{t} has no I-{t[2:]}" for t in labels if t.startswith("B-") and "I-" + t[2:] not in labels]
    if problems:
        raise PtuneError(f"task.labels={list(labels)}: {problems[0]}; list O and B-/I- of every entity type")
    return labels


def iob_labels(types) -> tuple[str, ...]:
    """ "O", then B- and I- of each entity type, in the given order."""
    return ("O", *(f"{p}-{t}" for t in types for p in "BI"))


def entity_types(labels: tuple[str, ...]) -> list[str]:
    return sorted({tag[2:] for tag in labels if tag != "O"})


def to_iob2(tags: list[str]) -> tuple[list[str], int]:
    """IOB1 (or loose IOB) -> IOB2: an I-X that does not continue an X entity starts one (B-X).

    Valid IOB2 comes back unchanged, so this is safe to apply to any IOB file; the entities are the
    ones conlleval reads from the input either way. Returns the tags and how many were changed.
    """
    out, changed, previous = [], 0, "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag, changed = "B-" + tag[2:], changed + 1
        out.append(tag)
        previous = tag
    return out, changed


def spans_to_tags(length: int, entities: list[dict]) -> list[str]:
    """Entity spans `{start, end (exclusive), type}` over `length` words -> IOB2 tags."""
    tags = ["O"] * length
    for e in sorted(entities, key=lambda e: e["start"]):
        start, end, kind = int(e["start"]), int(e["end"]), str(e["type"])
        if not 0 <= start < end <= length:
            raise PtuneError(f"entity {e} does not lie inside a sentence of {length} words")
        tags[start:end] = ["B-" + kind] + ["I-" + kind] * (end - start - 1)
    return tags


# ---------------------------------------------------------------- column files


def column_sentences(path: str, min_columns: int = 2) -> Iterator[list[tuple[int, list[str]]]]:
    """Sentences of a CoNLL column file: lists of (line number, fields).

    Blank lines and `-DOCSTART-` lines end a sentence. Every word line must have the same number of
    columns (at least `min_columns`) as the first one; a line that does not is reported with its number.
    """
    columns, sentence = None, []
    for n, line in text_lines(path):
        text = line.strip(" \t")
        fields = _FIELDS.split(text) if text else []
        if not fields or fields[0] == DOCSTART:
            if sentence:
                yield sentence
            sentence = []
            continue
        if columns is None:
            columns = len(fields)
            if columns < min_columns:
                raise PtuneError(
                    f"{path}:{n}: one column ({text!r}){_no_word(line)}; expected `word ... tag` "
                    "columns separated by spaces or tabs, with the tag last"
                )
        elif len(fields) != columns:
            raise PtuneError(
                f"{path}:{n}: {len(fields)} columns ({text!r}){_no_word(line)}, but the file's first "
                f"word line has {columns}; every word line needs the same columns, tag last"
            )
        sentence.append((n, fields))
    if sentence:
        yield sentence


def _no_word(line: str) -> str:
    """A hint for a line that starts with a space or tab: its first column (the word) is empty."""
    return " after a space or tab (a tag without its word?)" if line[:1] in (" ", "\t") else ""


def read_columns(path: str, labels: tuple[str, ...], what: str, words_only: bool = False) -> list[dict]:
    """Rows `{idx, tokens, tags}` (IOB2) of a column file; `labels` (if not empty) are the allowed tags.
    With `words_only`, a one-column file (words, no tags) is accepted: its rows have no tags ([]). The
    file's tags are checked line by line, then its sentences go through `sentence_rows`."""
    sentences, places, converted = [], [], 0
    for sentence in column_sentences(path, min_columns=1 if words_only else 2):
        words = [fields[0] for _, fields in sentence]
        places.append(f"{path}:{sentence[0][0]}")
        if len(sentence[0][1]) == 1:
            sentences.append({"tokens": words, "tags": []})
            continue
        for n, fields in sentence:
            problem = check_tag(fields[-1])
            if problem:
                raise PtuneError(f"{path}:{n}: {problem}")
        tags, changed = to_iob2([fields[-1] for _, fields in sentence])
        converted += changed
        for (n, fields), tag in zip(sentence, tags):
            if labels and tag not in labels:
                raise PtuneError(f"{path}:{n}: tag {fields[-1]!r} {_unknown(tag, what, labels)}")
        sentences.append({"tokens": words, "tags": tags})
    if converted:
        log.info("%s: IOB1 tags converted to IOB2 (%d entity starts I- -> B-)", path, converted)
    return sentence_rows(sentences, places.__getitem__, labels, what)


def _unknown(tag: str, what: str, labels: tuple[str, ...]) -> str:
    return (
        f"has entity type {tag[2:]!r}, which {what} does not have (its types: {entity_types(labels)}); "
        "is this the right task= for the file?"
    )


# ---------------------------------------------------------------- sentences as dicts


def sentence_rows(
    examples: Iterable, where: Callable[[int], str], labels: tuple[str, ...] = (), what: str = "", labelled=False
) -> list[dict]:
    """Rows `{idx, tokens, tags}` of sentences given as dicts: `tokens` (a list of words, or a string split
    at whitespace) and optional `tags` (IOB, one per word; IOB1 becomes IOB2), among `labels` if any;
    with `labelled`, every sentence needs its tags. A bad one is an error at `where(i)`."""
    rows = []
    for i, example in enumerate(examples):
        tokens = words_of(example, where(i))
        tags = tags_of(example, tokens, where(i), labels, what)
        if labelled and not tags:
            raise PtuneError(f"{where(i)}: no 'tags'; a training or evaluation file needs them")
        rows.append({"idx": i, "tokens": tokens, "tags": tags})
    return rows


def words_of(example, place: str) -> list[str]:
    """The words of an example's `tokens`: non-empty strings without spaces (a string: split at them)."""
    words = example.get("tokens") if isinstance(example, dict) else None
    words = words.split() if isinstance(words, str) else words
    if not isinstance(words, list) or not words:
        raise PtuneError(f"{place} needs words: a non-empty list 'tokens' (or a list of words, or a string)")
    for word in words:
        if not isinstance(word, str) or not word or _SPACE.search(word):
            raise PtuneError(f"{place}: word {word!r} must be a non-empty string without spaces")
        try:
            checked_text(word, "tokens")
        except ValueError as e:
            raise PtuneError(f"{place}: {e}") from None
    return list(words)


def tags_of(example, tokens: list[str], place: str, labels: tuple[str, ...] = (), what: str = "") -> list[str]:
    """An example's `tags` as IOB2 ([] when it has none): one IOB tag per word, among `labels` if any."""
    tags = example.get("tags") if isinstance(example, dict) else None
    if not tags:
        return []
    if not isinstance(tags, list) or len(tags) != len(tokens) or not all(isinstance(t, str) for t in tags):
        raise PtuneError(f"{place}: 'tags' must be a list of {len(tokens)} IOB tags, one per word")
    for k, tag in enumerate(tags):
        if problem := check_tag(tag):
            raise PtuneError(f"{place}: word {k} ({tokens[k]!r}): {problem}")
    tags = to_iob2(tags)[0]
    for k, tag in enumerate(tags):
        if labels and tag not in labels:
            raise PtuneError(f"{place}: word {k} ({tokens[k]!r}): tag {tag!r} {_unknown(tag, what, labels)}")
    return tags


# ---------------------------------------------------------------- prediction files


def write_conll(predictions: list[dict], path: str) -> str:
    """CoNLL text: `word gold predicted` per word (`word predicted` for inputs without tags), a blank
    line after each sentence."""
    path = f"{path}.conll"
    with atomic_open(path) as f:
        for row in predictions:
            golds = row["gold"] or [None] * len(row["tokens"])
            for word, gold, pred in zip(row["tokens"], golds, row["predicted"]):
                f.write(" ".join(c for c in ("_".join(word.split()) or "_", gold, pred) if c is not None) + "\n")
            f.write("\n")
    return path


def read_predictions(path: str) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) tag sequences of a predictions file (the last two columns of each line)."""
    gold, predicted = [], []
    for sentence in column_sentences(path):
        if len(sentence[0][1]) < 3:
            raise PtuneError(f"{path}:{sentence[0][0]}: expected `word gold predicted` columns")
        gold.append([fields[-2] for _, fields in sentence])
        predicted.append([fields[-1] for _, fields in sentence])
    return gold, predicted
