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
  read_inputs(spec, path) -> Dataset                inputs for ptune-exp-predict (labels optional)
and optionally:
  configure(spec, task_cfg) -> spec                 the spec with the family's own task.* options applied
  fit(spec, raw) -> spec                            the spec completed from the loaded data (e.g. labels)
"""

from types import ModuleType

from ptune_exp.tasks.families import candidates, classification, multiple_choice, qa, tagging

FAMILIES: dict[str, ModuleType] = {
    "candidates": candidates,
    "classification": classification,
    "multiple_choice": multiple_choice,
    "qa": qa,
    "tagging": tagging,
}


def family_of(spec) -> ModuleType:
    return FAMILIES[spec.family]


def configure_task(spec, task_cfg):
    """The spec with its family's own `task.*` options applied (families without options: unchanged)."""
    configure = getattr(family_of(spec), "configure", None)
    return configure(spec, task_cfg) if configure else spec


def fit_task(spec, raw: dict):
    """The spec completed from the loaded splits (e.g. a label list taken from the data)."""
    fit = getattr(family_of(spec), "fit", None)
    return fit(spec, raw) if fit else spec
