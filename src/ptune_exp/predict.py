"""Using trained weights without retraining.

    ptune-exp-eval RUN_DIR [--data-dir DIR] [--out FILE]       # re-evaluate a run from its saved weights
    ptune-exp-predict EXPORT_DIR INPUT [-o OUT]                # predictions for a file of inputs
    ptune-exp-predict EXPORT_DIR EXPORT_DIR ... INPUT [-o OUT]  # several exports, rows naming their task

`ptune-exp-eval` rebuilds the run from its record's resolved config, loads `trainable.safetensors`
(after checking it against the sha256 in the record) and evaluates every labelled split; it prints
the scores and writes `eval.json` next to the record, or to `--out` (never touching `metrics.json`).
`ptune-exp-predict` rebuilds the model from an export (`ptune-exp-export`) and reads INPUT in the task
family's local format (e.g. SuperGLUE jsonl or GLUE tsv for classification; for `synth_sentiment`, a
.jsonl with a `sentence` field or a .tsv with a `sentence` column), labels optional; it writes one
prediction per input, with the input's own `idx` where it has one. Its core, `predict_raw` (raw inputs
-> tokenize -> forward -> per-example predictions), is also the Python API's (`api.Predictor.predict`).
With several exports, INPUT is a .jsonl whose rows name their `task` and they go through mixed batches
on one backbone (`ptune_exp.serve.offline`, as `ptune-exp-serve` batches requests).
Neither runs code shipped with a model (`trust_remote_code`) unless the command line says
`--trust-remote-code`.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ptune_exp.artifacts.export import read_record, run_weights
from ptune_exp.artifacts.export_reader import TRUST_FLAG, Export, build_export, read_export, trusted_model
from ptune_exp.errors import PtuneError, check_fields, command
from ptune_exp.runs.records import RECORD, library_versions
from ptune_exp.storage.files import write_json
from ptune_exp.storage.weights import load_into, load_tensors
from ptune_exp.tasks import family_of
from ptune_exp.tasks.inputs import read_inputs

EVAL = "eval.json"
# the Trainer's output_dir when predicting: a folder that exists (this package's), so the Trainer creates
# none; predicting saves and reports nothing, so nothing is written there either
NOWHERE = os.path.dirname(os.path.abspath(__file__))
TRUST_HELP = "allow the model to run code from its own files (transformers' trust_remote_code); off by default"


def eval_run(run_dir: str, data_dir: str | None = None, out: str | None = None, trust_remote_code=False) -> dict:
    """Evaluate a run from its saved weights and write the result to `out` (default RUN_DIR/eval.json)."""
    result = evaluate_run(run_dir, data_dir, trust_remote_code)
    write_eval(result, out or os.path.join(run_dir, EVAL))
    return result


def evaluate_run(run_dir: str, data_dir: str | None = None, trust_remote_code: bool = False) -> dict:
    from ptune_exp.pipeline.engine import evaluate_splits, trainer_for
    from ptune_exp.pipeline.experiment import build

    record = read_record(run_dir)
    weights = run_weights(run_dir, record)  # verified before anything loads
    state = load_tensors(weights)
    exp = build(_eval_plan(record, run_dir, data_dir, trust_remote_code))
    load_into(exp.model, state, weights)
    scores = evaluate_splits(exp, trainer_for(exp), out_dir=None)
    return {
        "run": os.path.abspath(run_dir),
        "dev": scores.get("dev"),
        "test": scores.get("test"),
        "extra": scores.get("extra"),
        "recorded": {"dev": record.get("dev"), "test": record.get("test")},
        "weights_sha256": record.get("weights_sha256"),
        "versions": library_versions(),
    }


def _eval_plan(record: dict, run_dir: str, data_dir: str | None, trust_remote_code: bool):
    """The run's plan from its record: trust_remote_code from the command line only, no trackers."""
    from ptune_exp.pipeline.plan import UnresolvedValue, plan

    where = os.path.join(run_dir, RECORD)
    check_fields(record["config"], f"{where} config", {"seed": int})
    model = trusted_model(record["config"]["model"], where, trust_remote_code)
    try:
        cfg = OmegaConf.create({**record["config"], "model": model})
        cfg.output_dir = run_dir
        cfg.train.resume = False
        cfg.train.progress = False
        cfg.train.report_to = "none"  # a re-evaluation reports to no tracker
        if data_dir:
            cfg.task.data_dir = data_dir
        return plan(cfg)
    except (OmegaConfBaseException, UnresolvedValue) as e:
        raise PtuneError(f"{where}: config: {' '.join(str(e).split())}") from None


def write_eval(result: dict, path: str) -> None:
    try:
        write_json(path, result)
    except OSError as e:
        raise PtuneError(f"could not write {path} ({e.strerror or e}); pass --out FILE to write it elsewhere") from None


