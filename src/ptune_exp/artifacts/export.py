"""Writing exports: a run's trained prompt and head, with the reparameterisation MLP folded away, plus everything
needed to rebuild the model (backbone, method, prefix length, labels, tokenizer limits).

An export is `weights.safetensors` + `export.json` + a model card `README.md` (modelcard.py), laid out like a Hub
model repository (hub.py uploads the folder); for prompt methods it is a few MB at most (the backbone is
referenced, not copied). `export.json` holds the sha256 of `weights.safetensors`, and the run's
`trainable.safetensors` is checked against its record's before it is exported; `trust_remote_code` is never
copied from a record (always `false`). Reading them back: export_reader.py; the command: export_cli.py.
"""

from __future__ import annotations

import contextlib
import os

from omegaconf.errors import OmegaConfBaseException

from ptune_exp.artifacts.export_reader import EXPORT_JSON, EXPORT_WEIGHTS, FORMAT, MULTI_JSON
from ptune_exp.artifacts.fingerprint import fingerprint
from ptune_exp.artifacts.modelcard import model_card, write_card
from ptune_exp.config.schema import ModelConfig
from ptune_exp.errors import PtuneError, check_fields, read_json_file, warn
from ptune_exp.methods.prompts import fold_state
from ptune_exp.model.backbones import describe_backbone
from ptune_exp.runs.records import RECORD
from ptune_exp.storage.files import atomic_path, temp_name, write_json
from ptune_exp.storage.weights import file_in, load_tensors, sha256_file, verify

RECORD_FIELDS = {"config": dict, "method": str, "method_config": dict, "family": str, "labels": (list, None)}


def read_record(run_dir: str) -> dict:
    """A completed run's record, with the fields that eval and export read checked."""
    path = os.path.join(run_dir, RECORD)
    record = read_json_file(path, f"{run_dir} has no {RECORD}: pass the output directory of a ptune-exp run")
    check_fields(record, path, {"status": str})
    if record.get("status") != "completed":
        raise PtuneError(f"{path} is a {record.get('status')} run ({record.get('error')}); use a completed run")
    check_fields(record, path, RECORD_FIELDS)
    check_fields(record["config"], f"{path} config", {"model": dict, "task": dict, "method": dict, "train": dict})
    check_fields(record["config"]["task"], f"{path} config.task", {"name": str})
    return record


def run_weights(run_dir: str, record: dict) -> str:
    """The run's trained weights file, verified against the sha256 its record holds."""
    where = os.path.join(run_dir, RECORD)
    path = file_in(run_dir, record.get("weights") or "trainable.safetensors", where)
    fix = "restore the run's own file, or train it again (the record and its weights belong together)"
    verify(path, record.get("weights_sha256"), where, fix)
    return path


def export_run(run_dir: str, out_dir: str | None = None, repo_id: str | None = None) -> str:
    """Export a completed run into `out_dir` (default RUN_DIR/export): weights.safetensors, export.json
    and the model card README.md (`repo_id`: the Hub repository the card's download line names)."""
    record = read_record(run_dir)
    weights = run_weights(run_dir, record)
    try:
        state = fold_state(load_tensors(weights))
    except (KeyError, RuntimeError) as e:
        raise PtuneError(f"{weights} does not hold the prompt encoder the record describes ({e})") from None
    out_dir = out_dir or os.path.join(run_dir, "export")
    try:
        os.makedirs(out_dir, exist_ok=True)
        if isinstance(record.get("members"), dict):  # a multi-task run: one export per member, one prompt
            return _export_members(run_dir, record, state, out_dir, repo_id)
        meta = _export_meta(run_dir, record, state)
        _write_export(out_dir, state, meta)
        write_card(out_dir, model_card(meta, record, repo_id))
    except OSError as e:
        raise PtuneError(f"could not write the export to {out_dir} ({e.strerror or e})") from None
    return out_dir


