"""Corpus: command-line and config values (`ptune-exp`), and record folders (`ptune-exp-compare`)."""

import importlib.util
import json

from corpus import SMOKE, Case

OUT = "hydra.run.dir={tmp}/out"
# an integration transformers knows that this machine lacks (wandb on a bare install)
ABSENT = next(n for n in ("wandb", "clearml", "neptune", "comet_ml", "dvclive") if not importlib.util.find_spec(n))


def cli(id, *args, message="", exit=2, setup=None):
    return Case(f"config-{id}", "ptune-exp", (*SMOKE, OUT, *args), exit, message, setup)


def compare(id, *args, message="", exit=0, setup=None):
    return Case(f"config-compare-{id}", "ptune-exp-compare", args, exit, message, setup)


def a_file(paths):
    (paths.tmp / "file").write_text("not a folder\n")


TYPED = [
    cli("seed-text", "seed=xyz", message=r"^ptune-exp: error: seed=xyz: expected an integer"),
    cli("seed-negative", "seed=-1", message=r"seed=-1: expected an integer from 0 to 4294967295"),
    cli("seed-too-big", "seed=4294967296", message=r"seed=4294967296: expected an integer from 0 to 4294967295"),
    cli("seed-float", "seed=1.5", message=r"seed=1.5: expected an integer"),
    cli("seed-two-values-without-m", "seed=1,2", message=r"seed=1,2: several values are a sweep: add -m"),
    cli("overwrite-yes", "overwrite=yes", message=r"overwrite=yes: expected true or false"),
    cli("method-lr-text", "method.lr=abc", message=r"method.lr=abc: expected a number"),
    Case(  # Hydra's flags come before the overrides
        "config-method-lr-text-cfg-job",
        "ptune-exp",
        ("--cfg", "job", *SMOKE, OUT, "method.lr=abc"),
        message=r"method.lr=abc: expected a number",
    ),
    Case("config-flags-conflict", "ptune-exp", ("-m", "--cfg", "job"), message=r"Only one of --run, --multirun, --cfg"),
    cli("delete-a-typed-key", "~method.lr", message=r"~method.lr: MethodConfig .* does not support deletion"),
    cli("flags-amid-overrides", "--cfg", "job", "seed=1", message=r"unrecognized arguments: seed=1"),
    cli("method-reparam-maybe", "method.reparam=maybe", message=r"method.reparam=maybe: expected true or false"),
    cli("method-reparam-yes", "method.reparam=yes", message=r"method.reparam=yes: expected true or false"),
    cli("method-reparam-one", "method.reparam=1", message=r"method.reparam=1: expected true or false"),
    cli("method-prefix_len-float", "method.prefix_len=1.5", message=r"method.prefix_len=1.5: expected an integer"),
    cli("model-tiny-layers-text", "model.tiny.layers=x", message=r"model.tiny.layers=x: expected an integer"),
    cli("model-trust-yes", "model.trust_remote_code=yes", message=r"model.trust_remote_code=yes: expected true"),
    cli("train-batch_size-text", "train.batch_size=abc", message=r"train.batch_size=abc: expected an integer"),
    cli("train-batch_size-float", "train.batch_size=1.5", message=r"train.batch_size=1.5: expected an integer"),
    cli("train-epochs-text", "train.epochs=many", message=r"train.epochs=many: expected a number"),
    cli("train-progress-maybe", "train.progress=maybe", message=r"train.progress=maybe: expected true or false"),
    cli(
        "train-eval_steps-text",
        "train.eval_steps=often",
        message=r"train.eval_steps=often: expected an integer or null",
    ),
    cli("task-max_seq_len-text", "task.max_seq_len=abc", message=r"task.max_seq_len=abc: expected an integer"),
]

RANGES = [
    cli("method-prefix_len-zero", "method.prefix_len=0", message="method.prefix_len=0 must be a positive number"),
    cli("method-prefix_dropout-one", "method.prefix_dropout=1.0", message=r"\[0, 1\)"),
    cli("method-lr-zero", "method.lr=0", message="must be > 0"),
    cli("train-select-worst", "train.select=worst", message="train.select"),
    cli("train-batch_size-zero", "train.batch_size=0", message=r"train.batch_size .* must be > 0"),
    cli("train-warmup-negative", "train.warmup=-1", message=r"train.warmup .* must be >= 0"),
    cli("train-lr_scheduler-bogus", "train.lr_scheduler=bogus", message=r"lr_scheduler=bogus: expected one of linear"),
    cli("train-lr_scheduler-typo", "train.lr_scheduler=cosin", message=r"lr_scheduler=cosin: did you mean cosine\?"),
    cli("train-report_to-absent", f"train.report_to={ABSENT}", message=rf"report_to={ABSENT}: .* not installed"),
    cli("train-report_to-unknown", "train.report_to=slack", message=r"train.report_to=slack: expected one of none"),
    cli("model-attn-flash", "model.attn_implementation=flash", message="sdpa or eager"),
    cli("task-max_seq_len-two", "task.max_seq_len=2", message=r"task.max_seq_len=2: expected an integer > 2"),
    cli("task-max_train-negative", "task.max_train_samples=-5", message=r"max_train_samples=-5: .* or null for all"),
    cli(
        "task-max_train-zero", "task.max_train_samples=0", message=r"task.max_train_samples=0: expected an integer >= 1"
    ),
    cli("task-max_eval-zero", "task.max_eval_samples=0", message=r"task.max_eval_samples=0: expected an integer >= 1"),
    cli("task-source-nope", "task.source=nope", message="task.source"),
    cli(
        "task-data_dir-missing", "task.data_dir={tmp}/nothing", message=r"task.data_dir=\S+/nothing is not a directory"
    ),
]

