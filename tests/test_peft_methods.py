"""lora and ia3 (PEFT adapters on a frozen backbone): every task family trains and leaves the backbone's own
weights bit-identical to the stock model's; trainable counts follow the methods' formulas; gradient
checkpointing, resume, export and predict give what an uninterrupted, in-memory run gives."""

import copy
import json
import os

import pytest
import torch
from safetensors.torch import load_file

from conftest import SMOKE, compose_cfg
from ptune_exp.compare import build_tables, markdown
from ptune_exp.errors import PtuneError
from ptune_exp.injection import ARCHITECTURES, support
from ptune_exp.methods import METHODS, MethodConfig, get_method
from ptune_exp.methods.adapters import DEFAULTS, targets
from ptune_exp.model.backbones import Backbone
from ptune_exp.model.build import BuildOptions, assemble
from ptune_exp.model.tiny import tiny_backbone
from ptune_exp.pipeline.engine import selector_for, train_and_evaluate
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import Interrupted, run
from ptune_exp.runs.records import read_records
from ptune_exp.tasks.families.classification import ClassificationHead
from test_qa import MAX_LEN, STRIDE, data_dir
from test_reliability import SignalAt, _rte_fixture
from test_srl import conll05_dir  # noqa: F401  (fixture)
from test_superglue import write_task
from test_tagging import conll_dir  # noqa: F401  (fixture)
from tiny_models import batch, build_tiny

ADAPTERS = ["lora", "ia3"]
H, I, L, R, HEAD = 32, 64, 2, 2, 32 * 2 + 2  # tiny models: hidden, feed-forward, layers; LoRA rank; 2-label head


def _family_overrides(family: str, tmp_path, request) -> list[str]:
    if family == "classification":
        return []
    if family == "multiple_choice":
        return ["task=copa", f"task.data_dir={write_task(tmp_path, 'copa')}", "task.max_seq_len=64"]
    if family == "tagging":
        return ["task=conll03", f"task.data_dir={request.getfixturevalue('conll_dir')}", "task.max_seq_len=16"]
    if family == "srl":
        return ["task=conll05", f"task.data_dir={request.getfixturevalue('conll05_dir')}", "task.max_seq_len=16"]
    folder = data_dir(tmp_path, "1.1")
    return ["task=squad", f"task.data_dir={folder}", f"task.max_seq_len={MAX_LEN}", f"task.doc_stride={STRIDE}"]


def _own_weights(backbone) -> dict[str, torch.Tensor]:
    """The backbone's own tensors under their stock names (PEFT keeps a wrapped layer's as `base_layer`)."""
    adapters = {n for n, p in backbone.named_parameters() if p.requires_grad}
    return {n.replace(".base_layer", ""): t for n, t in backbone.state_dict().items() if n not in adapters}


@pytest.mark.parametrize("family", ["classification", "multiple_choice", "tagging", "qa", "srl"])
@pytest.mark.parametrize("method", ADAPTERS)
def test_trains_on_each_family_and_leaves_the_backbone_bit_identical(method, family, cfg_factory, tmp_path, request):
    cfg = cfg_factory(f"method={method}", *_family_overrides(family, tmp_path, request))
    exp = build(plan(cfg))
    assert exp.plan.task.family == family
    tuned = {n: p.detach().clone() for n, p in exp.model.backbone.named_parameters() if p.requires_grad}
    assert tuned and all(".lora_" in n or ".ia3_l" in n for n in tuned)
    result = train_and_evaluate(exp, selector_for(exp, None))
    assert result["train"]["steps"] == 2 and result["dev"]
    after = dict(exp.model.backbone.named_parameters())
    assert all(not torch.equal(tuned[n], after[n]) for n in tuned)  # every adapter tensor trained
    stock, _ = tiny_backbone("bert", H, L, 4, I, "sdpa")  # the same seed: the weights the run started from
    own = _own_weights(exp.model.backbone)
    assert own.keys() == stock.state_dict().keys()  # nothing merged, nothing added but the adapters
    assert all(torch.equal(t, own[n]) for n, t in stock.state_dict().items())


def _expected_trainable(arch: str, method: str) -> int:
    """LoRA: rank x (in + out) per target layer; (IA)³: a target's outputs (a feed-forward one's inputs)."""
    if method == "lora":
        per_layer = R * (H + 3 * H) if arch == "modernbert" else 2 * R * (H + H)  # Wqkv, else query + value
    else:
        per_layer = (3 * H if arch == "modernbert" else H + H) + I  # keys and values (Wqkv), feed-forward inputs
    return per_layer * L + HEAD


@pytest.mark.parametrize("arch", ["bert", "roberta", "deberta-v2", "electra", "xlm-roberta", "modernbert"])
@pytest.mark.parametrize("method", ADAPTERS)
def test_trainable_count_matches_the_formula(method, arch):
    model, _ = build_tiny(arch, method)
    counts = model.parameter_counts()
    assert counts["trainable"] == _expected_trainable(arch, method)
    stock, _ = tiny_backbone(arch, H, L, 4, I, "eager")
    assert counts["backbone"] == sum(p.numel() for p in stock.parameters())  # adapters are not backbone weights
    assert counts["total"] == counts["backbone"] + counts["trainable"]


