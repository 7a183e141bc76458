"""Compare ptune-exp's in-house metrics with `evaluate`'s canonical metric modules on random predictions.

ptune-exp computes its metrics itself (scikit-learn/scipy for GLUE-style scores, the official SQuAD
answer normalisation), because `evaluate.load(...)` fetches metric scripts from the hub at run time and
so cannot work offline; it is therefore not a dependency. A user who is online can check that the two
agree:

    pip install evaluate
    python scripts/check_metrics.py [--trials 20]

Prints one line per metric (largest absolute difference, in percentage points) and exits 1 if any
differs by more than 1e-6 points.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ptune_exp.tasks.metrics import METRICS, exact_match, token_f1

# ours -> (evaluate module, its result key, keyword arguments)
CANONICAL = {
    "accuracy": ("accuracy", "accuracy", {}),
    "f1": ("f1", "f1", {}),
    "macro_f1": ("f1", "f1", {"average": "macro"}),
    "mcc": ("matthews_correlation", "matthews_correlation", {}),
    "pearson": ("pearsonr", "pearsonr", {}),
    "spearman": ("spearmanr", "spearmanr", {}),
}
WORDS = "the a an cat sat on mat dog ran far away quickly".split()


def random_case(name: str, rng: np.random.Generator, n: int = 64):
    if name in ("pearson", "spearman"):
        return rng.normal(size=n), rng.normal(size=n)
    classes = 3 if name == "macro_f1" else 2
    return rng.integers(0, classes, n), rng.integers(0, classes, n)


def check_glue(evaluate, trials: int, rng) -> float:
    worst = 0.0
    for name, (module, key, kwargs) in CANONICAL.items():
        metric, gap = evaluate.load(module), 0.0
        for _ in range(trials):
            preds, refs = random_case(name, rng)
            theirs = 100.0 * metric.compute(predictions=preds, references=refs, **kwargs)[key]
            gap = max(gap, abs(METRICS[name](preds, refs) - theirs))
        print(f"{name:10} vs evaluate '{module}': max |diff| {gap:.2e} points")
        worst = max(worst, gap)
    return worst


def check_squad(evaluate, trials: int, rng) -> float:
    metric, gap = evaluate.load("squad"), 0.0
    for _ in range(trials):
        pairs = [(" ".join(rng.choice(WORDS, rng.integers(1, 4))), " ".join(rng.choice(WORDS, 3))) for _ in range(32)]
        ours_em = 100.0 * np.mean([exact_match(p, g) for p, g in pairs])
        ours_f1 = 100.0 * np.mean([token_f1(p, g) for p, g in pairs])
        preds = [{"id": str(i), "prediction_text": p} for i, (p, _) in enumerate(pairs)]
        refs = [{"id": str(i), "answers": {"text": [g], "answer_start": [0]}} for i, (_, g) in enumerate(pairs)]
        theirs = metric.compute(predictions=preds, references=refs)
        gap = max(gap, abs(ours_em - theirs["exact_match"]), abs(ours_f1 - theirs["f1"]))
    print(f"{'squad':10} vs evaluate 'squad': max |diff| {gap:.2e} points (EM and F1)")
    return gap


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args(argv)
    try:
        import evaluate
    except ImportError:
        print("check_metrics: error: needs `pip install evaluate` and hub access", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    try:
        worst = max(check_glue(evaluate, args.trials, rng), check_squad(evaluate, args.trials, rng))
    except (OSError, ConnectionError, FileNotFoundError) as e:  # evaluate fetches its modules from the hub
        print(f"check_metrics: error: could not load an evaluate module (offline?): {e}", file=sys.stderr)
        return 2
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
