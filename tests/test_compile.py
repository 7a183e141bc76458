"""`train.compile=true` (regional compilation, `ptune_exp/compile.py`) and bf16 training on a CPU.

The compiled-vs-eager checks use torch.compile's `aot_eager` backend: the same Dynamo graphs (graph
breaks, guards, recompiles, the autograd graph AOTAutograd builds) as the real flag's `inductor`, without
inductor's C++ build, which takes minutes per model on a 2-core CPU. No test runs inductor itself: it
runs in `ptune-exp-bench --compile` / `--settings` and `make bench-gpu` (whose tests run dynamo's `eager`
backend: their code paths, not the graphs checked here).
"""

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend
from torch._dynamo.utils import counters

from ptune_exp.config.schema import TrainConfig
from ptune_exp.errors import PtuneError
from ptune_exp.model import compile as compile_module
from ptune_exp.model.compile import BUCKET, bucket_collator, compile_layers
from ptune_exp.pipeline.run import run
from ptune_exp.pipeline.trainer import frozen_dtype, mixed_precision
from ptune_exp.tasks.families.classification import Classification
from tiny_models import SENTENCES, batch, build_tiny

METHODS = ["fft", "pt", "prefix", "ptv2"]


def _train(method: str, compiled: bool, checkpointing: bool = False, steps: int = 5):
    """Losses of `steps` AdamW steps on one padded batch (train mode: dropout on), the counter, the model."""
    model, tok = build_tiny("bert", method, seed=3, prefix_dropout=0.0 if method == "fft" else 0.1)
    model.train()
    if checkpointing:
        model.activation_checkpointing_enable()
    counter = CompileCounterWithBackend("aot_eager")
    if compiled:
        assert compile_layers(model.backbone, counter) == 2
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    enc, labels = batch(tok), torch.tensor([0, 1])
    torch.manual_seed(7)  # the same dropout draws in both runs
    losses, graphs = [], []
    for _ in range(steps):
        loss = model(**enc, labels=labels)["loss"]
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        graphs.append(counter.frame_count)
    return losses, graphs, model, tok, counter


def _no_graph_breaks():
    return sum(counters["graph_break"].values()) == 0


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_compiled_losses_match_eager_and_the_graphs_compile_once(method):
    eager, *_ = _train(method, compiled=False)
    counters.clear()
    compiled, graphs, model, tok, counter = _train(method, compiled=True)
    assert compiled == pytest.approx(eager, abs=1e-4)
    assert _no_graph_breaks()
    # first layer (input without grad for frozen backbones) and the others: at most two graphs, all at step 1
    assert 1 <= graphs[0] <= 2 and graphs == [graphs[0]] * 5
    other = {k: t.flip(0) for k, t in batch(tok).items()}  # the other padding pattern, same shape
    model(**other, labels=torch.tensor([1, 0]))["loss"].backward()
    assert counter.frame_count == graphs[0]  # a new batch of the same shape: no recompilation


@pytest.mark.slow
def test_gradient_checkpointing_still_trains_the_prefix_when_compiled():
    eager, *_ = _train("ptv2", compiled=False, checkpointing=True, steps=3)
    counters.clear()
    compiled, graphs, model, *_ = _train("ptv2", compiled=True, checkpointing=True, steps=3)
    assert compiled == pytest.approx(eager, abs=1e-4)
    assert graphs[-1] >= 1 and _no_graph_breaks()  # the layers ran compiled, checkpoint inside the graph
    rows = model.prompt.encoder.rows
    _, tok = build_tiny("bert", "ptv2")
    model(**batch(tok), labels=torch.tensor([0, 1]))["loss"].backward()
    assert rows.grad is not None and rows.grad.abs().sum() > 0


def test_deberta_prefix_injection_refuses_compile_with_the_reason():
    model, _ = build_tiny("deberta-v2", "ptv2")
    with pytest.raises(PtuneError, match="DeBERTa.*context variable.*train.compile=false"):
        compile_layers(model.backbone, "aot_eager")


def test_compiling_keeps_the_state_dict_names():
    model, _ = build_tiny("bert", "ptv2")
    names = list(model.state_dict())
    compile_layers(model.backbone, "aot_eager")
    assert list(model.state_dict()) == names


def test_bucketed_collator_pads_to_a_multiple():
    _, tok = build_tiny("bert", "fft")
    features = [dict(tok(s)) | {"labels": 0} for s in SENTENCES]
    plain = Classification().collator(tok)(features)["input_ids"].shape[1]
    padded = bucket_collator(Classification().collator(tok))(features)["input_ids"].shape[1]
    assert plain % BUCKET != 0 and padded == BUCKET


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU's rules")
def test_bf16_is_allowed_on_a_cpu_and_fp16_is_refused():
    train = TrainConfig(precision="bf16")
    assert mixed_precision(train) == (True, False) and frozen_dtype(train) == torch.bfloat16
    with pytest.raises(PtuneError, match="fp16 needs a GPU"):
        mixed_precision(TrainConfig(precision="fp16"))


@pytest.mark.slow
def test_a_run_with_train_compile_matches_the_eager_run(cfg_factory, monkeypatch):
    monkeypatch.setattr(compile_module, "BACKEND", "aot_eager")
    # the same batches in both runs: the eager run pads to multiples of 32 too (dropout draws follow the shape)
    bucketed = Classification.collator
    monkeypatch.setattr(Classification, "collator", lambda self, tok: bucket_collator(bucketed(self, tok)))
    common = ("method=ptv2", "train.max_steps=5", "train.logging_steps=1", "train.eval_steps=5")
    eager = run(cfg_factory(*common))["loss_curve"]
    compiled = run(cfg_factory(*common, "train.compile=true"))["loss_curve"]
    assert [p["step"] for p in compiled] == [1, 2, 3, 4, 5]
    assert [p["loss"] for p in compiled] == pytest.approx([p["loss"] for p in eager], abs=1e-4)


@pytest.mark.slow
def test_a_bf16_run_on_the_cpu_trains_ptv2(cfg_factory):
    record = run(cfg_factory("method=ptv2", "train.precision=bf16"))
    assert record["status"] == "completed" and record["train"]["steps"] == 2
