"""`synth_sentiment`: a small sentiment task the project generates itself (no third-party text).

Sentences are drawn from fixed word lists and templates with a fixed seed, so every machine gets
the same 2,000 / 400 / 400 examples. The label is not just "which adjective": negation flips it
("was not great"), and in contrast sentences the clause after "but" decides. That makes it
learnable in a minute on a CPU yet far from trivial for a frozen encoder.
"""

from __future__ import annotations

import random

from ptune_exp.tasks.families.classification import ClassificationSpec
from ptune_exp.tasks.spec import Split, register

SIZES = {"train": 2000, "dev": 400, "test": 400}
SUBJECTS = [
    "the movie",
    "the film",
    "the restaurant",
    "the service",
    "the hotel room",
    "the book",
    "the concert",
    "our guide",
    "the new phone",
    "the soup",
    "the show",
    "the plot",
    "the acting",
    "the music",
    "the staff",
    "the view",
    "the trip",
    "the game",
    "the lecture",
    "the coffee",
]
POSITIVE = [
    "great",
    "wonderful",
    "excellent",
    "delightful",
    "superb",
    "charming",
    "fantastic",
    "lovely",
    "brilliant",
    "pleasant",
    "enjoyable",
    "impressive",
    "good",
    "amazing",
]
NEGATIVE = [
    "awful",
    "terrible",
    "boring",
    "dreadful",
    "disappointing",
    "bland",
    "horrible",
    "mediocre",
    "annoying",
    "rude",
    "painful",
    "dull",
    "bad",
    "awkward",
]
LIKE, DISLIKE = ["loved", "enjoyed", "adored", "liked"], ["hated", "disliked", "regretted", "resented"]
INTENSIFIERS = ["", "very ", "really ", "quite ", "truly ", "rather "]


def _adj(rng: random.Random, positive: bool) -> str:
    return rng.choice(POSITIVE if positive else NEGATIVE)


def _example(rng: random.Random) -> tuple[str, int]:
    positive = rng.random() < 0.5
    kind = rng.random()
    subj = rng.choice(SUBJECTS)
    if kind < 0.35:
        text = f"{subj} was {rng.choice(INTENSIFIERS)}{_adj(rng, positive)}."
    elif kind < 0.55:
        text = f"{subj} was not {_adj(rng, not positive)}."
    elif kind < 0.75:
        other = rng.choice([s for s in SUBJECTS if s != subj])
        text = f"{other} was {_adj(rng, rng.random() < 0.5)}, but {subj} was {_adj(rng, positive)}."
    elif kind < 0.9:
        text = f"i {rng.choice(LIKE if positive else DISLIKE)} {subj}."
    else:
        text = f"{subj} could not have been more {_adj(rng, positive)}."
    return text[0].upper() + text[1:], int(positive)


def generate(role: str, seed: int = 0) -> list[dict]:
    rng = random.Random(f"synth_sentiment/{role}/{seed}")
    rows = []
    for i in range(SIZES[role]):
        text, label = _example(rng)
        rows.append({"idx": i, "text_a": text, "text_b": None, "label": label})
    return rows


register(
    ClassificationSpec(
        name="synth_sentiment",
        family="classification",
        benchmark="synthetic",
        metrics=("accuracy",),
        main_metric="accuracy",
        splits={role: Split() for role in SIZES},
        labels=("negative", "positive"),
        hub_text=("sentence", None),
        file_format="generated",
        generate=generate,
    )
)
