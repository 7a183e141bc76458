"""Multi-task prompts and prompt transfer (`task=multi`, `method.init_from`), on tiny random models and
fixture files the tests write."""

import json
import os

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from multitask_fixtures import multi_overrides, write_members
from ptune_exp.artifacts.export import export_run
from ptune_exp.errors import PtuneError
from ptune_exp.methods.prompts import fold_state
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import Interrupted, run
from ptune_exp.tasks.multi.family import TaskSampler
from ptune_exp.tasks.multi.spec import probabilities
from test_reliability import SignalAt  # SIGTERM after a step, as a pre-emption would

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
    from ptune_exp.runs.records import read_record

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


# ---------------------------------------------------------------- multi-task


def test_the_sampler_keeps_each_batch_to_one_task_and_draws_the_stated_shares():
    sizes, batch = [60, 20, 4], 4
    for exponent in (1.0, 1 / 3):
        weights = probabilities(sizes, exponent)
        expected = [n**exponent / sum(m**exponent for m in sizes) for n in sizes]  # the README's formula
        assert weights == pytest.approx(expected)
        sampler, counts = TaskSampler(sizes, batch, weights, seed=7), [0, 0, 0]
        for epoch in range(300):
            sampler.set_epoch(epoch)
            indices = list(sampler)
            assert len(indices) == len(sampler) == (15 + 5 + 1) * batch
            for start in range(0, len(indices), batch):
                tasks = {0 if i < 60 else 1 if i < 80 else 2 for i in indices[start : start + batch]}
                assert len(tasks) == 1
                counts[tasks.pop()] += 1
        shares = [c / sum(counts) for c in counts]
        assert shares == pytest.approx(expected, abs=0.015)
    sampler.set_epoch(3)
    again = TaskSampler(sizes, batch, weights, seed=7)
    again.set_epoch(3)
    assert list(sampler) == list(again)  # (seed, epoch) fixes the order: what a resume relies on


@pytest.mark.parametrize("method, checkpointing", [("ptv2", False), ("ptv2", True), ("pt", False)])
def test_three_member_heads_get_gradient_from_their_own_batches_only(tmp_path, cfg_factory, method, checkpointing):
    from ptune_exp.pipeline.engine import trainer_for

    dirs = write_members(tmp_path / "data")
    gc = f"train.gradient_checkpointing={str(checkpointing).lower()}"
    exp = build(plan(cfg_factory(f"method={method}", *SMALL, *multi_overrides(dirs), "train.batch_size=2", gc)))
    heads = exp.model.head.heads
    assert list(heads) == ["conll03", "conll04", "rte"]
    assert [type(h).__name__ for h in heads.values()] == ["TokenClassificationHead"] * 2 + ["ClassificationHead"]
    exp.model.train()
    seen = set()
    for batch in trainer_for(exp).get_train_dataloader():
        exp.model.zero_grad(set_to_none=True)
        exp.model(**batch).loss.backward()
        task = exp.model.head.names[batch["task_id"]]
        seen.add(task)
        for name, head in heads.items():
            grads = [p.grad for p in head.parameters()]
            assert (
                all(g is not None and g.abs().sum() > 0 for g in grads)
                if name == task
                else all(g is None for g in grads)
            )
        assert exp.model.prompt.encoder.rows.grad.abs().sum() > 0
    assert seen == {"conll03", "conll04", "rte"}


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    """A completed 3-member ptv2 run (conll03, conll04, rte; temperature sampling) and its members' folders."""
    from conftest import SMOKE, compose_cfg

    root = tmp_path_factory.mktemp("multi")
    dirs = write_members(root / "data")
    overrides = ["train.max_steps=6", "train.eval_steps=3", "train.batch_size=2", "train.select=best"]
    cfg = compose_cfg(*SMOKE, "method=ptv2", *SMALL, *multi_overrides(dirs), "task.sampling=temperature", *overrides,
                      f"output_dir={root / 'run'}")  # fmt: skip
    return run(cfg), dirs