NAMES = [
    cli(
        "method-unknown",
        "method=bitfit",
        message=r"method=bitfit: no such method; choose one of fft, ia3, lora, prefix, pt, ptv1, ptv2$",
    ),
    cli("method-typo", "method=ptv3", message=r"method=ptv3: no such method; did you mean method=ptv2\?"),
    cli("model-unknown", "model=nope", message=r"model=nope: no such model; choose one of .*tiny-bert"),
    cli("task-unknown", "task=nope", message=r"task=nope: no such task; choose one of .*rte"),
    cli("task-typo", "task=rtee", message=r"task=rtee: no such task; did you mean task=rte\?"),
    cli("experiment-unknown", "experiment=nope", message=r"experiment=nope: no such experiment; choose one of"),
    cli("experiment-typo", "experiment=tabel", message=r"did you mean experiment=table\?"),
    cli("experiment-table-without-m", "experiment=table", message=r"experiment=table is a sweep over .*: add -m"),
    cli("launcher-unknown", "hydra/launcher=nope", message=r"hydra/launcher=nope: no such hydra/launcher"),
    cli(
        "method-key-typo",
        "method.prefix_lenght=8",
        message=r"method.prefix_lenght: no such key; did you mean method.prefix_len\?$",
    ),
    cli("train-key-typo", "train.epoch=3", message=r"train.epoch: no such key; did you mean train.epochs\?"),
    cli("task-key-typo", "task.max_seq_length=64", message=r"task.max_seq_length: .*did you mean task.max_seq_len\?"),
    cli("group-key-typo", "trian.epochs=3", message=r"trian.epochs: no such key; did you mean train.epochs\?"),
    cli("top-level-key-typo", "seeed=3", message=r"seeed: no such key; did you mean seed\?"),
    cli("method-added-key", "+method.foo=1", message=r"method.foo: no such key in the method config"),
    cli("model-name-slash", "model.name=org/model", message=r"model.name=org/model: expected a plain name"),
    cli("model-name-escape", "model.name=../../escape", message=r"model.name=../../escape: expected a plain name"),
    cli("method-name-escape", "method.name=../x", message=r"method.name=../x: expected a plain name"),
    cli("task-name-escape", "task.name=../x", message=r"task.name=../x: expected a plain name"),
    cli("override-syntax", "method.lr=[1", message=r"method.lr=\[1: cannot read this override"),
    cli("flag-unknown-choice", "--cfg", "bogus", message=r"argument --cfg"),
]

PLACES = [
    cli("output_dir-under-a-file", "output_dir={tmp}/file/run", setup=a_file, message=r"output dir \S+: cannot write"),
    cli("run_dir-under-a-file", "hydra.run.dir={tmp}/file/run", setup=a_file, message=r"file/run: Not a directory"),
]


def good(model="tiny-bert", **changes) -> dict:
    """A completed record as ptune-exp writes it, reduced to what compare reads."""
    record = {
        "status": "completed",
        "model": model,
        "task": "rte",
        "task_source": "glue",
        "seed": 1,
        "method": "ptv2",
        "method_title": "P-Tuning v2",
        "family": "classification",
        "metrics": ["accuracy"],
        "main_metric": "accuracy",
        "dev": {"accuracy": 61.5},
        "test": None,
        "params": {"trainable_pct": 0.2},
        "table1": {"deep": True},
        "method_config": {"name": "ptv2", "prefix_len": 8, "reparam": False},
        "finished_at": "2024-01-01T00:00:00",
    }
    return {**record, **changes}


def records(**files):
    """setup(): {tmp}/runs/good/metrics.json plus one folder per named file (a dict, or raw text)."""

    def write(paths):
        for name, content in {"good": good(), **files}.items():
            folder = paths.tmp / "runs" / name
            folder.mkdir(parents=True)
            text = content if isinstance(content, str) else json.dumps(content)
            (folder / "metrics.json").write_text(text)

    return write


