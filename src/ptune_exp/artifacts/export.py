"""Exports: a run's trained prompt and head, with the reparameterisation MLP folded away, plus
everything needed to rebuild the model (backbone, method, prefix length, labels, tokenizer limits).

    ptune-exp-export RUN_DIR [OUT_DIR]      # default OUT_DIR: RUN_DIR/export
    ptune-exp-export RUN_DIR [OUT_DIR] --push-to-hub OWNER/NAME [--private]

An export is `weights.safetensors` + `export.json` + a model card `README.md` (modelcard.py), laid out
like a Hub model repository (`--push-to-hub` uploads the folder: hub.py); for prompt methods it is a
few MB at most (the backbone is referenced, not copied). `export.json` holds the sha256 of
`weights.safetensors`, and the run's `trainable.safetensors` is checked against its record's before
it is exported. `load_export` rebuilds the model for `ptune-exp-predict` and the Python API (api.py);
an export is input like any other file, so every field it reads is checked first, and a model that
needs its own code (`trust_remote_code`) loads only when the command line says `--trust-remote-code`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ptune_exp.artifacts.fingerprint import fingerprint
from ptune_exp.artifacts.modelcard import CARD, model_card, write_card
from ptune_exp.config.schema import DataConfig, MethodConfig, ModelConfig
from ptune_exp.errors import PtuneError, check_fields, command, read_json_file, warn
from ptune_exp.methods import Method, get_method
from ptune_exp.methods.prompts import fold_state
from ptune_exp.model.backbones import describe_backbone
from ptune_exp.model.build import BuildOptions, build_model, task_for
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.runs.records import RECORD
from ptune_exp.storage.files import atomic_path, temp_name, write_json
from ptune_exp.storage.weights import file_in, load_into, load_tensors, sha256_file, verify
from ptune_exp.tasks import TaskSpec, family_of
from ptune_exp.tasks.custom import task_spec
from ptune_exp.tasks.families import Family

EXPORT_JSON = "export.json"
EXPORT_WEIGHTS = "weights.safetensors"
MULTI_JSON = "multitask.json"  # a multi-task run's export: one export folder per member task
FORMAT = "ptune-exp-export/1"
TRUST_FLAG = "--trust-remote-code"
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


def trusted_model(model: dict, where: str, trust_remote_code: bool) -> dict:
    """The model block of a record or export with `trust_remote_code` as the command line says: a file
    never turns it on, and a file that needs it is refused without the flag."""
    if model.get("trust_remote_code") not in (None, False) and not trust_remote_code:
        name = model.get("name_or_path") or model.get("package")
        raise PtuneError(
            f"{where} asks for model.trust_remote_code=true: loading {name!r} would run code from the "
            f"model's own files; pass {TRUST_FLAG} only if you trust them"
        )
    return {**model, "trust_remote_code": trust_remote_code}


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


def member_exports(path: str) -> list[tuple[str, str]] | None:
    """(member, folder) of each member of a multi-task export at `path`; None when it is not one."""
    meta = os.path.join(path, MULTI_JSON)
    if not os.path.isfile(meta):
        return None
    tasks = read_json_file(meta, "").get("tasks")
    if not isinstance(tasks, list) or not all(isinstance(t, str) and os.path.basename(t) == t for t in tasks):
        raise PtuneError(f"{meta}: tasks={tasks!r:.80} must be a list of member folder names")
    return [(t, os.path.join(path, t)) for t in tasks]


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


@dataclass
class Export:
    """A loaded export: the model with its weights, its tokenizer, the task it predicts, and export.json."""

    model: PromptedModel
    tokenizer: object
    task: TaskSpec
    data: DataConfig
    meta: dict


@dataclass
class Parts:
    """An export's checked fields and verified weights: all it takes to rebuild its model."""

    meta: dict
    method: Method
    method_cfg: MethodConfig
    task: TaskSpec
    family: Family
    data: DataConfig
    model_cfg: ModelConfig
    state: dict | None = None
    weights: str = ""


def load_export(path: str, trust_remote_code: bool = False) -> Export:
    """Check an export, rebuild its model with the one model builder and load its verified weights."""
    return build_export(read_export(path, trust_remote_code))