def test_a_three_member_run_records_every_member(multi_run, cfg_factory):
    record, dirs = multi_run
    assert record["status"] == "completed" and record["task"] == "multi" and record["main_metric"] == "mean"
    members = record["members"]
    assert list(members) == ["conll03", "conll04", "rte"]
    assert members["rte"]["family"] == "classification" and members["conll04"]["family"] == "tagging"
    assert members["rte"]["test"] is None and members["conll03"]["test"]["f1"] >= 0
    mains = [members[n]["dev"][members[n]["main_metric"]] for n in members]
    assert record["dev"]["mean"] == pytest.approx(sum(mains) / 3)
    assert record["dev"]["conll04/f1"] == members["conll04"]["dev"]["f1"]
    assert record["test"]["mean"] == pytest.approx(
        (members["conll03"]["test"]["f1"] + members["conll04"]["test"]["f1"]) / 2
    )
    assert [p["step"] for p in record["curve"]] == [3, 6] and all("mean" in p["dev"] for p in record["curve"])
    facts = record["multitask"]
    assert facts["sampling"] == "temperature" and facts["temperature"] == 2.0
    n = facts["train_features"]
    assert facts["probabilities"]["rte"] == pytest.approx(n["rte"] ** 0.5 / sum(v**0.5 for v in n.values()), abs=1e-6)
    each = build(plan(cfg_factory("method=ptv2", *SMALL, "task=rte", f"task.data_dir={dirs['rte']}",
                                  f"method.init_from={record['output_dir']}")))  # fmt: skip
    assert torch.equal(each.model.prompt.encoder.rows, prompt_of(record["output_dir"])["prompt.encoder.rows"])
    assert each.transfer["tasks"] == ["conll03", "conll04", "rte"]  # multi-task, then each task
    folder = os.path.join(record["output_dir"], record["predictions"]["dev"])
    assert sorted(os.listdir(folder)) == ["conll03.conll", "conll04.conll", "rte.jsonl"]
    assert set(load_file(os.path.join(record["output_dir"], "trainable.safetensors"))) >= {
        "prompt.encoder.rows", "head.heads.conll03.out.weight", "head.heads.rte.out.weight",
    }  # fmt: skip


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task.tasks=[conll03]"], r"task.tasks=\['conll03'\]: expected a list of two or more"),
        (["task.tasks=[conll03,conll03]"], r"each member once"),
        (["task.tasks=[conll03,nope]"], r"no task 'nope'"),
        (["task.sampling=uniform"], r"task.sampling=uniform: expected one of proportional, temperature"),
        (["task.temperature=0"], r"task.temperature=0: expected a number > 0"),
        (
            ["+task.members.conll03.data_dri=x"],
            r"task.members.conll03.data_dri: .*did you mean task.members.conll03.data_dir",
        ),
        (["+task.members.rte.data_dir=x"], r"task.members.rte: not one of task.tasks"),
        (["+task.data_dir=x"], r"task.data_dir: no such key of task=multi.*task.members.<task>.data_dir"),
    ],
)
def test_multi_task_settings_are_checked_before_anything_loads(cfg_factory, overrides, message):
    with pytest.raises(PtuneError, match=message):
        plan(cfg_factory("task=multi", "task.tasks=[conll03,conll04]", *overrides))


def test_a_resumed_multi_task_run_equals_an_uninterrupted_one(tmp_path):
    from conftest import SMOKE, compose_cfg

    dirs = write_members(tmp_path / "data")
    common = [*SMOKE, "method=ptv2", *SMALL, *multi_overrides(dirs), "task.sampling=temperature"]
    # 9 batches an epoch (conll03 3, conll04 2, rte 4): the resumed segment crosses into the second epoch
    common += ["train.max_steps=11", "train.eval_steps=4", "train.batch_size=2", "train.select=best"]
    full = run(compose_cfg(*common, f"output_dir={tmp_path / 'full'}"))
    with pytest.raises(Interrupted):
        run(compose_cfg(*common, f"output_dir={tmp_path / 'cut'}"), callbacks=[SignalAt(3)])
    resumed = run(compose_cfg(*common, f"train.resume={tmp_path / 'cut'}"))
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("checkpoint-4")
    assert resumed["multitask"]["train_features"] == {"conll03": 6, "conll04": 3, "rte": 8}
    assert resumed["loss_curve"] == full["loss_curve"] and resumed["curve"] == full["curve"]
    assert resumed["dev"] == full["dev"] and resumed["test"] == full["test"] and resumed["members"] == full["members"]
    assert resumed["weights_sha256"] == full["weights_sha256"]