def test_chosen_target_modules_replace_the_default():
    model, _ = build_tiny("bert", "lora", target_modules=["query", "key", "value"])
    assert model.parameter_counts()["trainable"] == 3 * R * (H + H) * L + HEAD
    ia3, _ = build_tiny("bert", "ia3", target_modules=["value", "intermediate.dense"], feedforward_modules=[])
    assert ia3.parameter_counts()["trainable"] == (H + I) * L + HEAD  # outputs of both, no exclusion applied


@pytest.mark.parametrize("method", ADAPTERS)
def test_gradient_checkpointing_gives_the_same_adapter_gradients(method):
    plain, tok = build_tiny("bert", method)  # LoRA dropout 0 here (tiny_models.SMALL)
    ckpt = copy.deepcopy(plain)
    ckpt.activation_checkpointing_enable()
    grads = []
    for model in (plain, ckpt):
        model.train()
        for mod in model.modules():
            if isinstance(mod, torch.nn.Dropout):
                mod.p = 0.0
        model(**batch(tok), labels=torch.tensor([0, 1])).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.backbone.named_parameters() if p.requires_grad})
    assert any(getattr(m, "gradient_checkpointing", False) for m in ckpt.backbone.modules())
    assert any(g.abs().sum() > 0 for g in grads[1].values())
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("method", ADAPTERS)
def test_a_bf16_backbone_keeps_fp32_adapters(method):
    knobs = {"lora_rank": R, "lora_alpha": 2.0} if method == "lora" else {}
    cfg = MethodConfig(name=method, lr=1e-3, head_dropout=0.0, **knobs)
    load = lambda implementation: Backbone(*tiny_backbone("bert", H, L, 4, I, implementation))
    head = lambda hidden: ClassificationHead(hidden, 2, 0.0)
    model, tok = assemble(
        "bert", "sdpa", load, get_method(method), cfg, head, BuildOptions(frozen_dtype=torch.bfloat16)
    )
    tuned = [p for p in model.backbone.parameters() if p.requires_grad]
    assert {p.dtype for p in tuned} == {torch.float32}
    assert {p.dtype for p in model.backbone.parameters() if not p.requires_grad} == {torch.bfloat16}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**batch(tok), labels=torch.tensor([0, 1])).loss
    loss.backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in tuned)


# ---------------------------------------------------------------- resume, export, predict


def _short(method: str) -> list[str]:
    return [f"method={method}", "train.max_steps=6", "train.eval_steps=2", "train.batch_size=4", "train.select=best"]


