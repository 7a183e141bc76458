"""`synth_ner`: a small named-entity task the project generates itself (no third-party text), family `tagging`.

Why it exists: the P-Tuning v2 paper's case is that a prompt in the input alone (prompt tuning) steers a frozen
encoder poorly on sequence tagging, where each token's tag depends on its context, while a deep prompt (a prefix in
every layer) or fine-tuning does well. This is the second design of the task, written and committed before any run
of it; the first (ten ambiguous real words, cues one to three words away, the same words in every split) did not
reproduce the gap on all-MiniLM-L6-v2 (docs/tasks.md has its numbers). What this one changes, from that reason:

- Entity words are made-up words ("vorilan", "teskom"), drawn from word lists that differ between train, dev and
  test: no entity word of the dev or test set is ever seen in training, and the word's form says nothing about
  its type (every type draws from the same generator). As in real NER, the tag has to come from the context.
- Made-up words are also plain things (tag O): "she ordered a vorilan for lunch". Being unknown is not a cue.
- In most sentences the deciding words are far from the entity: "vorilan teskom , after a long and quiet
  winter , was elected to the board" (a person) against "... , has a population of two million" (a place):
  the words that decide come after a filler of 2 to 8 neutral words, which every type shares.
- A sentence often joins two clauses whose entities have different types, so one reading per sentence is wrong.
- Entities span one or two words (B- then I-), a thing (O) one or two.

Sentences come from fixed lists and templates with a fixed seed per split, so every machine gets the same
2,000 / 400 / 400 sentences. Tags are IOB2 over PER, LOC and ORG; entity-level F1 (seqeval) as for CoNLL-2003.
"""

from __future__ import annotations

import functools
import random

from ptune_exp.tasks.families.tagging import TaggingSpec
from ptune_exp.tasks.spec import Split, register

SIZES = {"train": 2000, "dev": 400, "test": 400}
LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
TYPES = ("PER", "LOC", "ORG", "O")
WORDS_PER_SPLIT = 400

# The deciding words of each reading. A far frame puts them after "<entity> , <filler> ,"; a near frame has them
# next to the entity ({E}). Readings share every other word.
PREDICATES = {
    "PER": [
        "said she would resign",
        "was elected to the board",
        "told reporters he was tired",
        "was born in a small village",
        "smiled and shook hands with everyone",
        "signed the letter herself",
    ],
    "LOC": [
        "has a population of two million",
        "lies on the northern coast",
        "was flooded after the storm",
        "is the capital of the region",
        "borders the mountains to the east",
        "welcomed more tourists than ever",
    ],
    "ORG": [
        "reported record profits",
        "hired two hundred workers",
        "announced a merger with a rival",
        "was fined by the regulators",
        "cut the prices of its products",
        "listed its shares on the exchange",
    ],
    "O": [
        "was sold out in every shop",
        "tasted better than expected",
        "broke after only a week",
        "needs fresh batteries every month",
        "was left on the kitchen table",
        "fits easily in a small bag",
    ],
}
NEAR = {
    "PER": [
        "mr {E} arrived late",
        "we interviewed {E} yesterday",
        "a speech by {E} opened the meeting",
        "the minister , {E} , resigned",
    ],
    "LOC": [
        "they flew to {E} on monday",
        "the weather in {E} was cold",
        "she grew up near {E}",
        "the mayor of {E} spoke first",
    ],
    "ORG": [
        "shares of {E} rose",
        "he works for {E} now",
        "a spokesman for {E} declined to comment",
        "the chief executive of {E} quit",
    ],
    "O": [
        "she ordered a {E} for lunch",
        "the {E} on the shelf was dusty",
        "he fixed the old {E}",
        "we need another {E} for the kitchen",
    ],
}
FILLERS = [
    "as many had expected",
    "after a long and quiet winter",
    "despite the heavy rain",
    "for the third time this year",
    "to the surprise of almost nobody in town",
    "once again",
    "late last night",
    "in the middle of a very busy week",
]
JOINS = ["while", "and", "; meanwhile ,", ", but"]
FAR_SHARE = 0.7  # share of clauses whose deciding words sit after a filler, away from the entity
TWO_CLAUSES = 0.4
ONSETS = "b d f g k l m n p r s t v z br dr gr kr pl st tr".split()
VOWELS = "a e i o u ai ei ou".split()
CODAS = ["", "", "", "n", "m", "r", "s", "k", "l"]


def _made_up_word(rng: random.Random) -> str:
    syllables = rng.randint(2, 3)
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS)


def _frame_words() -> set[str]:
    texts = [*FILLERS, *JOINS, *(t for group in (PREDICATES, NEAR) for ts in group.values() for t in ts)]
    return {w for t in texts for w in t.split()}


@functools.cache
def made_up_words(role: str) -> tuple[str, ...]:
    """The split's own entity words: never a word of another split's list or of the templates."""
    taken = _frame_words()
    for other in ("train", "dev", "test"):
        if other == role:
            break
        taken |= set(made_up_words(other))
    rng, words = random.Random(f"synth_ner/words/{role}"), []
    while len(words) < WORDS_PER_SPLIT:
        word = _made_up_word(rng)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return tuple(words)


def _clause(rng: random.Random, words: tuple[str, ...], reading: str) -> tuple[list[str], list[str]]:
    span = [rng.choice(words) for _ in range(rng.randint(1, 2))]
    span_tags = ["O"] * len(span) if reading == "O" else [f"B-{reading}"] + [f"I-{reading}"] * (len(span) - 1)
    if rng.random() < FAR_SHARE:
        filler = rng.choice(FILLERS).split()
        rest = [",", *filler, ",", *rng.choice(PREDICATES[reading]).split()]
        return [*span, *rest], [*span_tags, *["O"] * len(rest)]
    tokens, tags = [], []
    for item in rng.choice(NEAR[reading]).split():
        tokens += span if item == "{E}" else [item]
        tags += span_tags if item == "{E}" else ["O"]
    return tokens, tags


def _sentence(rng: random.Random, words: tuple[str, ...]) -> tuple[list[str], list[str]]:
    tokens, tags = _clause(rng, words, rng.choice(TYPES))
    if rng.random() < TWO_CLAUSES:
        more_tokens, more_tags = _clause(rng, words, rng.choice(TYPES))
        join = rng.choice(JOINS).split()
        tokens, tags = [*tokens, *join, *more_tokens], [*tags, *["O"] * len(join), *more_tags]
    return tokens, tags


def generate(role: str, seed: int = 0) -> list[dict]:
    rng, words = random.Random(f"synth_ner/{role}/{seed}"), made_up_words(role)
    rows = []
    for i in range(SIZES[role]):
        tokens, tags = _sentence(rng, words)
        rows.append({"idx": i, "tokens": tokens, "tags": tags})
    return rows


register(
    TaggingSpec(
        name="synth_ner",
        family="tagging",
        benchmark="synthetic",
        metrics=("f1", "precision", "recall"),
        main_metric="f1",
        splits={role: Split() for role in SIZES},
        labels=LABELS,
        generate=generate,
    )
)
