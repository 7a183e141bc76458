"""Task family registry: family key -> the module that tokenizes, heads, and scores that family.

A family module provides:
  load_split(spec, role, data_dir) -> Dataset        raw examples of one split (hub or task.data_dir)
  is_labelled(split) -> bool                        whether the split can be scored
  make_head(spec, hidden_size, dropout) -> Module   head(hidden, labels=None, attention_mask, batch_shape)
  tokenize(split, spec, tokenizer, max_len, train) -> Dataset   features (may hold extra columns)
  collator(tokenizer)                               batches features into model inputs (drops extras)
  Scorer(spec, raw, features)                       the Trainer's compute_metrics for one split; after a
                                                    call, `.predictions` holds per-example predictions
  write_predictions(spec, predictions, path) -> str writes them next to the record, returns the path
"""

from types import ModuleType

from ptune_exp.tasks import classification

FAMILIES: dict[str, ModuleType] = {"classification": classification}


def family_of(spec) -> ModuleType:
    return FAMILIES[spec.family]