def without(key):
    return {k: v for k, v in good().items() if k != key}


ROW = r"\| P-Tuning v2 \| 61\.5 \|"  # the good record's row: the table is still built
BROKEN = [
    ("list", "[1, 2, 3]", r"unreadable \| .*unreadable record: a JSON list, not an object \| \S+/bad/metrics.json"),
    ("null", "null", r"unreadable record: a JSON null, not an object \| \S+/bad/metrics.json"),
    ("truncated", '{"status": "compl', r"unreadable \| .*unreadable record: .* \| \S+/bad/metrics.json"),
    ("no-model", without("model"), r"invalid \| .*invalid record: `model` is missing \| \S+/bad/metrics.json"),
    ("dev-list", good(dev=[1, 2]), r"invalid record: `dev` is list, not a mapping"),
    ("dev-text", good(dev={"accuracy": "high"}), r"invalid record: `dev` scores of \['accuracy'\] are not numbers"),
    ("dev-none", good(dev=None), r"invalid record: `dev` is NoneType"),
    ("no-params", without("params"), r"invalid record: `params.trainable_pct` is missing"),
    ("seed-text", good(seed="one"), r"invalid record: `seed`='one' is not an integer"),
    ("config-list", good(config=[1]), r"invalid record: `config` .* is not a mapping"),
    ("accuracy-huge", good(dev={"accuracy": 1e308}), r"invalid \| .*`dev` accuracy=1e\+308 is outside \[0, 100\]"),
    ("accuracy-negative", good(dev={"accuracy": -5}), r"invalid record: `dev` accuracy=-5 is outside \[0, 100\]"),
    ("accuracy-over", good(dev={"accuracy": 100.5}), r"`dev` accuracy=100.5 is outside \[0, 100\] \| \S+/bad/"),
    ("f1-test-over", good(metrics=["f1"], main_metric="f1", dev={"f1": 50}, test={"f1": 101}), r"`test` f1=101 "),
    ("mcc-under", good(metrics=["mcc"], main_metric="mcc", dev={"mcc": -100.5}), r"`dev` mcc=-100.5 is outside \[-100"),
    ("extra-over", good(extra={"dev_brown": {"accuracy": 300}}), r"`extra.dev_brown` accuracy=300 is outside"),
    ("extra-text", good(extra={"dev_brown": {"accuracy": "x"}}), r"`extra.dev_brown` scores of \['accuracy'\] are not"),
]


def one_line_table(markdown_row: str) -> str:
    """A regex: the table's header line as markdown_row, with nothing but the table around it."""
    return rf"(?m)^\| method \| {markdown_row} \|"


COMPARE = [
    *(
        compare(f"record-{id}", "{tmp}/runs", setup=records(bad=content), message=rf"(?s){ROW}.*{why}")
        for id, content, why in BROKEN
    ),
    compare(
        "plot-model-with-slash",
        *("{tmp}/runs", "--plot", "{tmp}/plots"),
        setup=records(other=good(model="org/model")),
        message=r"wrote \S+/plots/methods_org_model-[0-9a-f]{8}\.png",
    ),
    compare(
        "plot-model-escaping",
        *("{tmp}/runs", "--plot", "{tmp}/plots"),
        setup=records(other=good(model="../../escape")),
        message=r"wrote \S+/plots/methods_\.\._\.\._escape-[0-9a-f]{8}\.png",
    ),
    compare(
        "correlation-negative-kept",  # -40 is a valid Pearson correlation: in the table, not invalid
        "{tmp}/runs",
        setup=records(stsb=good(task="stsb", metrics=["pearson"], main_metric="pearson", dev={"pearson": -40.0})),
        message=r"(?s)\| P-Tuning v2 \| 61\.5 \| -40\.0 \|(?!.*invalid)",
    ),
    compare(
        "task-name-pipe-newline",
        "{tmp}/runs",
        setup=records(other=good(task="x|y\nz")),
        message=one_line_table(r"rte acc \[dev\] \| x\\\|y z acc \[dev\] \| Avg \| trainable %"),
    ),
    compare(
        "method-title-pipe-newline",
        "{tmp}/runs",
        setup=records(other=good(method="pt", method_title="P|T\nv1")),
        message=r"(?m)^\| P\\\|T v1 \| \*\*61\.5\*\* \|",
    ),
    compare("path-missing", "{tmp}/nothing", exit=2, message=r"\S+/nothing: no such file or directory"),
    compare("csv-folder-missing", "{tmp}/runs", "--csv", "{tmp}/no/t.csv", setup=records(), exit=2, message="--csv"),
    compare("no-records", "{tmp}", exit=1, message=r"no metrics.json under"),
    compare("split-bogus", "{tmp}", "--split", "bogus", exit=2, message=r"argument --split: invalid choice"),
]

CASES = [*TYPED, *RANGES, *NAMES, *PLACES, *COMPARE]
