"""`model.hidden_dropout` and `model.attention_dropout`: one setting each for an encoder's dropout on its
hidden states and on its attention probabilities, whatever the architecture calls them. Some official
P-Tuning v2 scripts raise the hidden dropout (e.g. to 0.2 for NER); turning both off on a frozen backbone
saves the dropout masks' random numbers and memory (`ptune-exp-bench --backbone-dropout 0` times it)."""

from __future__ import annotations

from ptune_exp.errors import PtuneError

HIDDEN_DROPOUT_KEYS = ("hidden_dropout_prob", "dropout")  # BERT, RoBERTa, ELECTRA, DeBERTa, XLM-R; DistilBERT
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout")  # the same; DistilBERT, ModernBERT


def set_dropout(config, hidden: float | None = None, attention: float | None = None):
    """Set on the config before the weights load; null keeps the checkpoint's own value."""
    _set(config, HIDDEN_DROPOUT_KEYS, hidden, "model.hidden_dropout")
    _set(config, ATTENTION_DROPOUT_KEYS, attention, "model.attention_dropout")
    return config


def _set(config, keys: tuple[str, ...], value: float | None, option: str) -> None:
    if value is None:
        return
    key = next((k for k in keys if hasattr(config, k)), None)
    if key is None:
        raise PtuneError(
            f"{option}={value}: {config.model_type} configs have no {' or '.join(keys)} setting; "
            f"leave {option}=null for this model"
        )
    setattr(config, key, value)
