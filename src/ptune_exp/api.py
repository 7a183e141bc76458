"""The Python API: what the commands do, from a script or a notebook.

    from ptune_exp import api

    record = api.run_experiment("method=ptv2", "task=rte", "model=minilm", output_dir="outputs/rte")
    folder = api.export(record["output_dir"])          # weights.safetensors, export.json, README.md
    predictor = api.load_export(folder)
    predictor.predict([{"premise": "...", "hypothesis": "..."}])   # one dict per input

`run_experiment` composes the package's own Hydra configs with Hydra's compose API (overrides exactly as
on the `ptune-exp` command line, one run: no `-m` sweeps) and runs `run(cfg)`; a bad override raises
PtuneError with Hydra's message, the one the command prints. Without an output directory (argument or
`output_dir=` override) the run goes where the command would put it (`hydra.run.dir`: outputs/runs/...).

`Predictor.predict(inputs)` shares its core with `ptune-exp-predict` (`predict.predict_raw`: read ->
tokenize -> forward -> per-example predictions). The list is read straight into the family's rows by the
path its file reader takes after parsing a file (`tasks/inputs.py`, `Family.read_examples`; no file is
written), so a list and a file with the same inputs give the same predictions and the same input checks;
an error names `inputs[i]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ptune_exp.artifacts.export import export_run
from ptune_exp.artifacts.export_reader import Export
from ptune_exp.artifacts.export_reader import load_export as _load
from ptune_exp.artifacts.hub import push_to_hub
from ptune_exp.config.names import model_name, register_resolvers
from ptune_exp.config.usage import check_overrides, explain
from ptune_exp.errors import PtuneError
from ptune_exp.predict import predict_raw
from ptune_exp.tasks.inputs import input_dataset, results
from ptune_exp.tasks.text import bad_text

__all__ = ["Predictor", "compose", "export", "load_export", "push_to_hub", "run_experiment"]


def compose(*overrides: str, output_dir: str | None = None):
    """The run's config (a DictConfig) as `ptune-exp OVERRIDES` composes it, its output directory set."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.errors import HydraException
    from omegaconf import open_dict
    from omegaconf.errors import OmegaConfBaseException

    if not all(isinstance(o, str) for o in overrides):
        raise PtuneError(f"overrides are strings as on the command line (key=value), not {overrides!r:.80}")
    check_overrides(list(overrides))  # the command's own checks, so the API raises the lines it prints
    register_resolvers()
    try:
        with initialize_config_module("ptune_exp.conf", version_base="1.3"):
            cfg = hydra_compose("config", overrides=list(overrides), return_hydra_config=True)
        default_dir = cfg.hydra.run.dir  # where the command would run: outputs/runs/<task>/<model>/<method>/<time>
        with open_dict(cfg):
            cfg.model.name = model_name(cfg.model, list(overrides))  # as the run folder names it
            del cfg["hydra"]
            cfg.output_dir = output_dir or cfg.output_dir or default_dir
    except (HydraException, OmegaConfBaseException) as e:
        raise PtuneError(explain(e)) from None
    return cfg


def run_experiment(*overrides: str, output_dir: str | None = None, callbacks=()) -> dict:
    """Compose the configs with `overrides` (as on the command line), run, and return the run's record
    (what metrics.json holds: scores, parameters, settings; `record["output_dir"]` is the run folder).
    `callbacks`: extra transformers TrainerCallbacks."""
    from ptune_exp.pipeline.run import run

    return run(compose(*overrides, output_dir=output_dir), callbacks)


def export(
    run_dir: str, out_dir: str | None = None, push_to: str | None = None, private: bool = False, token=None
) -> str:
    """`ptune-exp-export`: export a completed run (default folder RUN_DIR/export); with `push_to`
    (owner/name), upload the folder to that Hub model repository. Returns the export folder."""
    folder = export_run(run_dir, out_dir, push_to)
    if push_to:
        push_to_hub(folder, push_to, private=private, token=token)
    return folder


def load_export(path: str, trust_remote_code: bool = False) -> Predictor:
    """An export (a folder written by `ptune-exp-export`, or downloaded from the Hub) ready to predict.
    Its fields are checked and its weights verified; a backbone that needs its own code loads only with
    `trust_remote_code=True`."""
    return Predictor(_load(_export_path(path), _flag(trust_remote_code, "trust_remote_code")))


def _export_path(path) -> str:
    """The folder argument of `load_export`: a str or os.PathLike naming a folder, else a one-line PtuneError."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        kind = "bytes (decode it to a str)" if isinstance(path, (bytes, bytearray)) else type(path).__name__
        raise PtuneError(f"load_export takes the path of an export folder (a str or os.PathLike), not {kind}")
    if not path or "\x00" in path or bad_text([path]):
        raise PtuneError(f"load_export: {path!r:.80} is not a usable folder path; pass the export folder's path")
    return path


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise PtuneError(f"{name} must be True or False, not {value!r:.40}")
    return value


def _input_list(inputs) -> list:
    """The inputs of `predict` as a list: any iterable but a str, bytes or dict (one input), else a PtuneError."""
    if isinstance(inputs, (str, bytes, dict)):
        raise PtuneError("predict takes a list of inputs; wrap a single input in a list")
    try:
        inputs = list(inputs)
    except TypeError:
        raise PtuneError(f"predict takes a list of inputs, not {type(inputs).__name__}") from None
    problem = bad_text(inputs)
    if problem:
        raise PtuneError(problem)
    return inputs


class Predictor:
    """A loaded export: `predict(inputs)`; `task`, `labels` and `meta` (export.json) describe it."""

    def __init__(self, loaded: Export):
        self.export = loaded

    @property
    def task(self):
        return self.export.task

    @property
    def labels(self) -> list[str] | None:
        return self.export.meta.get("labels")

    @property
    def meta(self) -> dict:
        return self.export.meta

    def predict(self, inputs: Iterable) -> list[dict]:
        """One prediction per input, in order: for classification `{"idx", "prediction": label, "scores":
        {label: probability}}`, for tagging `{"idx", "tokens", "tags"}`, for QA `{"id", "answer"}`: what
        `ptune-exp-predict` writes for the same inputs (module docstring of inputs.py: the fields)."""
        inputs = _input_list(inputs)
        if not inputs:
            return []
        raw = input_dataset(self.task, inputs)
        return results(self.task, inputs, predict_raw(self.export, raw), raw)

    def __repr__(self) -> str:
        meta = self.meta
        return f"Predictor({meta.get('method')} on {self.task.name}, {meta.get('model', {}).get('name')})"
