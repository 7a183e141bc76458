"""`synth_ner`: a small named-entity task the project generates itself (no third-party text), family `tagging`.

Why it exists: the P-Tuning v2 paper's case is that a prompt in the input alone (prompt tuning) steers a frozen
encoder poorly on sequence tagging, where each token's tag depends on its context, while a deep prompt (a prefix in
every layer) or fine-tuning does well. This task is built on that reason, before any result was looked at: most
entity words are ambiguous and only the words around them decide their tag.

- Ambiguous names are a person or a place (`jordan`, `paris`, `austin`, ...): "mr jordan said" is B-PER,
  "flew to jordan" is B-LOC. Ambiguous nouns are an organisation or nothing (`apple`, `shell`, `amazon`, ...):
  "shares of apple rose" is B-ORG, "she ate an apple" is O.
- The cue is sometimes before the word and sometimes after it ("jordan , the city we visited ," is a place),
  and sometimes a few words away.
- Two-word entities take I- tags ("jordan smith" is B-PER I-PER, "apple bank" B-ORG I-ORG), and a sentence may
  join two clauses with different readings of the same word.

Sentences come from fixed word lists and templates with a fixed seed per split, so every machine gets the same
2,000 / 400 / 400 sentences. Tags are IOB2 over PER, LOC and ORG; entity-level F1 (seqeval) as for CoNLL-2003.
"""

from __future__ import annotations

import random

from ptune_exp.tasks.families.tagging import TaggingSpec
from ptune_exp.tasks.spec import Split, register

SIZES = {"train": 2000, "dev": 400, "test": 400}
LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
NAMES = ["jordan", "paris", "austin", "florence", "sydney", "victoria", "georgia", "madison", "dallas", "chelsea"]
NOUNS = ["apple", "shell", "amazon", "jaguar", "oracle", "target", "delta", "corona", "puma", "mercury"]
SURNAMES = ["smith", "garcia", "chen", "novak", "okafor", "silva"]
PLAIN = ["the", "report", "was", "late", "again", "today", "and", "everyone", "knew", "it"]

# Each template is a list of words; {N} is an ambiguous name or noun slot with the reading the template gives it,
# {S} a surname that extends a PER name into two words. The reading: PER, LOC, ORG or O.
TEMPLATES = {
    "PER": [
        "mr {N} said the plan was fine",
        "we met {N} at the station yesterday",
        "{N} , a doctor from the clinic , agreed",
        "i asked {N} {S} about the budget",
        "the letter from {N} arrived on monday",
        "{N} told her brother the news",
    ],
    "LOC": [
        "they flew to {N} last week",
        "the weather in {N} was cold",
        "{N} , the city we visited in may , was busy",
        "she lives near {N} with her family",
        "trains from {N} were delayed again",
        "the museum in {N} opened early",
    ],
    "ORG": [
        "shares of {N} rose after the report",
        "{N} announced record profits on friday",
        "he works for {N} {S} as an engineer",
        "the chief executive of {N} resigned",
        "{N} , the company , hired new staff",
        "analysts expect {N} to cut jobs",
    ],
    "O": [
        "she ate an {N} after lunch",
        "the {N} on the table was old",
        "we found a {N} in the garden",
        "a small {N} lay near the door",
        "he painted the {N} bright red",
        "the {N} was heavier than expected",
    ],
}
# which ambiguous words each reading draws: names are people or places, nouns organisations or plain words
POOL = {"PER": NAMES, "LOC": NAMES, "ORG": NOUNS, "O": NOUNS}


def _clause(rng: random.Random, reading: str) -> tuple[list[str], list[str]]:
    word = rng.choice(POOL[reading])
    tokens, tags = [], []
    for item in rng.choice(TEMPLATES[reading]).split():
        if item == "{N}":
            tokens.append(word)
            tags.append("O" if reading == "O" else f"B-{reading}")
        elif item == "{S}":
            tokens.append(rng.choice(SURNAMES) if reading == "PER" else "bank")
            tags.append(f"I-{reading}")
        else:
            tokens.append(item)
            tags.append("O")
    return tokens, tags


def _sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    tokens, tags = _clause(rng, rng.choice(list(TEMPLATES)))
    if rng.random() < 0.3:  # a second clause, often with the other reading of the same kind of word
        more_tokens, more_tags = _clause(rng, rng.choice(list(TEMPLATES)))
        tokens, tags = [*tokens, "and", *more_tokens], [*tags, "O", *more_tags]
    if rng.random() < 0.2:  # a plain filler clause, no entity
        filler = rng.sample(PLAIN, 4)
        tokens, tags = [*tokens, ",", *filler], [*tags, "O", *["O"] * len(filler)]
    return tokens, tags


def generate(role: str, seed: int = 0) -> list[dict]:
    rng = random.Random(f"synth_ner/{role}/{seed}")
    rows = []
    for i in range(SIZES[role]):
        tokens, tags = _sentence(rng)
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
