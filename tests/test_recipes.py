"""Each method on its own recipe: per-method budgets (an explicit train.epochs wins), the exponential
schedule, the backbone's hidden dropout, and the paper presets' per-method recipes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import compose_cfg
from ptune_exp.config.schema import ModelConfig
from ptune_exp.errors import PtuneError
from ptune_exp.methods import METHODS
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.trainer import EpochDecay
from ptune_exp.runs.records import new_record

EXE = str(Path(sys.executable).parent / "ptune-exp")
CONF = os.path.join(os.path.dirname(__file__), "..", "src", "ptune_exp", "conf")


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_method_trains_for_its_own_epochs_unless_train_epochs_is_set(method, tmp_path):
    cfg = compose_cfg(f"method={method}", f"output_dir={tmp_path}")
    p = plan(cfg)
    assert p.train.epochs == cfg.method.epochs and p.epochs_from == "method.epochs"
    assert p.config["train"]["epochs"] == cfg.method.epochs  # the record's config holds what ran
    assert new_record(p)["budget"] == {"epochs": cfg.method.epochs, "max_steps": -1, "from": "method.epochs"}
    forced = plan(compose_cfg(f"method={method}", "train.epochs=2", f"output_dir={tmp_path}"))
    assert forced.train.epochs == 2 and new_record(forced)["budget"]["from"] == "train.epochs"


def test_prompts_get_a_longer_budget_than_fine_tuning():
    epochs = {m: compose_cfg(f"method={m}").method.epochs for m in METHODS}
    assert all(epochs[m] > epochs["fft"] for m in METHODS if m != "fft")


def test_the_demo_gives_each_method_its_recipe_on_the_generated_ner_task(tmp_path):
    recipes = {}
    for method in OmegaConf.load(os.path.join(CONF, "experiment", "demo.yaml")).hydra.sweeper.params.method.split(","):
        cfg = compose_cfg("experiment=demo", f"method={method}", f"output_dir={tmp_path}")
        assert cfg.task.name == "synth_ner" and cfg.task.max_train_samples == 500 and cfg.model.name == "minilm"
        recipes[method] = (cfg.method.lr, plan(cfg).train.epochs)
    assert recipes == {"fft": (1e-4, 8), "pt": (3e-2, 10), "ptv2": (3e-2, 10)}


@pytest.mark.slow
def test_the_table_sweep_gives_each_method_its_recipe_and_train_epochs_overrides_all(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    args = [
        "-m",
        "experiment=table",
        "model=tiny-bert",
        "task=synth_sentiment",
        "task.max_train_samples=8",
        "task.max_eval_samples=8",
        "train.batch_size=8",
        "train.progress=false",
        "hydra.sweeper.params.seed=1",
        "train.epochs=null,2",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    out = subprocess.run([EXE, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").rglob("metrics.json"))]
    # the table sweeps its own list: every method but ptv1, which needs a masked-LM head (docs/heads.md)
    swept = OmegaConf.load(os.path.join(CONF, "experiment", "table.yaml")).hydra.sweeper.params.method.split(",")
    assert set(swept) == set(METHODS) - {"ptv1"}
    recipe = {m: compose_cfg(f"method={m}").method.epochs for m in swept}
    got = {(r["method"], r["budget"]["from"]): (r["budget"]["epochs"], r["train"]["steps"]) for r in records}
    # 8 examples in batches of 8: one step per epoch, so the steps count the epochs actually trained
    assert got == {
        **{(m, "method.epochs"): (e, e) for m, e in recipe.items()},
        **{(m, "train.epochs"): (2, 2) for m in recipe},
    }
    assert len({e for e, _ in (got[(m, "method.epochs")] for m in recipe)}) > 1


def _scheduler(gamma: float, per_epoch: int, warmup: int = 0):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    decay = EpochDecay(gamma, per_epoch, warmup)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, decay)


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_the_exponential_schedule_multiplies_the_lr_by_gamma_per_epoch(k):
    opt, sched = _scheduler(0.95, per_epoch=7)
    for _ in range(7 * k):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.95**k, rel=1e-12)
    opt.step()
    sched.step()  # within an epoch the lr stays
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.95**k, rel=1e-12)


def test_the_exponential_schedule_in_a_trainer_and_after_a_warmup(cfg_factory):
    from ptune_exp.pipeline.engine import trainer_for
    from ptune_exp.pipeline.experiment import build

    cfg = cfg_factory("train.lr_scheduler=exponential", "train.lr_gamma=0.5", "train.batch_size=8")
    exp = build(plan(cfg))  # 16 examples in batches of 8: 2 steps per epoch
    trainer = trainer_for(exp)
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    lrs = []
    for _ in range(6):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    lr = cfg.method.lr
    assert lrs == pytest.approx([lr, lr, lr / 2, lr / 2, lr / 4, lr / 4])
    opt, sched = _scheduler(0.5, per_epoch=2, warmup=2)
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([0.0, 0.05, 0.05, 0.05])  # ramp 0, 1/2; then epoch 1 (x0.5)


def test_an_unknown_scheduler_is_refused_before_any_load(tmp_path):
    with pytest.raises(PtuneError, match="exponential"):
        plan(compose_cfg("train.lr_scheduler=exponentiall", f"output_dir={tmp_path}"))


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
def test_hidden_dropout_reaches_every_hidden_dropout_layer(arch):
    from ptune_exp.model.backbones import load_backbone

    cfg = ModelConfig.from_cfg({"name": "t", "tiny": {"arch": arch}, "hidden_dropout": 0.37})
    model = load_backbone(cfg, "eager").model
    key = "dropout" if arch == "distilbert" else "hidden_dropout_prob"
    assert getattr(model.config, key) == 0.37
    config = model.config.to_dict()
    attention = config.get("attention_probs_dropout_prob", config.get("attention_dropout"))
    rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert 0.37 in rates and rates <= {0.37, attention}  # every other dropout is the hidden one


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
def test_attention_dropout_is_set_apart_and_both_off_make_training_forwards_deterministic(arch):
    from ptune_exp.model.backbones import load_backbone

    tiny = {"name": "t", "tiny": {"arch": arch}}
    model = load_backbone(ModelConfig.from_cfg({**tiny, "hidden_dropout": 0.37, "attention_dropout": 0.23}), "eager")
    assert {m.p for m in model.model.modules() if isinstance(m, torch.nn.Dropout)} == {0.37, 0.23}
    off = load_backbone(ModelConfig.from_cfg({**tiny, "hidden_dropout": 0.0, "attention_dropout": 0.0}), "sdpa").model
    off.train()
    ids = torch.randint(5, 50, (2, 9))
    assert torch.equal(off(input_ids=ids).last_hidden_state, off(input_ids=ids).last_hidden_state)


def test_hidden_dropout_out_of_range_is_refused():
    with pytest.raises(PtuneError, match="model.hidden_dropout=1.5"):
        ModelConfig.from_cfg({"name": "t", "tiny": {"arch": "bert"}, "hidden_dropout": 1.5})


def _rows():
    root = os.path.join(CONF, "experiment", "paper")
    return sorted(f[:-5] for f in os.listdir(root) if f.endswith(".yaml"))


@pytest.mark.parametrize("row", _rows())
def test_a_paper_row_gives_ptv2_the_official_recipe_and_other_methods_their_own(row, tmp_path):
    ptv2 = compose_cfg(f"experiment=paper/{row}", f"output_dir={tmp_path}")
    recipe = os.path.join(CONF, "recipe", "paper", row, "ptv2.yaml")
    assert os.path.isfile(recipe) and ptv2.method.name == "ptv2"
    assert ptv2.method.epochs >= 10 and ptv2.method.lr >= 1e-4
    for method in ("fft", "pt", "prefix"):
        other = compose_cfg(f"experiment=paper/{row}", f"method={method}", f"output_dir={tmp_path}")
        plain = compose_cfg(f"method={method}")
        assert (other.method.lr, other.method.epochs, other.method.prefix_len) == (
            plain.method.lr,
            plain.method.epochs,
            plain.method.prefix_len,
        )
        assert other.train.batch_size == ptv2.train.batch_size and other.task == ptv2.task  # the row's settings
        plan(other)


def test_every_recipe_belongs_to_a_preset():
    root = os.path.join(CONF, "recipe")
    for folder, _, files in os.walk(root):
        for f in files:
            preset = os.path.relpath(folder, root)
            if f.startswith("_"):  # a part that recipes include (`- /recipe/paper/_exponential_lr@_here_`)
                recipes = [os.path.join(d, r) for d, _, rs in os.walk(root) for r in rs if not r.startswith("_")]
                assert any(f"/recipe/{preset}/{f[:-5]}@_here_" in open(r).read() for r in recipes), (folder, f)
                continue
            assert os.path.isfile(os.path.join(CONF, "experiment", preset + ".yaml")), (folder, f)
            assert f[:-5] in METHODS, f


def test_boolq_presets_use_the_official_128_tokens():
    for row in ("boolq_bert-large", "boolq_roberta-large"):
        assert compose_cfg(f"experiment=paper/{row}").task.max_seq_len == 128


PTV1_ROWS = [r for r in _rows() if r.split("_")[0] in ("boolq", "rte", "wic", "wsc")]


@pytest.mark.parametrize("row", PTV1_ROWS)
def test_the_superglue_classification_rows_give_ptv1_the_original_p_tuning_recipe(row, tmp_path):
    """THUDM/P-tuning's PT-Fewshot scripts: prompt encoder lr 1e-4 (WiC: cli.py's default 1e-5), as many
    virtual tokens as the pattern id (1; WSC's pattern 2), an LSTM encoder, the verbalizer head."""
    cfg = compose_cfg(f"experiment=paper/{row}", "method=ptv1", f"output_dir={tmp_path}")
    task = row.split("_")[0]
    lr, length = {"wic": (1e-5, 1), "wsc": (1e-4, 2)}.get(task, (1e-4, 1))
    assert (cfg.method.lr, cfg.method.prefix_len, cfg.method.prompt_encoder) == (lr, length, "lstm")
    assert cfg.method.head == "verbalizer" and cfg.method.epochs == compose_cfg("method=ptv1").method.epochs
    assert cfg.train.batch_size == compose_cfg(f"experiment=paper/{row}").train.batch_size
    plan(cfg)


@pytest.mark.parametrize("row", [r for r in _rows() if r not in PTV1_ROWS])
def test_ptv1_has_no_recipe_outside_classification_and_is_refused_there(row, tmp_path):
    assert not os.path.isfile(os.path.join(CONF, "recipe", "paper", row, "ptv1.yaml"))
    cfg = compose_cfg(f"experiment=paper/{row}", "method=ptv1", f"output_dir={tmp_path}")
    from ptune_exp.pipeline.experiment import build

    with pytest.raises(PtuneError, match="applies to classification tasks"):
        build(plan(cfg))
