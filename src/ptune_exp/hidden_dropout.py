"""`model.hidden_dropout`: one setting for the dropout on an encoder's hidden states, whatever the
architecture calls it. Some official P-Tuning v2 scripts raise it (e.g. to 0.2 for NER)."""

from __future__ import annotations

from ptune_exp.errors import PtuneError

HIDDEN_DROPOUT_KEYS = ("hidden_dropout_prob", "dropout")  # BERT, RoBERTa, ELECTRA, DeBERTa, XLM-R; DistilBERT


def set_hidden_dropout(config, value: float | None):
    """`model.hidden_dropout`: the dropout on the encoder's hidden states (embeddings, attention output,
    feed-forward output), set on the config before the weights load; null keeps the checkpoint's."""
    if value is None:
        return config
    key = next((k for k in HIDDEN_DROPOUT_KEYS if hasattr(config, k)), None)
    if key is None:
        raise PtuneError(
            f"model.hidden_dropout={value}: {config.model_type} configs have no "
            f"{' or '.join(HIDDEN_DROPOUT_KEYS)} setting; leave model.hidden_dropout=null for this model"
        )
    setattr(config, key, value)
    return config
