"""NER datasets of the paper (CoNLL-2003, CoNLL-2004 entities, OntoNotes 5.0) and their readers.

Local (`task.data_dir=DIR`): CoNLL column files, one word per line with the tag in the LAST column
(any number of columns in between: `word POS chunk NER`, `word NER`, CoNLL-X's ten columns...),
a blank line between sentences, `-DOCSTART-` lines skipped. Tags are IOB: IOB2 files are read as
they are, IOB1 files (the original CoNLL-2003 layout, where an entity starts with I- unless it
directly follows one of the same type) are converted to IOB2. Other schemes (BIOES, BILOU) are
refused with the line that shows them. File names per task:

  conll03    train.txt valid.txt test.txt   (the names of the CoNLL-2003 distribution)
  conll04    train.txt dev.txt   test.txt
  ontonotes  train.txt dev.txt   test.txt

Hub (no `task.data_dir`), datasets that load with current `datasets` (no loading scripts):
  conll03    eriktks/conll2003, the Hub's parquet conversion (refs/convert/parquet); tags by ClassLabel
  conll04    DFKI-SLT/conll04 (parquet; the SpERT split 922/231/288; entity spans -> IOB2)
  ontonotes  tner/ontonotes5, the Hub's parquet conversion; integer tags in T-NER's label order
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.tagging import TaggingSpec, check_tag, entity_types
from ptune_exp.tasks.files import hub_split
from ptune_exp.tasks.spec import Split, register

log = logging.getLogger("ptune_exp")

DOCSTART = "-DOCSTART-"
_FIELDS = re.compile(r"[ \t]+")
_PARQUET = "refs/convert/parquet"  # the Hub's automatic parquet copy of a script-based dataset


# ---------------------------------------------------------------- IOB tags


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
    try:
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                text = line.rstrip("\r\n").strip(" \t")
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
                            f"{path}:{n}: one column ({text!r}); expected `word ... tag` "
                            "columns separated by spaces or tabs, with the tag last"
                        )
                elif len(fields) != columns:
                    raise PtuneError(
                        f"{path}:{n}: {len(fields)} columns ({text!r}), but the file's first "
                        f"word line has {columns}; every word line needs the same columns, tag last"
                    )
                sentence.append((n, fields))
    except UnicodeDecodeError as e:
        raise PtuneError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); re-encode the file as UTF-8"
        ) from None
    if sentence:
        yield sentence


def read_columns(path: str, labels: tuple[str, ...], what: str, words_only: bool = False) -> list[dict]:
    """Rows `{idx, tokens, tags}` (IOB2) of a column file; `labels` (if not empty) are the allowed tags.
    With `words_only`, a one-column file (words, no tags) is accepted: its rows have no tags ([])."""
    rows, converted = [], 0
    for sentence in column_sentences(path, min_columns=1 if words_only else 2):
        words = [fields[0] for _, fields in sentence]
        if len(sentence[0][1]) == 1:
            rows.append({"idx": len(rows), "tokens": words, "tags": []})
            continue
        for n, fields in sentence:
            problem = check_tag(fields[-1])
            if problem:
                raise PtuneError(f"{path}:{n}: {problem}")
        tags, changed = to_iob2([fields[-1] for _, fields in sentence])
        converted += changed
        for (n, fields), tag in zip(sentence, tags):
            if labels and tag not in labels:
                raise PtuneError(
                    f"{path}:{n}: tag {fields[-1]!r} has entity type {tag[2:]!r}, which {what} "
                    f"does not have (its types: {entity_types(labels)}); is this the right task= "
                    "for the file?"
                )
        rows.append({"idx": len(rows), "tokens": words, "tags": tags})
    if converted:
        log.info("%s: IOB1 tags converted to IOB2 (%d entity starts I- -> B-)", path, converted)
    return rows


# ---------------------------------------------------------------- the dataset hub


def read_hub(spec: TaggingSpec, split: str) -> list[dict]:
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


# ---------------------------------------------------------------- the datasets


def _types(*types: str) -> tuple[str, ...]:
    return ("O", *(f"{p}-{t}" for t in types for p in "BI"))


def _splits(dev_file: str) -> dict[str, Split]:
    return {
        "train": Split("train", "train.txt"),
        "dev": Split("validation", dev_file),
        "test": Split("test", "test.txt"),
    }


def ner(name: str, labels: tuple[str, ...], dev_file: str, hub: tuple[str, str | None], **hub_options) -> TaggingSpec:
    return register(
        TaggingSpec(
            name=name,
            family="tagging",
            benchmark="ner",
            metrics=("f1", "precision", "recall"),
            main_metric="f1",
            splits=_splits(dev_file),
            hub=hub,
            labels=labels,
            **hub_options,
        )
    )


# label order = the hub's order (ClassLabel, or T-NER's label.json), so hub ids map directly
ner(
    "conll03",
    _types("PER", "ORG", "LOC", "MISC"),
    "valid.txt",
    ("eriktks/conll2003", None),
    hub_revision=_PARQUET,
    hub_columns=("tokens", "ner_tags"),
)
# CoNLL04 copies spell the types differently (Peop/Loc/Org/Other, or PER/LOC/...): labels come from the data
ner("conll04", (), "dev.txt", ("DFKI-SLT/conll04", None), hub_format="spans", hub_columns=("tokens", "entities"))
ner(
    "ontonotes",
    (
        "O",
        "B-CARDINAL",
        "B-DATE",
        "I-DATE",
        "B-PERSON",
        "I-PERSON",
        "B-NORP",
        "B-GPE",
        "I-GPE",
        "B-LAW",
        "I-LAW",
        "B-ORG",
        "I-ORG",
        "B-PERCENT",
        "I-PERCENT",
        "B-ORDINAL",
        "B-MONEY",
        "I-MONEY",
        "B-WORK_OF_ART",
        "I-WORK_OF_ART",
        "B-FAC",
        "B-TIME",
        "I-CARDINAL",
        "B-LOC",
        "B-QUANTITY",
        "I-QUANTITY",
        "I-NORP",
        "I-LOC",
        "B-PRODUCT",
        "I-TIME",
        "B-EVENT",
        "I-EVENT",
        "I-FAC",
        "B-LANGUAGE",
        "I-PRODUCT",
        "I-ORDINAL",
        "I-LANGUAGE",
    ),
    "dev.txt",
    ("tner/ontonotes5", None),
    hub_revision=_PARQUET,
    hub_columns=("tokens", "tags"),
)