@pytest.mark.slow  # three runs of 6 steps, like tests/test_reliability.py's resume test
@pytest.mark.parametrize("method", ADAPTERS)
def test_resume_equals_an_uninterrupted_run(method, tmp_path):
    full = run(compose_cfg(*SMOKE, *_short(method), f"output_dir={tmp_path / 'full'}"))
    stopped = tmp_path / "stopped"
    with pytest.raises(Interrupted, match="train.resume="):
        run(compose_cfg(*SMOKE, *_short(method), f"output_dir={stopped}"), callbacks=[SignalAt(3)])
    saved = load_file(stopped / "checkpoint-4" / "model.safetensors")
    assert saved and all(".lora_" in k or ".ia3_l" in k or k.startswith("head.") for k in saved)  # no base weights
    resumed = run(compose_cfg(*SMOKE, *_short(method), f"train.resume={stopped}"))
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("checkpoint-4")
    assert (resumed["dev"], resumed["test"], resumed["selection"]) == (full["dev"], full["test"], full["selection"])
    assert [p["dev"] for p in resumed["curve"]] == [p["dev"] for p in full["curve"]]
    assert resumed["loss_curve"] == full["loss_curve"]
    a = load_file(os.path.join(full["output_dir"], "trainable.safetensors"))
    b = load_file(stopped / "trainable.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("method", ADAPTERS)
def test_export_predicts_what_the_run_predicted(method, cfg_factory, tmp_path):
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.artifacts.export_reader import EXPORT_WEIGHTS
    from ptune_exp.predict import eval_run, predict_file

    data = _rte_fixture(tmp_path / "data")
    cfg = cfg_factory(
        f"method={method}", "task=rte", "task.source=superglue", f"task.data_dir={data}", "train.max_steps=3"
    )
    record = run(cfg)
    assert record["table1"]["tuned"] == METHODS[method].tuned and record["table1"]["in_paper"] is False
    assert eval_run(cfg.output_dir)["dev"] == record["dev"]

    out = export_run(cfg.output_dir)
    exported = load_file(os.path.join(out, EXPORT_WEIGHTS))
    assert all(".lora_" in k or ".ia3_l" in k or k.startswith("head.") for k in exported)  # factors + head only
    assert sum(t.numel() for t in exported.values()) == record["params"]["trainable"]
    meta = json.load(open(os.path.join(out, "export.json")))
    assert meta["method"] == method and meta["method_config"]["lora_rank"] == (8 if method == "lora" else 0)

    path = predict_file(out, str(data / "val.jsonl"), str(tmp_path / "preds"))
    predicted = [json.loads(line) for line in open(path)]
    trained = [json.loads(line) for line in open(os.path.join(cfg.output_dir, "predictions_dev.jsonl"))]
    assert len(predicted) == len(trained) == 7
    for a, b in zip(predicted, trained):
        assert a["prediction"] == b["prediction"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
    card = open(os.path.join(out, "README.md"), encoding="utf-8").read()
    assert ("2106.09685" if method == "lora" else "2205.05638") in card


# ---------------------------------------------------------------- compare, support matrix, refusals


def _write_record(folder, method: str, acc: float) -> None:
    m = METHODS[method]
    record = {
        "status": "completed", "model": "m", "task": "rte", "task_source": "glue", "seed": 1, "method": method,
        "method_title": m.title, "family": "classification", "metrics": ["accuracy"], "main_metric": "accuracy",
        "dev": {"accuracy": acc}, "test": None, "params": {"trainable_pct": 0.5}, "finished_at": method,
        "table1": {"deep": m.prompt_site == "every layer", "tuned": m.tuned, "in_paper": m.in_paper},
        "method_config": {"name": method, "lr": 0.01, "prefix_len": 0, "reparam": False, "target_modules": ["q"]},
    }  # fmt: skip
    (folder / method).mkdir()
    (folder / method / "metrics.json").write_text(json.dumps(record))


def test_compare_places_them_in_the_table_marked_outside_the_paper(tmp_path):
    for i, method in enumerate(["ptv2", "lora", "ia3"]):
        _write_record(tmp_path, method, 60.0 + i)
    table = build_tables(read_records([str(tmp_path)]))[0]
    assert [r.label for r in table.rows] == ["P-Tuning v2", "LoRA †", "(IA)³ †"]
    text = markdown([table], [])
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    # deep, reparam, multi-task, no verbalizer
    assert "| low-rank updates of attention weights | no | none | no | yes |" in rows["LoRA †"]
    assert "| rescaling vectors of keys, values and feed-forward activations |" in rows["(IA)³ †"]
    assert "| prefix keys/values of every layer | yes |" in rows["P-Tuning v2"]
    assert "† = a reference method outside the P-Tuning v2 paper" in text


def test_every_architecture_has_default_targets_and_a_supported_cell():
    assert set(DEFAULTS) == set(ARCHITECTURES)
    for arch in ARCHITECTURES:
        for method in ADAPTERS:
            cell = support(arch, get_method(method))
            assert (cell.status, cell.mechanism) == ("supported", "PEFT adapter layers")
    assert support("camembert", get_method("lora")).status == "untested"


@pytest.mark.parametrize(
    "method, knobs, message",
    [
        ("ptv2", {"prefix_len": 4, "lora_rank": 8}, "method=ptv2 adds no adapter layers"),
        ("fft", {"target_modules": ["query"]}, "choose method=lora or method=ia3"),
        ("lora", {"lora_rank": 0, "lora_alpha": 8.0}, "must be > 0"),
        ("lora", {"lora_rank": 8, "lora_alpha": 8.0, "lora_dropout": 1.0}, r"lora_dropout=1.0 must be in \[0, 1\)"),
        ("lora", {"lora_rank": 8, "lora_alpha": 8.0, "feedforward_modules": ["x"]}, r"an \(IA\)³ knob"),
        ("ia3", {"lora_rank": 8}, "are LoRA knobs"),
        ("ia3", {"target_modules": ["key"], "feedforward_modules": ["output.dense"]}, "must be a subset"),
        ("ia3", {"target_modules": []}, "adapts nothing"),
        ("lora", {"prefix_len": 4, "lora_rank": 8, "lora_alpha": 8.0}, "method.prefix_len/method.reparam do not apply"),
    ],
)
def test_knobs_that_do_not_fit_the_method_are_refused(method, knobs, message):
    with pytest.raises(PtuneError, match=message):
        get_method(method).validate(MethodConfig(name=method, lr=1e-3, **knobs))


def test_targets_that_match_nothing_or_no_default_say_what_to_do():
    with pytest.raises(PtuneError, match="PEFT could not adapt the backbone.*method.target_modules"):
        build_tiny("bert", "lora", target_modules=["no_such_layer"])
    with pytest.raises(PtuneError, match=r"no default target modules for model_type 'camembert'.*target_modules=\["):
        targets(MethodConfig(name="lora", lr=1e-3, lora_rank=8, lora_alpha=8.0), "camembert", "lora")
    with pytest.raises(PtuneError, match="method.target_modules=query: expected a list of names"):
        MethodConfig.from_cfg({"name": "lora", "lr": 1e-3, "target_modules": "query"})


def test_a_listed_target_override_composes_from_the_command_line():
    cfg = compose_cfg(*SMOKE, "method=lora", "method.target_modules=[query,key]")
    assert list(cfg.method.target_modules) == ["query", "key"] and cfg.method.lora_rank == 8
