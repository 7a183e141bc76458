"""Every config composes and validates; bad input fails early with a message that says what to do."""

import os

import pytest

from conftest import compose_cfg
from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.plan import plan
from ptune_exp.tasks.families.templates import DEFAULTS as DEFAULT_TEMPLATES

CONF = os.path.join(os.path.dirname(__file__), "..", "src", "ptune_exp", "conf")


def options(group):
    return sorted(f[:-5] for f in os.listdir(os.path.join(CONF, group)) if f.endswith(".yaml"))


# Every model x every method on one task, and every task x every method on one model: plan() checks the
# model config independently of the task, so the full product (1,500 compositions, minutes) adds nothing.
TEMPLATED = set(DEFAULT_TEMPLATES)  # tasks with a default template and label words (tasks/families/templates.py)
PAIRS = sorted({(m, "rte") for m in options("model")} | {("tiny-bert", t) for t in options("task")})


@pytest.mark.parametrize("model, task", PAIRS)
@pytest.mark.parametrize("method", options("method"))
def test_every_model_and_every_task_composes_and_validates(model, task, method, tmp_path):
    extra = ["model.name_or_path=org/some-model"] if model == "auto" else []  # model=auto: any checkpoint
    if task == "custom":  # a task of the user's own: its files
        from custom_fixtures import sentiment_args

        extra += sentiment_args(tmp_path / "data")[1:]
    cfg = compose_cfg(f"model={model}", f"task={task}", f"method={method}", f"output_dir={tmp_path}", *extra)
    if method == "ptv1" and task not in TEMPLATED:  # P-tuning reads a verbalizer: classification with labels
        with pytest.raises(PtuneError, match=r"verbalizer|template"):
            plan(cfg)
        return
    p = plan(cfg)
    assert (p.method.key, p.task.name, cfg.model.name) == (method, "mine" if task == "custom" else task, model)


def test_config_groups_are_the_registries():
    from ptune_exp.methods import METHODS
    from ptune_exp.tasks import TASKS

    assert options("method") == sorted(METHODS)
    # multi: several of them at once; custom: a task of the user's own
    assert options("task") == sorted({name for name, _ in TASKS} | {"multi", "custom"})


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
        ("seed=-1", "seed=-1: expected an integer from 0 to 4294967295"),
        ("seed=4294967296", "seed=4294967296: expected an integer from 0 to 4294967295"),
        ("task.max_seq_len=2", "task.max_seq_len=2: expected an integer > 2"),
        ("task.max_train_samples=-5", "task.max_train_samples=-5: expected an integer >= 1, or null for all"),
        ("task.max_train_samples=0", "task.max_train_samples=0: expected an integer >= 1, or null for all"),
        ("task.max_eval_samples=0", "task.max_eval_samples=0: expected an integer >= 1"),
        ("train.lr_scheduler=bogus", "train.lr_scheduler=bogus: expected one of linear, cosine"),
        ("train.lr_scheduler=cosin", "did you mean cosine?"),
        ("train.report_to=slack", "train.report_to=slack: expected one of none, all"),
        ("model.name=org/model", "model.name=org/model: expected a plain name"),
        ("model.name=../../escape", "model.name=../../escape: expected a plain name"),
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

    with pytest.raises(PtuneError, match=r"\['fft', 'ia3', 'lora', 'prefix', 'pt', 'ptv1', 'ptv2'\]"):
        get_method("bitfit")


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


@pytest.mark.parametrize("group, bad", [("method", "bitfit"), ("task", "sst3"), ("model", "gpt9")])
def test_unknown_choice_lists_the_available_options(group, bad):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException) as e:
        compose_cfg(f"{group}={bad}")
    message = str(e.value)
    assert f"Could not find '{group}/{bad}'" in message and f"Available options in '{group}'" in message
    assert {"method": "ptv2", "task": "rte", "model": "minilm"}[group] in message


