"""`method.init_from=<run dir or export>`: start a run's prompt from one trained before (prompt transfer;
the P-Tuning v2 paper's multi-task rows train one prompt on several tasks, then each task from it).

Only the prompt's tensors are taken (`prompt.*` of `trainable.safetensors` or of an export's
`weights.safetensors`), never a head: the run's own head starts fresh. The source must be a completed
run or an export of the same prompt kind (input prompt for `pt`, deep prompt for `prefix`/`ptv2`), the
same prompt length and the same backbone shape (model type, hidden size, layers, heads); anything else is
refused before training with both shapes named. A flat prompt takes a reparameterised source folded
(the MLP's output rows); a reparameterised prompt needs the source's MLP itself (a run trained with
`reparam=true`). The record's `transfer` names the source: its path, kind, weights file and sha256.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from ptune_exp.artifacts.export import read_record, run_weights
from ptune_exp.artifacts.export_reader import EXPORT_JSON, member_exports, read_export
from ptune_exp.artifacts.fingerprint import SHAPE
from ptune_exp.errors import PtuneError
from ptune_exp.methods import Method, get_method
from ptune_exp.methods.prompts import fold_state
from ptune_exp.runs.records import RECORD
from ptune_exp.storage.weights import load_tensors, sha256_file

PROMPT = "prompt."  # where a PromptedModel keeps its prompt's tensors
KINDS = {"input": "an input prompt", "every layer": "a deep prompt", "none": "no prompt"}


@dataclass(frozen=True)
class Source:
    """A trained prompt to start from: where it is and what it is."""

    path: str
    kind: str  # run | export
    weights: str
    method: str
    reparam: bool
    prefix_len: int
    model: str | None
    backbone: dict | None  # model_type, hidden_size, layers, heads (None: not recorded)
    tasks: list[str]

    def facts(self) -> dict:
        """The record's `transfer`: what the run started from."""
        return {
            "from": self.path,
            "kind": self.kind,
            "weights": os.path.basename(self.weights),
            "weights_sha256": sha256_file(self.weights),
            "method": self.method,
            "model": self.model,
            "tasks": self.tasks,
        }


def read_source(path: str) -> Source:
    """The run directory or export `path` names, checked (a completed run, verified weights)."""
    where = f"method.init_from={path}"
    members = member_exports(path)
    if members:  # a multi-task export: every member folder holds the same prompt
        return dataclasses.replace(
            read_source(members[0][1]), path=os.path.abspath(path), tasks=[m for m, _ in members]
        )
    if os.path.isfile(os.path.join(path, EXPORT_JSON)):
        parts = read_export(path)
        meta = parts.meta
        mc = meta["method_config"]
        return Source(
            path=os.path.abspath(path),
            kind="export",
            weights=parts.weights,
            method=meta["method"],
            reparam=False,  # exports hold the MLP folded into flat rows
            prefix_len=mc.get("prefix_len", 0),
            model=meta["model"].get("name"),
            backbone=_shape(meta.get("backbone")),
            tasks=[meta["task"]["name"]],
        )
    if not os.path.isfile(os.path.join(path, RECORD)):
        raise PtuneError(f"{where}: not a ptune-exp run directory ({RECORD}) or export ({EXPORT_JSON}); give one")
    record = read_record(path)
    mc, tasks = record["method_config"], list((record.get("members") or {}) or [record.get("task")])
    return Source(
        path=os.path.abspath(path),
        kind="run",
        weights=run_weights(path, record),
        method=record["method"],
        reparam=bool(mc.get("reparam")),
        prefix_len=mc.get("prefix_len", 0),
        model=record.get("model"),
        backbone=_shape(record.get("backbone")),
        tasks=tasks,
    )


def _shape(backbone: dict | None) -> dict | None:
    """What fixes a prompt's shape in a backbone description (a record's `backbone`, an export's fingerprint)."""
    if not isinstance(backbone, dict):
        return None
    return {key: backbone.get(key) for key in ("model_type", *SHAPE)}


def backbone_shape(config) -> dict:
    """The shape of a loaded backbone, as `_shape` reads it back from a record."""
    return {"model_type": config.model_type, **{key: getattr(config, attr, None) for key, attr in SHAPE.items()}}


def check_source(source: Source, method: Method, cfg) -> None:
    """What can be checked before any model loads: prompt kind, reparameterisation, prompt length."""
    where = f"method.init_from={source.path}"
    site = get_method("ptv2" if source.method == "prefix" else source.method).prompt_site
    if method.prompt_site == "none":
        raise PtuneError(f"{where}: method={method.key} has no prompt to start; use method=pt, prefix or ptv2")
    if site != method.prompt_site:
        raise PtuneError(
            f"{where}: its prompt is {KINDS[site]} ({source.method}), this run's is {KINDS[method.prompt_site]} "
            f"({method.key}); start from a {method.key}-like run"
        )
    if source.prefix_len != cfg.prefix_len:
        raise PtuneError(
            f"{where}: its prompt has {source.prefix_len} tokens, this run's method.prefix_len={cfg.prefix_len}; "
            f"set method.prefix_len={source.prefix_len}"
        )
    if cfg.reparam and not source.reparam:
        raise PtuneError(
            f"{where}: this run reparameterises its prompt (method.reparam=true) but the source holds flat rows "
            f"({source.kind}), not an MLP; use method.reparam=false or a run trained with reparam=true"
        )


def load_prompt(model, method: Method, cfg, path: str) -> dict:
    """Put the prompt of the source `path` into `model.prompt`, exactly; returns the record's `transfer`."""
    source = read_source(path)
    check_source(source, method, cfg)
    mine = backbone_shape(model.backbone.config)
    if source.backbone is not None and source.backbone != mine:
        raise PtuneError(
            f"method.init_from={source.path}: its prompt was trained on {_show(source.backbone)} ({source.model}), "
            f"this run's backbone is {_show(mine)}; a prompt fits only its backbone's shape"
        )
    state = {k[len(PROMPT) :]: v for k, v in load_tensors(source.weights).items() if k.startswith(PROMPT)}
    if not cfg.reparam:
        state = fold_state(state, "encoder.")
    own = model.prompt.state_dict()
    shapes = lambda s: {k: tuple(v.shape) for k, v in s.items()}
    if shapes(state) != shapes(own):
        raise PtuneError(
            f"method.init_from={source.path}: its prompt tensors {shapes(state)} do not fit this run's {shapes(own)} "
            "(another backbone shape or prompt length)"
        )
    with torch.no_grad():
        model.prompt.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return source.facts()


def _show(shape: dict) -> str:
    return f"{shape['model_type']} (hidden {shape['hidden_size']}, {shape['layers']} layers, {shape['heads']} heads)"