def writable_folder(path: str, what: str) -> None:
    """Refuse, before any work, an output path whose folder is missing or cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        problem = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise PtuneError(f"{what} {path}: {folder} {problem}; create the folder or choose another path")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PtuneError(f"{what} {path}: cannot write into {folder} ({e.strerror or e})") from None


def predict_file(export_dir: str, input_path: str, out_base: str, trust_remote_code: bool = False) -> str:
    """Predictions for a file of inputs in the task's local format, written to `out_base` + the family's
    extension; returns the written path."""
    if not os.path.isfile(input_path):  # inputs, output and export are checked before the model loads
        raise PtuneError(f"input file {input_path} does not exist")
    writable_folder(out_base, "output")
    parts = read_export(export_dir, trust_remote_code)
    raw = read_inputs(parts.task, input_path)
    predictions = predict_raw(build_export(parts), raw)
    try:
        return parts.family.write_predictions(parts.task, predictions, out_base)
    except OSError as e:
        raise PtuneError(f"could not write the predictions to {out_base} ({e.strerror or e})") from None


def predict_several(exports: list[str], input_path: str, out_base: str, max_rows: int, trust_remote_code: bool) -> str:
    """Several exports on one backbone, one input file whose rows name their task: mixed batches (serve/offline.py)."""
    from ptune_exp.serve.offline import predict_mixed

    if not os.path.isfile(input_path):
        raise PtuneError(f"input file {input_path} does not exist")
    if max_rows < 1:
        raise PtuneError("--max-rows must be >= 1")
    writable_folder(out_base, "output")
    return predict_mixed(exports, input_path, out_base, max_rows, trust_remote_code)


def predict_raw(loaded: Export, raw) -> list | dict:
    """The core that `ptune-exp-predict` and the Python API share: raw inputs (as the family reads them)
    -> tokenize -> forward -> per-example predictions, as the family's Scorer makes them (and
    `write_predictions` writes them)."""
    from ptune_exp.pipeline.trainer import PromptTrainer, inference_arguments

    task = loaded.task
    family = family_of(task)
    features = family.tokenize(raw, task, loaded.tokenizer, loaded.data.max_seq_len, False)
    scorer = family.Scorer(task, raw, features)
    trainer = PromptTrainer(
        model=loaded.model,
        args=inference_arguments(NOWHERE),
        data_collator=family.collator(loaded.tokenizer),
        compute_metrics=scorer,
    )
    trainer.predict(features)
    return scorer.predictions


@command("ptune-exp-eval")
def eval_main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-eval", description="Re-evaluate a run from its saved weights.")
    ap.add_argument("run_dir")
    ap.add_argument("--data-dir", help="read the task's files from here instead of the recorded task.data_dir")
    ap.add_argument("--out", help=f"where to write the result (default: RUN_DIR/{EVAL})")
    ap.add_argument(TRUST_FLAG, action="store_true", help=TRUST_HELP)
    args = ap.parse_args(argv)
    path = args.out or os.path.join(args.run_dir, EVAL)
    if args.out:
        writable_folder(args.out, "--out")
    out = evaluate_run(args.run_dir, args.data_dir, args.trust_remote_code)
    for split in ("dev", "test"):
        if out[split]:
            print(f"{split:5} {out[split]}   (recorded: {out['recorded'][split]})")
    write_eval(out, path)  # a folder that cannot be written: the scores above stand, the error says where
    print(f"wrote {path}")
    return 0


@command("ptune-exp-predict")
def predict_main(argv=None) -> int:
    usage = "ptune-exp-predict EXPORT_DIR [EXPORT_DIR ...] INPUT [-o OUT] [--max-rows N] [--trust-remote-code]"
    ap = argparse.ArgumentParser(prog="ptune-exp-predict", description="Predict with an exported prompt.", usage=usage)
    ap.add_argument("paths", nargs="+", metavar="EXPORT_DIR", help="folders written by ptune-exp-export, then INPUT")
    ap.add_argument("-o", "--out", help="output path without extension (default: INPUT.predictions)")
    ap.add_argument("--max-rows", type=int, default=64, help="several exports: rows per mixed forward (default 64)")
    ap.add_argument(TRUST_FLAG, action="store_true", help=TRUST_HELP)
    args = ap.parse_args(argv)
    if len(args.paths) < 2:
        ap.error("give EXPORT_DIR and INPUT (several exports: INPUT is a .jsonl whose rows name their 'task')")
    *exports, given = args.paths
    out = args.out or f"{given}.predictions"
    if len(exports) == 1:
        path = predict_file(exports[0], given, out, args.trust_remote_code)
    else:
        path = predict_several(exports, given, out, args.max_rows, args.trust_remote_code)
    print(f"wrote {path}")
    return 0
