"""Every config composes and validates; bad input fails early with a message that says what to do."""

import os

import pytest

from conftest import compose_cfg
from ptune_exp.errors import PtuneError
from ptune_exp.plan import plan

CONF = os.path.join(os.path.dirname(__file__), "..", "src", "ptune_exp", "conf")


def options(group):
    return sorted(f[:-5] for f in os.listdir(os.path.join(CONF, group)) if f.endswith(".yaml"))


# Every model x every method on one task, and every task x every method on one model: plan() checks the
# model config independently of the task, so the full product (1,500 compositions, minutes) adds nothing.
PAIRS = sorted({(m, "rte") for m in options("model")} | {("tiny-bert", t) for t in options("task")})


@pytest.mark.parametrize("model, task", PAIRS)
@pytest.mark.parametrize("method", options("method"))
def test_every_model_and_every_task_composes_and_validates(model, task, method, tmp_path):
    cfg = compose_cfg(f"model={model}", f"task={task}", f"method={method}", f"output_dir={tmp_path}")
    p = plan(cfg)
    assert (p.method.key, p.task.name, cfg.model.name) == (method, task, model)


def test_config_groups_are_the_registries():
    from ptune_exp.methods import METHODS
    from ptune_exp.tasks import TASKS

    assert options("method") == sorted(METHODS)
    assert options("task") == sorted({name for name, _ in TASKS})


@pytest.mark.parametrize(
    "override, words",
    [
        ("method.prefix_len=0", "positive number"),
        ("method.prefix_len=-3", "positive number"),
        ("method.prefix_dropout=1.0", "[0, 1)"),
        ("method.lr=0", "must be > 0"),
        ("train.select=worst", "best"),
        ("train.batch_size=0", "batch_size"),
        ("task.source=nope", "task.source"),
        ("model.attn_implementation=flash", "sdpa or eager"),
    ],
)
def test_bad_values_fail_before_any_model_loads(override, words, tmp_path):
    cfg = compose_cfg("method=ptv2", override, f"output_dir={tmp_path}")
    with pytest.raises(PtuneError, match=None) as e:
        plan(cfg)
    assert words in str(e.value)


def test_prompt_knobs_are_refused_for_fft(tmp_path):
    with pytest.raises(PtuneError, match="no prompt"):
        plan(compose_cfg("method=fft", "method.prefix_len=8", f"output_dir={tmp_path}"))


def test_prefix_requires_reparameterisation(tmp_path):
    with pytest.raises(PtuneError, match="method=ptv2"):
        plan(compose_cfg("method=prefix", "method.reparam=false", f"output_dir={tmp_path}"))


def test_misspelled_key_is_rejected():
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="prefix_lenght"):
        compose_cfg("method.prefix_lenght=8")


def test_unknown_key_in_a_method_file_is_named():
    from ptune_exp.methods import MethodConfig

    with pytest.raises(PtuneError, match="prefix_lenght"):
        MethodConfig.from_cfg({"name": "ptv2", "lr": 0.01, "prefix_lenght": 8})


def test_unknown_method_lists_choices():
    from ptune_exp.methods import get_method

    with pytest.raises(PtuneError, match=r"\['fft', 'prefix', 'pt', 'ptv2'\]"):
        get_method("lora")


def experiment_presets():
    root = os.path.join(CONF, "experiment")
    return sorted(
        os.path.relpath(os.path.join(d, f), root)[:-5]
        for d, _, files in os.walk(root)
        for f in files
        if f.endswith(".yaml")
    )


@pytest.mark.parametrize("preset", experiment_presets())
def test_experiment_presets_compose_and_validate(preset, tmp_path):
    cfg = compose_cfg(f"experiment={preset}", f"output_dir={tmp_path}")
    plan(cfg)
    if preset.startswith("paper/"):
        task, model = os.path.basename(preset).rsplit("_", 1)
        assert (cfg.task.name, cfg.model.name, cfg.method.name) == (task, model, "ptv2")
        header = open(os.path.join(CONF, "experiment", preset + ".yaml")).read()
        assert "Expect about" in header and "github.com/THUDM/P-tuning-v2" in header and "run_script/run_" in header


def test_slurm_launcher_config_composes():
    from hydra import compose, initialize_config_module

    with initialize_config_module("ptune_exp.conf", version_base="1.3"):
        cfg = compose(
            "config", overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu"], return_hydra_config=True
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu" and launcher.gpus_per_node == 1


@pytest.mark.parametrize("group, bad", [("method", "lora"), ("task", "sst3"), ("model", "gpt9")])
def test_unknown_choice_lists_the_available_options(group, bad):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException) as e:
        compose_cfg(f"{group}={bad}")
    message = str(e.value)
    assert f"Could not find '{group}/{bad}'" in message and f"Available options in '{group}'" in message
    assert {"method": "ptv2", "task": "rte", "model": "minilm"}[group] in message