def test_the_compare_table_has_multi_task_rows_and_column(multi_run, cfg_factory, tmp_path):
    from ptune_exp.compare.cli import main as compare

    record, dirs = multi_run
    rte = ["method=ptv2", *SMALL, "task=rte", f"task.data_dir={dirs['rte']}"]
    plain = run(cfg_factory(*rte))
    moved = run(cfg_factory(*rte, f"method.init_from={record['output_dir']}"))
    assert (
        compare([record["output_dir"], plain["output_dir"], moved["output_dir"], "--json", str(tmp_path / "t.json")])
        == 0
    )
    table = json.loads((tmp_path / "t.json").read_text())["tables"][0]
    rows = {r["label"]: r for r in table["rows"]}
    assert list(rows) == ["P-Tuning v2", "P-Tuning v2, from multi-task", "P-Tuning v2, multi-task"]
    assert [rows[k]["multi_task"] for k in rows] == ["no", "then this task (3 tasks)", "yes (3 tasks)"]
    assert set(rows["P-Tuning v2, multi-task"]["cells"]) == {"conll03", "conll04", "rte"}
    assert (
        rows["P-Tuning v2, multi-task"]["cells"]["rte"]["accuracy"]["mean"]
        == record["members"]["rte"]["dev"]["accuracy"]
    )
    assert (
        rows["P-Tuning v2, multi-task"]["cells"]["conll03"]["f1"]["mean"] == record["members"]["conll03"]["test"]["f1"]
    )
    assert set(rows["P-Tuning v2, from multi-task"]["cells"]) == {"rte"}
    assert rows["P-Tuning v2, from multi-task"]["cells"]["rte"]["accuracy"]["mean"] == moved["dev"]["accuracy"]


def test_a_multi_task_export_holds_every_head_and_serves_them_on_one_prompt(multi_run, tmp_path, cfg_factory):
    from ptune_exp.predict import eval_run, predict_file
    from ptune_exp.serve.registry import load_registry

    record, dirs = multi_run
    out = export_run(record["output_dir"], str(tmp_path / "export"))
    assert sorted(os.listdir(out)) == ["conll03", "conll04", "multitask.json", "rte"]
    trained = load_file(os.path.join(record["output_dir"], "trainable.safetensors"))
    for name in ("conll03", "conll04", "rte"):
        weights = load_file(os.path.join(out, name, "weights.safetensors"))
        assert torch.equal(weights["prompt.encoder.rows"], trained["prompt.encoder.rows"])
        assert torch.equal(weights["head.out.weight"], trained[f"head.heads.{name}.out.weight"])
    path = predict_file(os.path.join(out, "rte"), os.path.join(dirs["rte"], "dev.tsv"), str(tmp_path / "rte"))
    alone = [json.loads(line)["prediction"] for line in open(path)]
    in_run = os.path.join(record["output_dir"], record["predictions"]["dev"], "rte.jsonl")
    assert alone == [json.loads(line)["prediction"] for line in open(in_run)]  # the export predicts as the run did
    registry = load_registry([out], strict=True)
    assert sorted(registry.tasks) == ["conll03", "conll04", "rte"] and not registry.refused
    again = build(plan(cfg_factory("method=ptv2", *SMALL, "task=conll04", f"task.data_dir={dirs['conll04']}",
                                   f"method.init_from={out}")))  # fmt: skip
    assert torch.equal(again.model.prompt.encoder.rows, trained["prompt.encoder.rows"])
    assert again.transfer["tasks"] == ["conll03", "conll04", "rte"] and again.transfer["from"] == os.path.abspath(out)
    assert eval_run(record["output_dir"])["dev"] == record["dev"]  # ptune-exp-eval re-scores every member
    with pytest.raises(PtuneError, match=r"a multi-task export: give one member's folder"):
        predict_file(out, os.path.join(dirs["rte"], "dev.tsv"), str(tmp_path / "x"))


@pytest.mark.slow
def test_a_two_process_data_parallel_multi_task_run(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    dirs = write_members(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    args = ["model=tiny-bert", "train=smoke", "train.max_steps=4", "train.batch_size=2", "method=ptv2", *SMALL]
    command = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "ptune_exp"]
    out = tmp_path / "run"
    proc = subprocess.run(
        [*command, *args, *multi_overrides(dirs), "train.gradient_checkpointing=true", f"output_dir={out}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "metrics.json").read_text())
    assert record["status"] == "completed" and record["replicas"]["world_size"] == 2 and record["replicas"]["in_sync"]
    assert set(record["members"]) == {"conll03", "conll04", "rte"} and record["train"]["steps"] == 4


def test_transfers_from_sources_that_differ_only_in_seed_share_a_row():
    from ptune_exp.compare.variants import settings

    def transferred(path: str, sha: str, tasks: list[str]) -> dict:
        source = {"from": path, "weights_sha256": sha, "method": "ptv2", "tasks": tasks}
        return {"method_config": {"init_from": path}, "transfer": source}

    seed1 = transferred("runs/multi/s1", "aa" * 32, ["conll03", "rte"])
    seed2 = transferred("runs/multi/s2", "bb" * 32, ["conll03", "rte"])
    other = transferred("runs/multi/s1", "aa" * 32, ["conll03", "conll04"])
    assert settings(seed1) == settings(seed2) != settings(other)
    assert settings(seed1)["init_from"] == "ptv2 on conll03+rte"
