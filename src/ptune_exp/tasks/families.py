"""Task family registry: family key -> the module that tokenizes, heads, and scores that family.

A family module provides: load_split(spec, role, data_dir), is_labelled(split), make_head(spec,
hidden_size, dropout), tokenize(split, spec, tokenizer, max_len), collator(tokenizer),
score(spec, logits, labels).
"""

from types import ModuleType

from ptune_exp.tasks import classification

FAMILIES: dict[str, ModuleType] = {"classification": classification}


def family_of(spec) -> ModuleType:
    return FAMILIES[spec.family]
