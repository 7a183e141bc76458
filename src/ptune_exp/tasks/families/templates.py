"""Templates and label words: how a classification example is written for a verbalizer head or for
virtual tokens placed in the input (ptv1; pt with a verbalizer). docs/heads.md is the user's page.

A template is text with `{text_a}` (and `{text_b}` for a pair task), one `[MASK]` (the slot the
masked-LM head reads) and `[P]` where the virtual tokens go (several `[P]` split them: the first ones
take one more when they do not divide evenly). Each piece is tokenized as it reads after a space, the
texts are cut (longest first) to fit `task.max_seq_len`, and the tokenizer's own [CLS]/[SEP] go around
the whole. A virtual token is written as the pad token under an attention mask of 1 (the prompt
module puts its vector there); a pad or mask token inside a text becomes the unknown token, so that a
text never holds a slot or a second [MASK].

Label words: one per label, in the task's label order. The rule for a word: it is tokenized as it
reads after a space, and it must come out as ONE token; a word that splits is refused (as PET does).

Defaults: the manual templates and label words of LM-BFF (Gao et al. 2021, Table 1) for GLUE, and PET's
patterns (Schick & Schütze 2021) for SuperGLUE BoolQ and CB, written in lower case; WiC and WSC follow
PET's questions in a shorter form; `[P]` at the start (after [CLS]), as prompt tuning places its prompt.
"""

from __future__ import annotations

import dataclasses
import re

from ptune_exp.errors import PtuneError

SLOT, MASK, A, B = "[P]", "[MASK]", "{text_a}", "{text_b}"
PAIR = "[P] {text_a} ? [MASK] , {text_b}"
SENTIMENT = ("[P] {text_a} It was [MASK] .", ("terrible", "great"))
DEFAULTS = {  # task name -> (template, label words in label order)
    "sst2": SENTIMENT,
    "synth_sentiment": SENTIMENT,
    "cola": ("[P] {text_a} This is [MASK] .", ("incorrect", "correct")),
    "mrpc": ("[P] {text_a} [MASK] , {text_b}", ("no", "yes")),
    "qqp": ("[P] {text_a} [MASK] , {text_b}", ("no", "yes")),
    "mnli": (PAIR, ("yes", "maybe", "no")),
    "qnli": (PAIR, ("yes", "no")),
    "rte": (PAIR, ("yes", "no")),
    "wnli": (PAIR, ("no", "yes")),
    "cb": ("[P] {text_b} ? [MASK] , {text_a}", ("yes", "no", "maybe")),
    "boolq": ("[P] {text_b} . question : {text_a} ? answer : [MASK] .", ("no", "yes")),
    "wic": ("[P] {text_a} {text_b} same meaning ? [MASK] .", ("no", "yes")),
    "wsc": ("[P] {text_a} {text_b} ? [MASK] .", ("no", "yes")),  # text_b: "<pronoun> refers to <noun>"
}
_PIECE = re.compile(r"(\[P\]|\[MASK\]|\{text_a\}|\{text_b\})")


def parse(template: str) -> list[str]:
    """The template's pieces: placeholders as they are written, literal text stripped (empty ones dropped)."""
    return [p.strip() for p in _PIECE.split(template) if p.strip()]


def check_template(spec, template: str, slots: int) -> None:
    """One [MASK], {text_a}, {text_b} exactly when the task is a pair, and [P] when virtual tokens go in."""
    pieces, where = parse(template), f"task.template={template!r}"
    if pieces.count(MASK) != 1 or pieces.count(A) != 1 or pieces.count(B) != int(spec.is_pair):
        pair = " and {text_b} once" if spec.is_pair else " (no {text_b}: the task has one text)"
        raise PtuneError(f"{where}: a template holds [MASK] once, {{text_a}} once{pair}; see docs/heads.md")
    if slots and SLOT not in pieces:
        raise PtuneError(f"{where}: write [P] where the {slots} virtual tokens go (docs/heads.md)")


def label_word_ids(tokenizer, words) -> list[int]:
    """One token id per label word (the word as it reads after a space); a word that splits is refused."""
    ids = []
    for word in words:
        pieces = tokenizer.encode(" " + word, add_special_tokens=False)
        if len(pieces) != 1:
            shown = tokenizer.convert_ids_to_tokens(pieces)
            raise PtuneError(
                f"task.label_words: {word!r} is {len(pieces)} tokens {shown} for this tokenizer, and a label "
                "word must be one token; choose a word its vocabulary holds whole"
            )
        ids.append(pieces[0])
    if len(set(ids)) != len(ids):
        raise PtuneError(f"task.label_words={list(words)}: two labels have the same token; give distinct words")
    return ids


