"""The CoNLL-2005 SRL score (srl-eval.pl's counting) of BIO argument tags, one proposition at a time.

- Phrases: `B-X` starts a phrase of label X, `I-X` continues it; an `I-X` that does not continue an
  X phrase starts one (as conlleval reads IOB).
- Arguments: every phrase is an argument, except a `C-X` phrase that follows an X argument of the
  same proposition: it joins the latest X as one more piece (a discontinuous argument, typed X,
  from the first piece's start to the last piece's end). A `C-X` without an X before it becomes a
  plain X argument. `R-X` (references) are arguments of their own type.
- Matching, per proposition: a predicted argument is correct when a gold argument has the same start
  and end, the same type and, for discontinuous ones, the same pieces; a one-piece argument never
  matches a discontinuous one. Each gold argument is matched once.
- The predicate's own `V` span is excluded: a predicted V is neither correct nor excess, a missed V
  is not missed.
- Micro precision = correct / predicted, recall = correct / gold, F1 their harmonic mean, summed
  over all propositions, in percent; `perfect_props` = propositions with nothing excess or missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ptune_exp.tasks.metrics import pct

EXCLUDED = frozenset({"V"})


@dataclass
class Argument:
    type: str
    start: int
    end: int  # inclusive, as srl-eval.pl counts
    pieces: list[tuple[int, int]] = field(default_factory=list)

    @property
    def single(self) -> bool:
        return len(self.pieces) == 1


def phrases(tags: list[str]) -> list[tuple[str, int, int]]:
    """(label, start, end inclusive) of each phrase of a BIO tag sequence."""
    found, start, label = [], None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, kind = tag[:2], tag[2:]
        if start is not None and (prefix != "I-" or kind != label):
            found.append((label, start, i - 1))
            start = None
        if prefix == "B-" or (prefix == "I-" and start is None):
            start, label = i, kind
    return found


def arguments(tags: list[str]) -> list[Argument]:
    """The arguments of one proposition, `C-` pieces joined to their argument (see the module docstring)."""
    args: list[Argument] = []
    latest: dict[str, Argument] = {}
    for label, start, end in phrases(tags):
        base = label[2:] if label.startswith("C-") else label
        if label.startswith("C-") and base in latest:
            arg = latest[base]
            arg.pieces.append((start, end))
            arg.end = end
            continue
        arg = Argument(base, start, end, [(start, end)])
        args.append(arg)
        latest[base] = arg
    return args


def _matches(gold: Argument, predicted: Argument) -> bool:
    if gold.type != predicted.type or gold.single != predicted.single:
        return False
    return gold.single or sorted(gold.pieces) == sorted(predicted.pieces)


def count(gold_tags: list[str], predicted_tags: list[str]) -> tuple[int, int, int]:
    """(correct, excess, missed) arguments of one proposition, V excluded."""
    unmatched = {(a.start, a.end): a for a in arguments(gold_tags)}
    ok = op = 0
    for a in arguments(predicted_tags):
        gold = unmatched.get((a.start, a.end))
        hit = gold is not None and _matches(gold, a)
        if hit:
            del unmatched[(a.start, a.end)]
        if a.type not in EXCLUDED:
            ok, op = ok + hit, op + (not hit)
    missed = sum(1 for a in unmatched.values() if a.type not in EXCLUDED)
    return ok, op, missed


def srl_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, float]:
    """Micro precision, recall and F1 over the arguments of every proposition, and the share of
    perfect propositions, in percent."""
    ok = op = ms = perfect = 0
    for g, p in zip(gold, predicted, strict=True):
        c, e, m = count(g, p)
        ok, op, ms, perfect = ok + c, op + e, ms + m, perfect + (e == 0 and m == 0)
    precision = ok / (ok + op) if ok + op else 0.0
    recall = ok / (ok + ms) if ok + ms else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": pct(f1),
        "precision": pct(precision),
        "recall": pct(recall),
        "perfect_props": pct(perfect / len(gold)) if gold else 0.0,
    }
