"""Using trained weights without retraining.

    ptune-exp-eval RUN_DIR [--data-dir DIR]        # re-evaluate a run from its saved weights
    ptune-exp-predict EXPORT_DIR INPUT [-o OUT]    # predictions for a file of inputs

`ptune-exp-eval` rebuilds the run from its record's resolved config, loads `trainable.safetensors`
and evaluates every labelled split; it writes `eval.json` next to the record (never touching
`metrics.json`). `ptune-exp-predict` rebuilds the model from an export (`ptune-exp-export`) and
reads INPUT in the task family's local format (e.g. SuperGLUE jsonl or GLUE tsv for
classification), labels optional; it writes one prediction per input.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from omegaconf import OmegaConf
from safetensors.torch import load_file

from ptune_exp.errors import PtuneError, command
from ptune_exp.export import read_record
from ptune_exp.records import library_versions


def eval_run(run_dir: str, data_dir: str | None = None) -> dict:
    from ptune_exp.engine import evaluate_splits, trainer_for
    from ptune_exp.experiment import build
    from ptune_exp.plan import plan

    record = read_record(run_dir)
    cfg = OmegaConf.create(record["config"])
    cfg.output_dir = run_dir
    cfg.train.resume = False
    cfg.train.progress = False
    if data_dir:
        cfg.task.data_dir = data_dir
    exp = build(plan(cfg))
    result = exp.model.load_state_dict(load_file(os.path.join(run_dir, record["weights"])), strict=False)
    if result.unexpected_keys:
        raise PtuneError(f"{run_dir}: saved weights do not fit the rebuilt model: {result.unexpected_keys[:5]}")
    scores = evaluate_splits(exp, trainer_for(exp), out_dir=None)
    out = {
        "run": os.path.abspath(run_dir),
        "dev": scores.get("dev"),
        "test": scores.get("test"),
        "extra": scores.get("extra"),
        "recorded": {"dev": record.get("dev"), "test": record.get("test")},
        "versions": library_versions(),
    }
    with open(os.path.join(run_dir, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    return out


def predict_file(export_dir: str, input_path: str, out_base: str) -> str:
    from ptune_exp.export import load_export
    from ptune_exp.tasks import family_of
    from ptune_exp.training import PromptTrainer, inference_arguments

    if not os.path.isfile(input_path):  # before the model loads
        raise PtuneError(f"input file {input_path} does not exist")
    loaded = load_export(export_dir)
    task, family = loaded.task, family_of(loaded.task)
    raw = family.read_inputs(task, input_path)
    features = family.tokenize(raw, task, loaded.tokenizer, loaded.data.max_seq_len, False)
    scorer = family.Scorer(task, raw, features)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = PromptTrainer(
            model=loaded.model,
            args=inference_arguments(scratch),
            data_collator=family.collator(loaded.tokenizer),
            compute_metrics=scorer,
        )
        trainer.predict(features)
    return family.write_predictions(task, scorer.predictions, out_base)


@command("ptune-exp-eval")
def eval_main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-eval", description="Re-evaluate a run from its saved weights.")
    ap.add_argument("run_dir")
    ap.add_argument("--data-dir", help="read the task's files from here instead of the recorded task.data_dir")
    args = ap.parse_args(argv)
    out = eval_run(args.run_dir, args.data_dir)
    for split in ("dev", "test"):
        if out[split]:
            print(f"{split:5} {out[split]}   (recorded: {out['recorded'][split]})")
    print(f"wrote {os.path.join(args.run_dir, 'eval.json')}")
    return 0


@command("ptune-exp-predict")
def predict_main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-predict", description="Predict with an exported prompt.")
    ap.add_argument("export_dir", help="a folder written by ptune-exp-export")
    ap.add_argument("input", help="inputs in the task's local format (labels optional)")
    ap.add_argument("-o", "--out", help="output path without extension (default: INPUT.predictions)")
    args = ap.parse_args(argv)
    path = predict_file(args.export_dir, args.input, args.out or f"{args.input}.predictions")
    print(f"wrote {path}")
    return 0