def configure(spec, options):
    """The spec with `task.template` / `task.label_words` (the checked options; null: the task's defaults)."""
    template, words = DEFAULTS.get(spec.name, ("", ()))
    given_t, given_w = getattr(options, "template", None), getattr(options, "label_words", None)
    if given_t is not None:
        if not isinstance(given_t, str):
            raise PtuneError(f"task.template={given_t!r}: expected a string, e.g. '[P] {{text_a}} It was [MASK] .'")
        template = given_t
    if given_w is not None:
        if isinstance(given_w, str) or not all(isinstance(w, str) for w in given_w):
            raise PtuneError(f"task.label_words={given_w!r}: expected a list of words, one per label, e.g. [bad,good]")
        words = tuple(given_w)
    return dataclasses.replace(spec, template=template, label_words=tuple(words))


def with_head(spec, head: str, templated: bool, slots: int):
    """The spec for a method's head and placement (`head` linear | pooler | verbalizer; `templated`: inputs
    are written through the template, with `slots` virtual tokens). Classification tasks only."""
    if head == "linear" and not templated:
        return spec
    what = f"method.head={head}" if head != "linear" else "method=ptv1 (a template places its virtual tokens)"
    if not hasattr(spec, "label_words"):
        raise PtuneError(f"{what} applies to classification tasks; task={spec.name} is a {spec.family} task")
    if spec.is_regression and head == "verbalizer":
        raise PtuneError(f"task={spec.name} is a regression: method.head=verbalizer needs labels; use head=linear")
    if templated and not spec.template:
        raise PtuneError(f"task={spec.name} has no default template: set task.template (docs/heads.md)")
    if templated:
        check_template(spec, spec.template, slots)
    if head == "verbalizer" and len(spec.label_words) != len(spec.labels):
        raise PtuneError(
            f"task.label_words={list(spec.label_words)}: give one word per label {list(spec.labels)} (docs/heads.md)"
        )
    return dataclasses.replace(spec, head=head, templated=templated, virtual_tokens=slots)


def slot_counts(pieces: list[str], slots: int) -> list[int]:
    """How many virtual tokens each [P] takes: `slots` split evenly, the first ones take the remainder."""
    n = pieces.count(SLOT)
    return [slots // n + (i < slots % n) for i in range(n)] if n else []


def encode(tokenizer, template: str, slots: int, text_a: str, text_b: str | None, max_len: int) -> list[int]:
    """One example's input ids through the template (see the module docstring)."""
    pieces = parse(template)
    word = lambda text, first: tokenizer.encode(text if first else " " + text, add_special_tokens=False)
    safe = {tokenizer.pad_token_id, tokenizer.mask_token_id}
    texts = {A: word(text_a, pieces[0] == A), B: word(text_b or "", pieces[0] == B)}
    texts = {k: [tokenizer.unk_token_id if t in safe else t for t in v] for k, v in texts.items()}
    counts = iter(slot_counts(pieces, slots))
    fixed = {i: word(p, i == 0) for i, p in enumerate(pieces) if p not in (A, B, SLOT, MASK)}
    frame, lead = _frame(tokenizer)
    room = max_len - len(frame) - sum(map(len, fixed.values())) - slots - 1
    if room < len(pieces):
        raise PtuneError(f"task.template leaves no room for the text under task.max_seq_len={max_len}")
    _cut(texts, room)
    body = []
    for i, p in enumerate(pieces):
        if p == SLOT:
            body += [tokenizer.pad_token_id] * next(counts)
        elif p == MASK:
            body.append(tokenizer.mask_token_id)
        else:
            body += texts[p] if p in (A, B) else fixed[i]
    return frame[:lead] + body + frame[lead:]


def _frame(tokenizer) -> tuple[list[int], int]:
    """The special tokens the tokenizer puts around one text ([CLS] ... [SEP]) and how many come first."""
    word = tokenizer.encode("a", add_special_tokens=False)
    full = tokenizer.encode("a")
    lead = next(i for i in range(len(full)) if full[i : i + len(word)] == word)
    return full[:lead] + full[lead + len(word) :], lead


def _cut(texts: dict[str, list[int]], room: int) -> None:
    """Shorten the longer text one token at a time until both fit in `room` (truncation longest-first)."""
    while len(texts[A]) + len(texts[B]) > room:
        longer = A if len(texts[A]) >= len(texts[B]) else B
        texts[longer].pop()
