"""Multi-task prompts and prompt transfer (`task=multi`, `method.init_from`), on tiny random models and
fixture files the tests write."""

import os

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from ptune_exp.errors import PtuneError
from ptune_exp.experiment import build
from ptune_exp.export import export_run
from ptune_exp.methods.prompts import fold_state
from ptune_exp.plan import plan
from ptune_exp.run import run

SMALL = ["method.prefix_len=4"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Completed runs to start from: ptv2 (flat), ptv2 reparameterised, pt; and the flat one's export."""
    from conftest import SMOKE, compose_cfg

    root = tmp_path_factory.mktemp("sources")
    out = {}
    for name, overrides in {
        "ptv2": ["method=ptv2"],
        "reparam": ["method=ptv2", "method.reparam=true", "method.reparam_hidden=8"],
        "pt": ["method=pt"],
    }.items():
        run(compose_cfg(*SMOKE, *SMALL, *overrides, f"output_dir={root / name}"))
        out[name] = str(root / name)
    out["export"] = export_run(out["ptv2"], str(root / "export"))
    return out


def prompt_of(run_dir: str) -> dict:
    state = load_file(os.path.join(run_dir, "trainable.safetensors"))
    return {k: v for k, v in state.items() if k.startswith("prompt.")}


class FirstStep(TrainerCallback):
    """The prompt's tensors as they are when training begins (before the first optimizer step)."""

    def __init__(self):
        self.prompt = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.prompt = {f"prompt.{k}": v.detach().clone() for k, v in model.prompt.state_dict().items()}


def test_init_from_a_run_loads_the_prompt_bit_exactly_and_names_the_source(sources, cfg_factory):
    first = FirstStep()
    record = run(cfg_factory("method=ptv2", *SMALL, f"method.init_from={sources['ptv2']}"), callbacks=[first])
    source = prompt_of(sources["ptv2"])
    assert set(first.prompt) == set(source) == {"prompt.encoder.rows"}
    assert all(torch.equal(first.prompt[k], source[k]) for k in source)
    from ptune_exp.records import read_record

    src_record = read_record(sources["ptv2"])[0]
    assert record["transfer"]["from"] == os.path.abspath(sources["ptv2"]) and record["transfer"]["kind"] == "run"
    assert record["transfer"]["weights_sha256"] == src_record["weights_sha256"]
    assert record["method_config"]["init_from"] == sources["ptv2"]
    trained = prompt_of(record["output_dir"])["prompt.encoder.rows"]
    assert not torch.equal(trained, source["prompt.encoder.rows"])  # it did train from there


def test_init_from_an_export_and_from_a_reparameterised_run(sources, cfg_factory):
    exp = build(plan(cfg_factory("method=ptv2", *SMALL, f"method.init_from={sources['export']}")))
    exported = load_file(os.path.join(sources["export"], "weights.safetensors"))["prompt.encoder.rows"]
    assert torch.equal(exp.model.prompt.encoder.rows, exported) and exp.transfer["kind"] == "export"
    flat = build(plan(cfg_factory("method=ptv2", *SMALL, f"method.init_from={sources['reparam']}")))
    folded = fold_state(prompt_of(sources["reparam"]), "prompt.encoder.")["prompt.encoder.rows"]
    assert torch.equal(flat.model.prompt.encoder.rows, folded)
    mlp = build(
        plan(
            cfg_factory(
                "method=ptv2",
                *SMALL,
                "method.reparam=true",
                "method.reparam_hidden=8",
                f"method.init_from={sources['reparam']}",
            )
        )
    )
    own = {f"prompt.{k}": v for k, v in mlp.model.prompt.state_dict().items()}
    assert own.keys() == prompt_of(sources["reparam"]).keys()
    assert all(torch.equal(own[k], v) for k, v in prompt_of(sources["reparam"]).items())
    assert mlp.model.head.out.weight.abs().sum() > 0  # the head starts fresh, not from the source


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["method.prefix_len=8"], r"its prompt has 4 tokens, this run's method.prefix_len=8"),
        (["method=pt"], r"its prompt is a deep prompt \(ptv2\), this run's is an input prompt \(pt\)"),
        (["method=fft", "method.prefix_len=0"], r"method=fft has no prompt"),
        (["method.reparam=true"], r"holds flat rows"),
    ],
)
def test_init_from_refuses_another_prompt_before_any_model_loads(sources, cfg_factory, overrides, message):
    with pytest.raises(PtuneError, match=message):
        plan(cfg_factory("method=ptv2", *SMALL, f"method.init_from={sources['ptv2']}", *overrides))


def test_init_from_refuses_another_backbone_shape(sources, cfg_factory):
    cfg = cfg_factory("method=ptv2", *SMALL, "model.tiny.layers=3", f"method.init_from={sources['ptv2']}")
    with pytest.raises(PtuneError, match=r"bert \(hidden 32, 2 layers, 4 heads\).*bert \(hidden 32, 3 layers"):
        build(plan(cfg))
    cfg = cfg_factory("method=pt", *SMALL, "model.tiny.hidden_size=48", f"method.init_from={sources['pt']}")
    with pytest.raises(PtuneError, match=r"hidden 32.*hidden 48"):
        build(plan(cfg))


def test_init_from_refuses_a_folder_that_is_not_a_run(tmp_path, cfg_factory):
    with pytest.raises(PtuneError, match=r"not a ptune-exp run directory"):
        plan(cfg_factory("method=ptv2", f"method.init_from={tmp_path}"))