def test_seed_bounds_and_null_sample_limits_are_accepted(tmp_path):
    for override in ("seed=0", "seed=4294967295", "task.max_train_samples=null"):
        assert plan(compose_cfg(override, f"output_dir={tmp_path}")).out_dir == str(tmp_path)


def test_report_to_an_integration_that_is_not_installed(tmp_path):
    import importlib.util

    absent = next(n for n in ("wandb", "clearml", "neptune", "comet_ml") if not importlib.util.find_spec(n))
    with pytest.raises(PtuneError, match=f"train.report_to={absent}: {absent} is not installed"):
        plan(compose_cfg(f"train.report_to={absent}", f"output_dir={tmp_path}"))


def test_unwritable_output_dir_fails_in_plan_and_a_failed_plan_creates_nothing(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PtuneError, match=r"output dir .*/file/run: cannot write there \(Not a directory\)"):
        plan(compose_cfg(f"output_dir={tmp_path}/file/run"))
    with pytest.raises(PtuneError, match="seed"):
        plan(compose_cfg("seed=-1", f"output_dir={tmp_path}/never"))
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["method.reparam=yes"], "method.reparam=yes: expected true or false"),
        (["method.reparam=1"], "method.reparam=1: expected true or false"),
        (["train.progress=maybe"], "train.progress=maybe: expected true or false"),
        (["method.reparam=true,yes"], "method.reparam=yes: expected true or false"),  # each value of a sweep
        (["task.label_all_tokens=1"], "task.label_all_tokens=1: expected true or false"),
        (["overwrite=on"], "overwrite=on: expected true or false"),
        (["model.name=../x"], "model.name=../x: expected a plain name"),
        (["method.name=a/b"], "method.name=a/b: expected a plain name"),
        (["method.lr=[1"], "method.lr=[1: cannot read this override"),
    ],
)
def test_overrides_are_checked_before_composition(overrides, words):
    from ptune_exp.config.usage import check_overrides

    with pytest.raises(PtuneError) as e:
        check_overrides(overrides)
    assert words in str(e.value)


def test_the_check_before_composition_leaves_types_and_ranges_to_the_schemas():
    from ptune_exp.config.usage import check_overrides

    check_overrides(["seed=xyz", "seed=-2", "train.batch_size=abc", "task.max_seq_len=null"])  # composition's


def test_good_overrides_pass_the_check():
    from ptune_exp.config.usage import check_overrides

    check_overrides(
        [
            "method.reparam=true",
            "seed=1,2,3",
            "seed=range(1,4)",
            "train.batch_size=${oc.env:BATCH,8}",
            "model.name=bert-large",
            "train.eval_steps=null",
            "train.resume=true",
            "~train.fsdp",
            "task.doc_stride=64",
            "hydra.run.dir=x",
        ]
    )