def _export_members(run_dir: str, record: dict, state: dict, out_dir: str, repo_id: str | None) -> str:
    """A multi-task run's export: OUT/<member>/ for each member (the shared prompt and that member's head,
    an export like any other) and OUT/multitask.json naming them (`ptune-exp-serve OUT` serves them all)."""
    members = record["members"]
    for name, member in members.items():
        head = f"head.heads.{name}."
        own = {k: v for k, v in state.items() if k.startswith("prompt.")}
        own |= {"head." + k[len(head) :]: v for k, v in state.items() if k.startswith(head)}
        sizes = {role: (n.get(name) if isinstance(n, dict) else n) for role, n in (record.get("data") or {}).items()}
        keys = ("family", "labels", "metrics", "main_metric", "dev", "test", "extra", "task_source")
        alone = {**record, **{k: member.get(k) for k in keys}, "task": name, "data": sizes}
        alone["config"] = {**record["config"], "task": member["config"]}
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        meta = _export_meta(run_dir, alone, own) | {"multitask": list(members)}
        _write_export(folder, own, meta)
        write_card(folder, model_card(meta, alone, repo_id))
    write_json(
        os.path.join(out_dir, MULTI_JSON),
        {"format": FORMAT, "tasks": list(members), "source_run": os.path.abspath(run_dir)},
    )
    return out_dir


def _export_meta(run_dir: str, record: dict, state: dict) -> dict:
    cfg = record["config"]
    dropped = ("data_dir", "max_train_samples", "max_eval_samples")
    return {
        "format": FORMAT,
        "method": record["method"],
        # folded: flat rows from here on (ptv1's prompt encoder is kept whole: it is its method)
        "method_config": {**record["method_config"], "reparam": record["method"] == "ptv1"},
        "trained_with_reparam": record["method_config"].get("reparam", False),
        "model": {**cfg["model"], "trust_remote_code": False},  # never inherited: only a command line turns it on
        "task": {k: v for k, v in cfg["task"].items() if k not in dropped} | _fixed_labels(record),
        "labels": record.get("labels"),
        "family": record["family"],
        "scores": {"dev": record.get("dev"), "test": record.get("test")},
        "source_run": os.path.abspath(run_dir),
        "source_weights_sha256": record.get("weights_sha256"),  # the run's trainable.safetensors, before folding
        "parameters": sum(t.numel() for t in state.values()),
        "backbone": _backbone(record),
    }


def _backbone(record: dict) -> dict | None:
    """The fingerprint of the backbone the run trained on (fingerprint.py), checked by `ptune-exp-serve`.
    None, with a warning, when the backbone's config or tokenizer cannot be read here."""
    weights = ((record.get("provenance") or {}).get("model") or {}).get("weights_sha256")
    try:
        model_cfg = ModelConfig.from_cfg({**record["config"]["model"], "trust_remote_code": False})
        config, tokenizer = describe_backbone(model_cfg)
    except (PtuneError, OmegaConfBaseException) as e:
        warn(f"no backbone fingerprint in the export ({e}); ptune-exp-serve will refuse it")
        return None
    return fingerprint(config, tokenizer, weights)


def _write_export(out_dir: str, state: dict, meta: dict) -> None:
    """weights.safetensors, then export.json with its sha256 (each written atomically: storage/files.py)."""
    from safetensors.torch import save_file

    weights = os.path.join(out_dir, EXPORT_WEIGHTS)
    with atomic_path(weights) as tmp:
        save_file(state, tmp, metadata={"format": FORMAT})
    meta["weights_sha256"] = sha256_file(weights)
    write_json(os.path.join(out_dir, EXPORT_JSON), meta)


def export_bytes(state: dict, folder: str) -> int:
    """The size of the weights file an export of this trainable state keeps (`weights.safetensors`: folded,
    as `_write_export` writes it), written once into `folder` to be measured, then removed."""
    from safetensors.torch import save_file

    path = temp_name(os.path.join(folder, "export-size.safetensors"))
    try:
        save_file(fold_state(state), path, metadata={"format": FORMAT})
        return os.path.getsize(path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def _fixed_labels(record: dict) -> dict:
    """A label list taken from the training data must travel with the export (`task.labels`)."""
    labels = record.get("labels")
    return {"labels": labels} if labels and "labels" in record["config"]["task"] else {}
