"""Benchmarks: dataset specs (where the data is, field names, labels, file layout, metrics), one
module per benchmark; each registers its specs in `TASKS` on import."""

from ptune_exp.tasks.benchmarks import conll, glue, squad, srl, superglue, synth_ner, synthetic  # noqa: F401  (registration)
