"""Reading exports: `export.json` checked field by field, the weights verified against their digest, and the model
rebuilt with the one model builder (`load_export`, for `ptune-exp-predict`, the Python API and the server). An export
is input like any other file; a model that needs its own code loads only when the command line says
`--trust-remote-code` (`trusted_model`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ptune_exp.config.schema import DataConfig, MethodConfig, ModelConfig
from ptune_exp.errors import PtuneError, check_fields, read_json_file
from ptune_exp.methods import Method, get_method
from ptune_exp.model.build import BuildOptions, build_model, task_for
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.storage.weights import load_into, load_tensors, verify
from ptune_exp.tasks import TaskSpec, family_of
from ptune_exp.tasks.custom import task_spec
from ptune_exp.tasks.families import Family

EXPORT_JSON = "export.json"
EXPORT_WEIGHTS = "weights.safetensors"
MULTI_JSON = "multitask.json"  # a multi-task run's export: one export folder per member task
FORMAT = "ptune-exp-export/1"
TRUST_FLAG = "--trust-remote-code"


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


def member_exports(path: str) -> list[tuple[str, str]] | None:
    """(member, folder) of each member of a multi-task export at `path`; None when it is not one."""
    meta = os.path.join(path, MULTI_JSON)
    if not os.path.isfile(meta):
        return None
    tasks = read_json_file(meta, "").get("tasks")
    if not isinstance(tasks, list) or not all(isinstance(t, str) and os.path.basename(t) == t for t in tasks):
        raise PtuneError(f"{meta}: tasks={tasks!r:.80} must be a list of member folder names")
    return [(t, os.path.join(path, t)) for t in tasks]


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
