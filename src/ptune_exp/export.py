"""Exports: a run's trained prompt and head, with the reparameterisation MLP folded away, plus
everything needed to rebuild the model (backbone, method, prefix length, labels, tokenizer limits).

    ptune-exp-export RUN_DIR [OUT_DIR]      # default OUT_DIR: RUN_DIR/export

An export is `weights.safetensors` + `export.json`; for prompt methods it is a few MB at most (the
backbone is referenced, not copied). `load_export` rebuilds the model for `ptune-exp-predict`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

from omegaconf import OmegaConf
from safetensors.torch import load_file, save_file

from ptune_exp.builder import BuildOptions, build_model
from ptune_exp.config import DataConfig, MethodConfig, ModelConfig
from ptune_exp.errors import PtuneError, command, read_json_file
from ptune_exp.methods import get_method
from ptune_exp.methods.prompts import fold_state
from ptune_exp.model import PromptedModel
from ptune_exp.records import RECORD
from ptune_exp.tasks import TaskSpec, family_of, get_task

EXPORT_JSON = "export.json"
EXPORT_WEIGHTS = "weights.safetensors"
FORMAT = "ptune-exp-export/1"


def read_record(run_dir: str) -> dict:
    path = os.path.join(run_dir, RECORD)
    record = read_json_file(path, f"{run_dir} has no {RECORD}: pass the output directory of a ptune-exp run")
    if record.get("status") != "completed":
        raise PtuneError(f"{path} is a {record.get('status')} run ({record.get('error')}); export a completed run")
    return record


def export_run(run_dir: str, out_dir: str | None = None) -> str:
    record = read_record(run_dir)
    weights = os.path.join(run_dir, record.get("weights") or "trainable.safetensors")
    if not os.path.isfile(weights):
        raise PtuneError(f"{weights} is missing: the run's trained weights are needed to export it")
    state = fold_state(load_file(weights))
    out_dir = out_dir or os.path.join(run_dir, "export")
    os.makedirs(out_dir, exist_ok=True)
    save_file(state, os.path.join(out_dir, EXPORT_WEIGHTS), metadata={"format": FORMAT})
    cfg = record["config"]
    meta = {
        "format": FORMAT,
        "method": record["method"],
        "method_config": {**record["method_config"], "reparam": False},  # folded: flat rows from here on
        "trained_with_reparam": record["method_config"].get("reparam", False),
        "model": cfg["model"],
        "task": {k: v for k, v in cfg["task"].items() if k not in ("data_dir", "max_train_samples", "max_eval_samples")}
        | _fixed_labels(record),
        "labels": record.get("labels"),
        "family": record["family"],
        "scores": {"dev": record.get("dev"), "test": record.get("test")},
        "source_run": os.path.abspath(run_dir),
        "parameters": sum(t.numel() for t in state.values()),
    }
    with open(os.path.join(out_dir, EXPORT_JSON), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    return out_dir


def _fixed_labels(record: dict) -> dict:
    """A label list taken from the training data must travel with the export (`task.labels`)."""
    labels = record.get("labels")
    return {"labels": labels} if labels and "labels" in record["config"]["task"] else {}


@dataclass
class Export:
    """A loaded export: the model with its weights, its tokenizer, the task it predicts, and export.json."""

    model: PromptedModel
    tokenizer: object
    task: TaskSpec
    data: DataConfig
    meta: dict


def load_export(path: str) -> Export:
    """Rebuild an exported model with the one model builder and load its weights. A folded prefix-tuning
    prompt is exactly a flat deep prompt, so it is rebuilt with ptv2's (flat) structure."""
    meta = _read_meta(path)
    method = get_method("ptv2" if meta["method"] == "prefix" else meta["method"])
    method_cfg = MethodConfig.from_cfg({**meta["method_config"], "name": method.key})
    method.validate(method_cfg)
    spec = get_task(meta["task"]["name"], meta["task"].get("source"))
    family = family_of(spec)
    task = family.configure(spec, OmegaConf.create(meta["task"]))
    data = DataConfig.from_cfg(meta["task"])
    model_cfg = ModelConfig.from_cfg(meta["model"])
    head = lambda hidden: family.make_head(task, hidden, method_cfg.head_dropout)
    options = BuildOptions(data.max_seq_len, model_name=model_cfg.name)
    model, tokenizer = build_model(model_cfg, method, method_cfg, head, options)
    _load_weights(model, os.path.join(path, EXPORT_WEIGHTS), path)
    return Export(model.eval(), tokenizer, task, data, meta)


def _read_meta(path: str) -> dict:
    meta_path = os.path.join(path, EXPORT_JSON)
    meta = read_json_file(meta_path, f"{path} has no {EXPORT_JSON}: make one with `ptune-exp-export RUN_DIR`")
    if meta.get("format") != FORMAT:
        raise PtuneError(f"{meta_path} has format {meta.get('format')!r}; this ptune-exp reads {FORMAT}")
    return meta


def _load_weights(model, weights: str, path: str) -> None:
    result = model.load_state_dict(load_file(weights), strict=False)
    trainable = {n for n, q in model.named_parameters() if q.requires_grad}
    missing = trainable & set(result.missing_keys)
    if result.unexpected_keys or missing:
        raise PtuneError(
            f"{path} does not fit the rebuilt model (missing {sorted(missing)[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}); was it exported by another version?"
        )


@command("ptune-exp-export")
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-export", description="Export a run's trained prompt + head.")
    ap.add_argument("run_dir", help="output directory of a completed ptune-exp run")
    ap.add_argument("out_dir", nargs="?", help="where to write the export (default: RUN_DIR/export)")
    args = ap.parse_args(argv)
    out = export_run(args.run_dir, args.out_dir)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"exported {args.run_dir} -> {out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
