"""The files of the SRL family: CoNLL props files (bracketed argument columns) and BIO column files,
read into one example per (sentence, predicate).

Rows are `{idx, tokens, tags, predicate}`: the sentence's words, the BIO argument tags of ONE
predicate (its own word tagged `B-V`), and the predicate's word index. A sentence with three
predicates gives three rows; a sentence without predicates gives none.

Two layouts, told apart by the file (a `*` in the last column of any line: props):

- props (CoNLL-2004/2005 `paste words props`, or the full CoNLL-2005 columns): the word FIRST, any
  columns, then the predicate column (the predicate's lemma, `-` for other words), then one
  argument column per predicate, in the order of the predicates, last. Argument columns are
  Start-End brackets: `(A0*` opens an A0, `*)` closes it (`*A0)` names what it closes), `(V*)` is
  a one-word span, `*` is inside or outside. Per predicate, arguments neither nest nor overlap;
  an unbalanced, nested or mismatched bracket fails with the file and line. Discontinuous
  arguments (`C-A1`) and references (`R-A0`) are labels of their own here (B-C-A1, B-R-A0); the
  scorer joins `C-` pieces with their argument as srl-eval.pl does.
- BIO: one block per (sentence, predicate), `word ... tag` with the tag LAST (IOB2, or IOB1 turned
  into IOB2), the predicate tagged `B-V`; a blank line between blocks.

Inputs to label (`ptune-exp-predict`) may leave the arguments out: props files with the word and
predicate columns only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.tagging_files import check_tag, tags_of, to_iob2, words_of
from ptune_exp.tasks.files import text_lines

VERB = "V"
_FIELDS = re.compile(r"[ \t]+")
_OPENS = re.compile(r"\(([^()*\s]+)")
_CELL = re.compile(r"^((?:\([^()*\s]+)*)\*((?:[^()*\s]*\))*)$")  # (A0(A1* ... *A1)A0) in one cell


def blocks(path: str) -> list[list[tuple[int, list[str]]]]:
    """Blank-line separated blocks of a column file: [(line number, fields)]; within a block every
    line has the same number of columns (blocks may differ: one argument column per predicate)."""
    out = [[]]
    for n, line in text_lines(path):
        text, block = line.strip(" \t"), out[-1]  # only spaces and tabs separate: any other character is text
        if not text:
            if block:
                out.append([])  # a blank line ends the sentence
            continue
        fields = _FIELDS.split(text)
        if block and len(fields) != len(block[0][1]):
            raise PtuneError(
                f"{path}:{n}: {len(fields)} columns ({text[:60]!r}), but line {block[0][0]} of the same "
                f"sentence has {len(block[0][1])}; every line of a sentence needs the same columns"
            )
        block.append((n, fields))
    return [block for block in out if block]


def is_props(sentences: list[list[tuple[int, list[str]]]]) -> bool:
    return any("*" in fields[-1] for sentence in sentences for _, fields in sentence)


def read_srl(path: str, inputs: bool = False) -> list[dict]:
    """Rows `{idx, tokens, tags, predicate}` of a props or BIO file (see the module docstring). With
    `inputs`, a props file may hold no argument columns: its rows have no tags ([]). The file's
    propositions go through `proposition_rows`."""
    sentences = blocks(path)
    props, examples, places = is_props(sentences), [], []
    for sentence in sentences:
        if props or (inputs and not all(check_tag(fields[-1]) is None for _, fields in sentence)):
            found = props_rows(path, sentence, inputs)  # (inputs: `word predicate` without arguments)
        else:
            found = [bio_row(path, sentence)]
        examples += found
        places += [f"{path}:{sentence[0][0]}"] * len(found)
    return proposition_rows(examples, places.__getitem__)


def proposition_rows(examples: Iterable, where: Callable[[int], str], labelled: bool = False) -> list[dict]:
    """Rows `{idx, tokens, tags, predicate}` of propositions given as dicts: `tokens` (words), `predicate`
    (the predicate word's index) and optional `tags` (BIO, one per word); with `labelled`, every one needs
    its tags. A bad one is an error at `where(i)`."""
    rows = []
    for i, example in enumerate(examples):
        tokens = words_of(example, where(i))
        p = example.get("predicate") if isinstance(example, dict) else None
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p < len(tokens):
            raise PtuneError(f"{where(i)} needs 'predicate': the index of the predicate word (0..{len(tokens) - 1})")
        tags = tags_of(example, tokens, where(i))
        if labelled and not tags:
            raise PtuneError(f"{where(i)}: no 'tags'; a training or evaluation file needs them")
        rows.append({"idx": i, "tokens": tokens, "tags": tags, "predicate": p})
    return rows


# ---------------------------------------------------------------- props (Start-End brackets)


def _argument_columns(path: str, sentence: list[tuple[int, list[str]]]) -> int:
    """Index of the predicate column: the last column without a `*`, the argument columns after it."""
    columns = len(sentence[0][1])
    first = columns
    while first > 1 and all("*" in fields[first - 1] for _, fields in sentence):
        first -= 1
    if first < 2:
        raise PtuneError(
            f"{path}:{sentence[0][0]}: no predicate column; props files hold `word ... predicate args...` "
            "(the word first, then `-` or the predicate's lemma, then one bracketed column per predicate)"
        )
    return first - 1


def props_rows(path: str, sentence: list[tuple[int, list[str]]], inputs: bool = False) -> list[dict]:
    """One example per predicate of a props sentence."""
    target = _argument_columns(path, sentence)
    words = [fields[0] for _, fields in sentence]
    predicates = [i for i, (_, fields) in enumerate(sentence) if fields[target] != "-"]
    arguments = len(sentence[0][1]) - target - 1
    if inputs and arguments == 0:
        return [{"tokens": words, "tags": [], "predicate": p} for p in predicates]
    if arguments != len(predicates):
        raise PtuneError(
            f"{path}:{sentence[0][0]}: {len(predicates)} predicates (not `-` in column {target + 1}) but "
            f"{arguments} argument columns after it; props need one argument column per predicate"
        )
    rows = []
    for k, p in enumerate(predicates):
        tags = brackets_to_bio(path, [(n, fields[target + 1 + k]) for n, fields in sentence])
        if VERB in {t[2:] for t in tags} and tags[p][2:] != VERB:
            raise PtuneError(
                f"{path}:{sentence[p][0]}: argument column {k + 1} is not this predicate's: its V span "
                f"does not cover {words[p]!r}; argument columns follow the predicates in order"
            )
        rows.append({"tokens": words, "tags": tags, "predicate": p})
    return rows


def _cell(path: str, n: int, cell: str) -> tuple[list[str], list[str]]:
    """(labels opened, labels closed ('' when unnamed)) by one Start-End cell."""
    match = _CELL.match(cell)
    if not match:
        raise PtuneError(f"{path}:{n}: {cell!r} is not a Start-End cell (`*`, `(A0*`, `*)`, `(V*)`)")
    opens = _OPENS.findall(match.group(1))
    closes = [c[:-1] for c in re.findall(r"[^()*\s]*\)", match.group(2))]
    return opens, closes


def brackets_to_bio(path: str, column: list[tuple[int, str]]) -> list[str]:
    """BIO tags of one argument column [(line, cell)]; unbalanced, nested or mismatched brackets fail."""
    tags, current = [], None  # current: (label, line it opened on)
    for n, cell in column:
        opens, closes = _cell(path, n, cell)
        if len(opens) > 1 or (opens and current):
            inside = f"inside {current[0]} opened on line {current[1]}" if current else "in one cell"
            raise PtuneError(f"{path}:{n}: argument {opens[-1]} nested {inside}; arguments of a predicate do not nest")
        if opens:
            current = (opens[0], n)
        tags.append(("B-" if opens else "I-") + current[0] if current else "O")
        if len(closes) > 1 or (closes and not current):
            raise PtuneError(f"{path}:{n}: {cell!r} closes an argument that is not open (unbalanced brackets)")
        if closes and closes[0] and closes[0] != current[0]:
            raise PtuneError(f"{path}:{n}: {cell!r} closes {closes[0]}, but the open argument is {current[0]}")
        if closes:
            current = None
    if current:
        raise PtuneError(f"{path}:{current[1]}: argument {current[0]} is never closed (unbalanced brackets)")
    return tags


# ---------------------------------------------------------------- BIO blocks


def bio_row(path: str, sentence: list[tuple[int, list[str]]]) -> dict:
    """The example of one BIO block: tags last, the predicate tagged B-V."""
    if len(sentence[0][1]) < 2:
        raise PtuneError(
            f"{path}:{sentence[0][0]}: one column; SRL needs the predicate: `word ... tag` blocks with "
            "the predicate tagged B-V, or a props file (`word predicate args...`)"
        )
    for n, fields in sentence:
        if problem := check_tag(fields[-1]):
            raise PtuneError(f"{path}:{n}: {problem}")
    tags = to_iob2([fields[-1] for _, fields in sentence])[0]
    verbs = [i for i, tag in enumerate(tags) if tag == "B-" + VERB]
    if len(verbs) != 1:
        raise PtuneError(
            f"{path}:{sentence[0][0]}: a BIO block tags {len(verbs)} words B-V; each block holds one "
            "predicate, tagged B-V"
        )
    return {"tokens": [fields[0] for _, fields in sentence], "tags": tags, "predicate": verbs[0]}
