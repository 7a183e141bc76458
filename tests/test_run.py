"""End to end through run(cfg): every method trains, records are complete, frozen weights stay put."""

import json
import math
import os

import pytest
import torch
from safetensors.torch import load_file

from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS as REGISTRY
from ptune_exp.pipeline.engine import selector_for, train_and_evaluate
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import run
from ptune_exp.tasks import family_of, get_task

METHODS = sorted(REGISTRY)
PROMPT_METHODS = [k for k, m in sorted(REGISTRY.items()) if m.prompt_site != "none"]  # lora/ia3: test_peft_methods.py


def accuracy_by_hand(path: str, role: str) -> float:
    """Accuracy of a predictions file against the synthetic task's own labels, counted here."""
    spec = get_task("synth_sentiment")
    gold = {r["idx"]: spec.labels[r["label"]] for r in family_of(spec).load_split(spec, role, None)}
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return 100.0 * sum(gold[r["idx"]] == r["prediction"] for r in rows) / len(rows)


@pytest.mark.parametrize("model", ["tiny-bert", "tiny-roberta"])
@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_two_steps_and_records(method, model, cfg_factory):
    cfg = cfg_factory(f"method={method}", f"model={model}")
    record = run(cfg)
    on_disk = json.load(open(os.path.join(cfg.output_dir, "metrics.json")))
    assert on_disk["status"] == record["status"] == "completed"
    assert on_disk["method"] == method and on_disk["model"] == model and on_disk["task"] == "synth_sentiment"
    assert record["train"]["steps"] == 2
    for role in ("dev", "test"):
        predictions = os.path.join(cfg.output_dir, record["predictions"][role])
        assert record[role]["accuracy"] == pytest.approx(accuracy_by_hand(predictions, role), abs=1e-6)
    assert record["selection"]["split"] == "dev" and record["curve"][-1]["step"] == 2
    p = record["params"]
    assert p["trainable_pct"] == pytest.approx(100 * p["trainable"] / p["total"], abs=1e-3)
    assert (p["trainable"] == p["total"]) == (method == "fft")
    for key in ("config", "versions", "git_commit", "wall_time_s", "method_config", "table1", "seed"):
        assert key in on_disk
    weights = load_file(os.path.join(cfg.output_dir, record["weights"]))
    assert sum(t.numel() for t in weights.values()) == p["trainable"]
    in_backbone = [k for k in weights if k.startswith("backbone.")]  # fft: all of it; lora/ia3: adapters only
    assert bool(in_backbone) == (method == "fft" or REGISTRY[method].adapts_weights)
    assert all(".lora_" in k or ".ia3_" in k for k in in_backbone) or method == "fft"


@pytest.mark.parametrize("method", PROMPT_METHODS)
def test_frozen_backbone_is_bit_identical_after_training(method, cfg_factory):
    cfg = cfg_factory(f"method={method}", "train.max_steps=3")
    exp = build(plan(cfg))
    before = {n: t.clone() for n, t in exp.model.backbone.state_dict().items()}
    prompt_before = [t.clone() for t in exp.model.prompt.parameters()]
    train_and_evaluate(exp, selector_for(exp, None))
    after = exp.model.backbone.state_dict()
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert any(not torch.equal(a, b) for a, b in zip(prompt_before, exp.model.prompt.parameters()))


def test_best_dev_selection_restores_the_selected_weights(cfg_factory):
    cfg = cfg_factory("method=ptv2", "train.max_steps=4", "train.eval_steps=1", "train.select=best")
    record = run(cfg)
    best = max(point["dev"]["accuracy"] for point in record["curve"])
    assert len(record["curve"]) == 4
    assert record["dev"]["accuracy"] == pytest.approx(best)
    chosen = next(pt for pt in record["curve"] if pt["dev"]["accuracy"] == best)
    assert record["selection"]["step"] == chosen["step"]


def test_nan_loss_marks_the_run_failed(cfg_factory):
    cfg = cfg_factory("method=ptv2", "method.lr=1e30", "train.max_steps=6", "train.max_grad_norm=1e30")
    with pytest.raises(PtuneError, match="lower method.lr"):
        run(cfg)
    record = json.load(open(os.path.join(cfg.output_dir, "metrics.json")))
    assert record["status"] == "failed" and "TrainingDiverged" in record["error"]
    assert "dev" not in record  # no result is recorded for a diverged run


def test_pt_refuses_a_prompt_that_overflows_the_positions(cfg_factory):
    cfg = cfg_factory("method=pt", "task.max_seq_len=500", "method.prefix_len=20")
    with pytest.raises(PtuneError, match="exceeds the 512 positions"):
        run(cfg)


def test_gradient_checkpointing_run(cfg_factory):
    record = run(cfg_factory("method=ptv2", "train.gradient_checkpointing=true"))
    assert record["status"] == "completed" and math.isfinite(record["train"]["loss"])
