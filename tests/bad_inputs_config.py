"""Corpus: command-line and config values."""

from corpus import SMOKE, Case

OUT = "hydra.run.dir={tmp}/out"


def cli(id, *args, message="", exit=2, setup=None):
    return Case(id, "ptune-exp", (*SMOKE, OUT, *args), exit, message, setup)


CASES = [
    cli("prefix_len-zero", "method.prefix_len=0", message="method.prefix_len=0 must be a positive number"),
    cli("prefix_dropout-one", "method.prefix_dropout=1.0", message=r"\[0, 1\)"),
    cli("lr-zero", "method.lr=0", message="must be > 0"),
    cli("select-worst", "train.select=worst", message="train.select"),
]
