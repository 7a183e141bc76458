"""One frozen backbone, many exports: load the backbone once, check every export against it, and build each
accepted export's prompt and head on that one backbone (the builder's `assemble` with a loader that
hands back the loaded backbone, so nothing is loaded twice).

Heads other than [CLS] + linear (docs/heads.md) read parts of the backbone, which is loaded with them
when any served export needs them: its masked-LM head for `method.head=verbalizer` (refused, like a
run, when the checkpoint lacks its weights: then only the verbalizer exports are refused), its pooler
for `method.head=pooler` (kept). Template-placed virtual tokens (ptv1; pt with a verbalizer) are input
positions of the rows' own (templated) input ids, filled per row (rows.py).

An export is served under a name: `NAME=PATH`, or the folder's name (the run folder's name for the
default `RUN_DIR/export`). It is refused, with the reason, when it cannot be read or verified
(export.py), when it is `fft` (a whole fine-tuned model, not a prompt on a shared backbone) or `lora`/`ia3`
(adapter layers inside the backbone's linear layers, which every served task would run through), when it
records no backbone fingerprint, or when its fingerprint (fingerprint.py: architecture, sizes,
tokenizer, weights digest) differs from the loaded backbone's. The backbone is the one the first
readable prompt export names. `strict`: any refusal stops the load.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from ptune_exp.artifacts.export_reader import Parts, member_exports, read_export
from ptune_exp.artifacts.fingerprint import differences, fingerprint
from ptune_exp.errors import PtuneError
from ptune_exp.injection import prepare
from ptune_exp.methods import METHODS
from ptune_exp.model.backbones import Backbone, check_head, load_shared_backbone, model_type_of
from ptune_exp.model.build import BuildOptions, assemble
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.runs.provenance import model_source
from ptune_exp.serve.rows import RowPrompt
from ptune_exp.storage.weights import load_into

log = logging.getLogger("ptune_exp")
WHOLE_MODEL = "fft exports hold a whole fine-tuned model, not a prompt for a shared backbone; use ptune-exp-predict"
ADAPTER = (
    "{key} exports put adapter layers inside the backbone's linear layers, which every other task served on it "
    "would run through; serve prompt exports (pt, prefix, ptv2) together, and this one alone with "
    "ptune-exp-predict EXPORT INPUTS"
)


@dataclass
class Served:
    """One accepted export: its checked parts, its model (sharing the backbone) and its ready prompt."""

    name: str
    path: str
    parts: Parts
    model: PromptedModel
    prompt: RowPrompt
    tokenizer: object

    def describe(self) -> dict:
        meta = self.parts.meta
        return {
            "name": self.name,
            "method": meta["method"],
            "task": self.parts.task.name,
            "family": self.parts.family.key,
            "labels": meta.get("labels"),
            "head": self.parts.method_cfg.head,
            "prefix_len": self.parts.method_cfg.prefix_len,
            "max_seq_len": self.parts.data.max_seq_len,
            "scores": meta.get("scores"),
            "path": os.path.abspath(self.path),
        }


@dataclass
class Registry:
    """The loaded backbone, the exports served on it by name, and the refused ones with their reasons."""

    backbone: Backbone
    fingerprint: dict  # the loaded backbone's (fingerprint.py)
    model_type: str
    attn: str  # the attention implementation it was loaded with (ptune_* wrapped where deep prompts need it)
    tasks: dict[str, Served] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # name -> reason
    missing: dict[str, str] = field(default_factory=dict)  # head -> why the backbone was loaded without it


def export_name(spec: str) -> tuple[str, str]:
    """(name, path) of `NAME=PATH` or `PATH` (named after its folder; `RUN_DIR/export` after the run)."""
    if "=" in spec and not os.path.exists(spec):
        name, path = spec.split("=", 1)
        return name, path
    folder = os.path.normpath(spec)
    base = os.path.basename(folder)
    return (os.path.basename(os.path.dirname(folder)) or base) if base == "export" else base, spec


def load_registry(specs: list[str], strict: bool = False, trust_remote_code: bool = False, device=None) -> Registry:
    """Read every export, load the backbone once, check and build each export on it (module docstring);
    everything is moved to `device` (default: where it loads, the CPU)."""
    readable, refused = _read_all(specs, trust_remote_code)
    if not readable:
        raise PtuneError("no export can be served: " + "; ".join(f"{n}: {r}" for n, r in refused.items()))
    registry = _load_backbone([parts for _, parts in readable.values()])
    if device is not None:
        registry.backbone.model.to(device)
    registry.refused = refused
    for name, (path, parts) in readable.items():
        try:
            registry.tasks[name] = _build(name, path, parts, registry)
        except PtuneError as e:
            registry.refused[name] = str(e)
    for name, reason in registry.refused.items():
        log.warning("refused export %s: %s", name, reason)
    if strict and registry.refused:
        raise PtuneError("--strict: refused " + "; ".join(f"{n}: {r}" for n, r in registry.refused.items()))
    if not registry.tasks:
        raise PtuneError("no export can be served: " + "; ".join(f"{n}: {r}" for n, r in registry.refused.items()))
    return registry


def _named(specs: list[str]) -> list[tuple[str, str]]:
    """(name, path) of each export; a multi-task export (export.py) is each of its members, by member name
    (`NAME.<member>` when it is given as NAME=PATH)."""
    out = []
    for spec in specs:
        name, path = export_name(spec)
        members = member_exports(path)
        if members is None:
            out.append((name, path))
        else:
            given = "=" in spec and not os.path.exists(spec)
            out += [(f"{name}.{member}" if given else member, folder) for member, folder in members]
    return out


def _read_all(specs: list[str], trust_remote_code: bool) -> tuple[dict[str, tuple[str, Parts]], dict[str, str]]:
    readable: dict[str, tuple[str, Parts]] = {}
    refused: dict[str, str] = {}
    for name, path in _named(specs):
        if name in readable or name in refused:
            refused[f"{name} ({path})"] = f"the name {name!r} is taken; pass NAME={path}"
            continue
        try:
            parts = read_export(path, trust_remote_code)
        except PtuneError as e:
            refused[name] = str(e)
            continue
        if parts.method.trains_backbone:
            refused[name] = WHOLE_MODEL
        elif parts.method.adapts_weights:
            refused[name] = ADAPTER.format(key=parts.method.key)
        else:
            readable[name] = (path, parts)
    return readable, refused


def _load_backbone(parts: list[Parts]) -> Registry:
    """The backbone the first export names (wired for deep prompts when any export has one, with the parts
    the exports' heads read), in a registry."""
    model_cfg = parts[0].model_cfg
    model_type, attn = model_type_of(model_cfg), model_cfg.attn_implementation
    deep = [p.method for p in parts if p.method.prompt_site == "every layer"]
    heads, missing = _heads(model_type, parts), {}
    load = lambda implementation: load_shared_backbone(model_cfg, implementation, heads)
    try:
        backbone = prepare(model_type, deep[0] if deep else parts[0].method, attn, load, METHODS.values())
    except PtuneError as e:
        if "verbalizer" not in heads:
            raise
        heads, missing = heads - {"verbalizer"}, {"verbalizer": str(e)}  # serve the others
        backbone = prepare(model_type, deep[0] if deep else parts[0].method, attn, load, METHODS.values())
    backbone.model.eval()
    weights = model_source(model_cfg, backbone.model)["weights_sha256"]
    found = fingerprint(backbone.model.config, backbone.tokenizer, weights)
    return Registry(backbone, found, model_type, attn, missing=missing)


def _heads(model_type: str, parts: list[Parts]) -> set[str]:
    """The heads the exports read that this architecture can give (the others are refused when built)."""
    heads = set()
    for p in parts:
        try:
            check_head(model_type, p.method_cfg.head)
        except PtuneError:
            continue
        heads.add(p.method_cfg.head)
    return heads


def _build(name: str, path: str, parts: Parts, registry: Registry) -> Served:
    recorded, backbone = parts.meta.get("backbone"), registry.backbone
    if not isinstance(recorded, dict):
        raise PtuneError("export.json records no backbone fingerprint (an older ptune-exp wrote it); export again")
    diffs = differences(recorded, registry.fingerprint)
    if diffs:
        raise PtuneError(f"built on another backbone than the loaded one: {'; '.join(diffs)}")
    if parts.method_cfg.head in registry.missing:
        raise PtuneError(registry.missing[parts.method_cfg.head])
    head = lambda hidden: parts.family.make_head(parts.task, hidden, parts.method_cfg.head_dropout)
    options = BuildOptions(parts.data.max_seq_len, model_name=parts.model_cfg.name)
    shared = lambda _: Backbone(backbone.model, backbone.tokenizer, mlm_head=backbone.mlm_head)  # the loaded one
    model, _ = assemble(registry.model_type, registry.attn, shared, parts.method, parts.method_cfg, head, options)
    load_into(model, parts.state, parts.weights)
    model.to(backbone.model.device).eval()
    return Served(name, path, parts, model, RowPrompt.of(model.prompt), backbone.tokenizer)
