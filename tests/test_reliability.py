"""Interrupt and resume, refusing to clobber a good record, and the checkpoint contents."""

import json
import os
import signal

import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

from ptune_exp.errors import PtuneError
from ptune_exp.run import Interrupted, run

SHORT = [
    "method=ptv2",
    "method.reparam=true",
    "method.reparam_hidden=16",
    "train.max_steps=6",
    "train.eval_steps=2",
    "train.batch_size=4",
    "train.select=best",
]


class SignalAt(TrainerCallback):
    """Sends this process SIGTERM after the given step, as a scheduler's pre-emption would."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            signal.raise_signal(signal.SIGTERM)


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_result(cfg_factory):
    full = run(cfg_factory(*SHORT))

    cfg = cfg_factory(*SHORT)
    with pytest.raises(Interrupted, match="train.resume="):
        run(cfg, callbacks=[SignalAt(3)])
    stopped = json.load(open(os.path.join(cfg.output_dir, "metrics.json")))
    assert stopped["status"] == "interrupted" and "train.resume" in stopped["error"]
    checkpoints = sorted(d for d in os.listdir(cfg.output_dir) if d.startswith("checkpoint-"))
    assert checkpoints == ["checkpoint-4"]  # the step that finished after the signal; older ones rotated away
    saved = load_file(os.path.join(cfg.output_dir, checkpoints[0], "model.safetensors"))
    assert saved and not any(k.startswith("backbone.") for k in saved)  # trainable state only

    resumed = run(cfg_factory(*SHORT, f"train.resume={cfg.output_dir}"))
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("checkpoint-4")
    assert resumed["output_dir"] == full["output_dir"].replace("run0", "run1")  # continued in the interrupted dir
    assert resumed["dev"] == full["dev"] and resumed["test"] == full["test"]
    assert [pt["dev"] for pt in resumed["curve"]] == [pt["dev"] for pt in full["curve"]]
    assert resumed["selection"] == full["selection"]
    a = load_file(os.path.join(full["output_dir"], "trainable.safetensors"))
    b = load_file(os.path.join(resumed["output_dir"], "trainable.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)
    assert not any(d.startswith("checkpoint-") for d in os.listdir(cfg.output_dir))  # cleaned after completion


def test_resume_refuses_a_different_configuration(cfg_factory):
    cfg = cfg_factory(*SHORT)
    with pytest.raises(Interrupted):
        run(cfg, callbacks=[SignalAt(1)])
    with pytest.raises(PtuneError, match=r"different \['method_config'\]"):
        run(cfg_factory(*SHORT, "method.prefix_len=8", f"train.resume={cfg.output_dir}"))


def test_resume_without_a_checkpoint_says_what_to_do(cfg_factory, tmp_path):
    with pytest.raises(PtuneError, match="no checkpoint"):
        run(cfg_factory(*SHORT, f"train.resume={tmp_path}"))


def test_a_completed_record_is_never_overwritten(cfg_factory):
    cfg = cfg_factory("method=ptv2")
    first = run(cfg)
    with pytest.raises(PtuneError, match="already holds a completed run"):
        run(cfg)
    assert json.load(open(os.path.join(cfg.output_dir, "metrics.json")))["finished_at"] == first["finished_at"]


def _rte_fixture(tmp_path):
    rows = [
        {
            "premise": f"The {w} sat on the mat number {i}.",
            "hypothesis": f"A {w} is sitting.",
            "idx": i,
            "label": "entailment" if i % 3 else "not_entailment",
        }
        for i, w in enumerate(["cat", "dog", "john"] * 4)
    ]
    for name, part in (("train.jsonl", rows), ("val.jsonl", rows[:7])):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ptv2", "prefix", "pt", "fft"])
def test_saved_weights_evaluate_and_export_to_the_same_predictions(method, cfg_factory, tmp_path):
    from ptune_exp.export import EXPORT_WEIGHTS, export_run
    from ptune_exp.predict import eval_run, predict_file

    (tmp_path / "data").mkdir()
    data = _rte_fixture(tmp_path / "data")
    knobs = ["method.reparam=true", "method.reparam_hidden=16"] if method in ("ptv2", "pt") else []
    cfg = cfg_factory(
        f"method={method}", *knobs, "task=rte", "task.source=superglue", f"task.data_dir={data}", "train.max_steps=3"
    )
    record = run(cfg)

    again = eval_run(cfg.output_dir)  # from trainable.safetensors, no training
    assert again["dev"] == record["dev"]

    out = export_run(cfg.output_dir)
    exported = load_file(os.path.join(out, EXPORT_WEIGHTS))
    assert all(k == "prompt.encoder.rows" for k in exported if k.startswith("prompt."))  # the MLP is folded away
    if method != "fft":
        assert sum(t.numel() for t in exported.values()) < record["params"]["backbone"] / 10

    path = predict_file(out, str(data / "val.jsonl"), str(tmp_path / "preds"))
    predicted = [json.loads(line) for line in open(path)]
    trained = [json.loads(line) for line in open(os.path.join(cfg.output_dir, "predictions_dev.jsonl"))]
    assert len(predicted) == 7
    for a, b in zip(predicted, trained):
        assert a["prediction"] == b["prediction"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