@pytest.mark.parametrize(
    "override, line",
    [
        ("method.prefix_lenght=8", "method.prefix_lenght: no such key; did you mean method.prefix_len?"),
        ("trian.epochs=3", "trian.epochs: no such key; did you mean train.epochs?"),
        ("task=squad task.doc_strid=3", "task.doc_strid: no such key; did you mean task.doc_stride?"),
        ("task.doc_stride=3", "task.doc_stride: no such key; see the keys with: ptune-exp --cfg job"),  # not QA
        ("seed=xyz", "seed=xyz: expected an integer"),
        ("seed=1.5", "seed=1.5: expected an integer"),
        ("overwrite=maybe", "overwrite=maybe: expected true or false"),
        ("task.max_seq_len=abc", "task.max_seq_len=abc: expected an integer"),
        ("task=squad_v2 task.null_threshold=x", "task.null_threshold=x: expected a number"),
        ("task=squad task.null_threshold=0.5", "task.null_threshold: no such key; see the keys with"),  # 2.0 only
        ("task=conll04 task.labels=O", "task.labels=O: expected a list of names"),
        ("task=multi task.data_dir=x", "task.data_dir: no such key; a member's options go in task.members.<task>"),
        ("seeed=3", "seeed: no such key; did you mean seed?"),
        ("method.zzz=3", "method.zzz: no such key; see the keys with: ptune-exp --cfg job"),
        ("train.batch_size=abc", "train.batch_size=abc: expected an integer"),
        ("method=bitfit", "method=bitfit: no such method; choose one of fft, ia3, lora, prefix, pt, ptv1, ptv2"),
        (
            "method=ptv3",
            "method=ptv3: no such method; did you mean method=ptv2? choose one of fft, ia3, lora, prefix, pt, ptv1, ptv2",
        ),
        ("seed=1,2", "seed=1,2: several values are a sweep: add -m"),
        ("task=sst3", "task=sst3: no such task; did you mean task=sst2? choose one of boolq, cb, cola, conll03,"),
        ("methods=fft", "methods: no such key; did you mean method?"),
        ("model.tiny.layers=x", "model.tiny.layers=x: expected an integer"),
    ],
)
def test_composition_errors_become_one_line_with_the_nearest_key(override, line):
    from ptune_exp.config.usage import explain

    with pytest.raises(Exception) as e:
        compose_cfg("model=tiny-bert", *override.split())
    assert explain(e.value).startswith(line) and "\n" not in explain(e.value)


@pytest.mark.parametrize("task", options("task"))
def test_each_task_preset_extends_its_familys_schema_and_holds_only_what_it_changes(task):
    import dataclasses

    import yaml
    from omegaconf import OmegaConf

    from ptune_exp.config.tasks import TASK_SCHEMAS
    from ptune_exp.tasks import family_of, get_task

    schema = OmegaConf.get_type(compose_cfg(f"task={task}").task)
    preset = yaml.safe_load(open(os.path.join(CONF, "task", f"{task}.yaml")))
    assert preset["defaults"][0] == next(f"{k}_base" for k, cls in TASK_SCHEMAS.items() if cls is schema)
    if task not in ("multi", "custom"):  # custom: the family it declares reads its options
        spec = get_task(task, preset.get("source"))
        assert family_of(spec).schema(spec) is schema  # the schema plan() checks task.* with
    defaults = {f.name: f.default for f in dataclasses.fields(schema)}
    assert all(value != defaults[key] for key, value in preset.items() if key not in ("defaults", "name"))


def test_multi_max_seq_len_null_means_each_members_own(tmp_path):
    multi = ("task=multi", "task.tasks=[conll03,squad]", f"output_dir={tmp_path}")
    p = plan(compose_cfg(*multi, "task.max_seq_len=null"))
    assert [m.data.max_seq_len for m in p.task.members] == [128, 384] and p.data.max_seq_len == 384
    p = plan(compose_cfg(*multi, "task.max_seq_len=64"))
    assert [m.data.max_seq_len for m in p.task.members] == [64, 64]
    assert p.task.members[1].task.doc_stride == 128  # a member's family options: its schema's defaults


def test_a_schema_checks_a_plain_mapping_as_composition_does():
    from ptune_exp.config.schema import ModelConfig, TrainConfig

    with pytest.raises(PtuneError, match=r"^train.batch_size=abc: expected an integer$"):
        TrainConfig.from_cfg({"batch_size": "abc"})
    with pytest.raises(PtuneError, match=r"^train.batch_size and train.eval_batch_size must be > 0$"):
        TrainConfig.from_cfg({"batch_size": 0})  # a range: the schema's __post_init__
    with pytest.raises(PtuneError, match=r"^model.tiny.layrs: no such key in the model config; did you mean model"):
        ModelConfig.from_cfg({"name": "t", "tiny": {"arch": "bert", "layrs": 2}})
    with pytest.raises(PtuneError, match=r"^model.name: missing; the model config needs a value for it$"):
        ModelConfig.from_cfg({"tiny": {"arch": "bert"}})