def read_export(path: str, trust_remote_code: bool = False) -> Parts:
    """Everything of an export but the model: export.json checked, its weights verified and read."""
    meta_path = os.path.join(path, EXPORT_JSON)
    missing = f"{path} has no {EXPORT_JSON}: make one with `ptune-exp-export RUN_DIR`"
    if os.path.isfile(os.path.join(path, MULTI_JSON)):
        missing = f"{path} is a multi-task export: give one member's folder ({path}/<task>), or serve them all"
    meta = read_json_file(meta_path, missing)
    if meta.get("format") != FORMAT:
        raise PtuneError(f"{meta_path} has format {meta.get('format')!r}; this ptune-exp reads {FORMAT}")
    check_fields(meta, meta_path, {"model": dict})
    model = trusted_model(meta["model"], meta_path, trust_remote_code)
    parts = _parts(meta, model, meta_path)
    weights = os.path.join(path, EXPORT_WEIGHTS)
    verify(weights, meta.get("weights_sha256"), meta_path, "export the run again (ptune-exp-export RUN_DIR)")
    parts.state, parts.weights = load_tensors(weights), weights
    return parts


def _parts(meta: dict, model: dict, where: str) -> Parts:
    """The method, task and model an export names, each checked. A folded prefix-tuning prompt is exactly
    a flat deep prompt, so it is rebuilt with ptv2's (flat) structure."""
    check_fields(meta, where, {"method": str, "method_config": dict, "task": dict, "family": str})
    check_fields(meta["task"], f"{where} task", {"name": str, "source": (str, None)})
    try:
        method = get_method("ptv2" if meta["method"] == "prefix" else meta["method"])
        method_cfg = MethodConfig.from_cfg({**meta["method_config"], "name": method.key})
        method.validate(method_cfg)
        spec = task_spec(OmegaConf.create(meta["task"]), load=False)
        task = task_for(spec, method, method_cfg)
        data, model_cfg = DataConfig.from_cfg(meta["task"]), ModelConfig.from_cfg(model)
    except (PtuneError, OmegaConfBaseException) as e:
        raise PtuneError(f"{where}: {e}") from None
    sources = [key for key in ("name_or_path", "package", "tiny") if getattr(model_cfg, key) is not None]
    if len(sources) != 1:
        raise PtuneError(f"{where}: the model must name one backbone (name_or_path, package or tiny), not {sources}")
    if meta["family"] != spec.family:
        raise PtuneError(f"{where}: family={meta['family']!r}, but task={spec.name} is a {spec.family} task")
    _check_labels(meta.get("labels"), task, where)
    return Parts(meta, method, method_cfg, task, family_of(spec), data, model_cfg)


def _check_labels(labels, task: TaskSpec, where: str) -> None:
    """export.json's labels: none, or the task's own list (predictions are named by it)."""
    if labels is None:
        return
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise PtuneError(f"{where}: labels={labels!r:.80} must be a list of label names")
    own = list(getattr(task, "labels", ()) or ())
    if own and labels != own:
        raise PtuneError(f"{where}: labels {labels[:8]} are not task={task.name}'s labels {own[:8]}")


def build_export(parts: Parts) -> Export:
    """The model of checked export parts, with their weights loaded."""
    head = lambda hidden: parts.family.make_head(parts.task, hidden, parts.method_cfg.head_dropout)
    options = BuildOptions(parts.data.max_seq_len, model_name=parts.model_cfg.name)
    model, tokenizer = build_model(parts.model_cfg, parts.method, parts.method_cfg, head, options)
    load_into(model, parts.state, parts.weights)
    return Export(model.eval(), tokenizer, parts.task, parts.data, parts.meta)


@command("ptune-exp-export")
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-export", description="Export a run's trained prompt + head.")
    ap.add_argument("run_dir", help="output directory of a completed ptune-exp run")
    ap.add_argument("out_dir", nargs="?", help="where to write the export (default: RUN_DIR/export)")
    ap.add_argument("--push-to-hub", metavar="REPO_ID", help="then upload the export folder to this Hub model repo")
    ap.add_argument("--private", action="store_true", help="with --push-to-hub: create the repository private")
    args = ap.parse_args(argv)
    if args.private and not args.push_to_hub:
        raise PtuneError("--private only applies with --push-to-hub REPO_ID")
    out = export_run(args.run_dir, args.out_dir, args.push_to_hub)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in (EXPORT_JSON, EXPORT_WEIGHTS, CARD))
    print(f"exported {args.run_dir} -> {out} ({size / 1e6:.2f} MB)")
    if args.push_to_hub:
        from ptune_exp.artifacts.hub import push_to_hub

        print(f"pushed {out} -> {push_to_hub(out, args.push_to_hub, args.private)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
