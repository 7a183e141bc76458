"""The backbone an export's prompt was trained on, as `export.json` records it (`backbone`), and the check
that a loaded backbone is that one (`ptune-exp-serve` serves many exports on one loaded backbone).

A fingerprint holds the architecture (`model_type`), its shape (hidden size, layers, attention heads,
vocabulary size), a sha256 of the tokenizer (its full serialised definition: vocabulary, normaliser,
pre-tokeniser, special tokens) and the digest of the backbone weights the run recorded in its
provenance (`provenance.model_source`: a tiny model's tensors, a package's pinned file, a local
directory's or the hub cache's model.safetensors). A prompt is only valid on the exact weights it
was trained against, so every field must match.
"""

from __future__ import annotations

import hashlib
import json

SHAPE = {"hidden_size": "hidden_size", "layers": "num_hidden_layers", "heads": "num_attention_heads"}


def tokenizer_sha256(tokenizer) -> str:
    """sha256 of a tokenizer's full definition (a fast tokenizer's JSON without its current truncation and
    padding settings, which change as it is used; else its sorted vocabulary)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        text = json.dumps({k: v for k, v in definition.items() if k not in ("truncation", "padding")}, sort_keys=True)
    else:
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    specials = json.dumps(getattr(tokenizer, "special_tokens_map", {}), sort_keys=True, default=str)
    return hashlib.sha256((text + specials).encode("utf-8")).hexdigest()


def fingerprint(config, tokenizer, weights_sha256: str | None) -> dict:
    """The fingerprint of a backbone from its transformers config, its tokenizer and its weights digest."""
    out = {"model_type": config.model_type}
    out |= {key: getattr(config, attr, None) for key, attr in SHAPE.items()}
    out["vocab_size"] = getattr(config, "vocab_size", None)
    out["tokenizer_sha256"] = tokenizer_sha256(tokenizer)
    out["weights_sha256"] = weights_sha256
    return out


def differences(recorded: dict, loaded: dict) -> list[str]:
    """What differs between an export's recorded fingerprint and the loaded backbone's, one phrase each."""
    out = []
    for key, value in loaded.items():
        mine = recorded.get(key)
        if key == "weights_sha256" and (mine is None or value is None):
            out.append("no digest of the backbone weights to compare (the run or this backbone's source has none)")
            continue
        if mine == value:
            continue
        if key.endswith("sha256"):
            what = "tokenizer" if key.startswith("tokenizer") else "backbone weights"
            out.append(f"{what} differ (sha256 {str(mine)[:12]}... vs the loaded {str(value)[:12]}...)")
        else:
            out.append(f"{key} {mine!r} vs the loaded {value!r}")
    return out
