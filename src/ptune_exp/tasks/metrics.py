"""Official metrics of the classification tasks, in percent (the scale the paper reports).

`evaluate.load("glue", ...)` fetches its metric scripts from the hub at run time, which fails on a
machine without hub access; these are the same computations, from the libraries those scripts call
(scikit-learn, scipy).
"""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef


def pct(x: float) -> float:
    """A share (0..1) in percent, rounded to 4 decimals (how every metric is reported)."""
    return round(100.0 * float(x), 4)


METRICS = {
    "accuracy": lambda p, y: pct(accuracy_score(y, p)),
    "f1": lambda p, y: pct(f1_score(y, p, average="binary", pos_label=1, zero_division=0)),
    "macro_f1": lambda p, y: pct(f1_score(y, p, average="macro", zero_division=0)),
    "mcc": lambda p, y: pct(matthews_corrcoef(y, p)),
    "pearson": lambda p, y: pct(pearsonr(p, y)[0]) if np.std(p) > 0 else 0.0,
    "spearman": lambda p, y: pct(spearmanr(p, y)[0]) if np.std(p) > 0 else 0.0,
}


def compute(names: tuple[str, ...], predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {name: METRICS[name](predictions, labels) for name in names}


# ---------------------------------------------------------------- answer text (SQuAD, ReCoRD)

PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD-style: lower case, punctuation and the articles a/an/the removed, whitespace collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text, flags=re.UNICODE)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str, empty_matches_empty: bool = False) -> float:
    """Token-overlap F1 of normalised answers. SQuAD 2.0 scores an empty answer 1 against an empty
    gold and 0 otherwise (`empty_matches_empty=True`)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if empty_matches_empty and (not pred or not ref):
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)
