"""Corpus: faults and hostile files (issue 31): a model folder's own code, non-finite weights, weights that
are not regular files, a full disk under every file the tools write, values beyond sane bounds."""

import builtins
import contextlib
import errno
import json
import os
import re
from pathlib import Path
from unittest import mock

import torch
from safetensors.torch import load_file, save_file

from corpus import SMOKE, Case
from ptune_exp.storage.weights import sha256_file

HYDRA = "hydra.run.dir={tmp}/hydra"
FULL = "No space left on device"


def cli(id, *args, message="", exit=2, setup=None, verify=None, during=None):
    keys = {a.split("=", 1)[0] for a in args}
    smoke = [s for s in SMOKE if s.split("=", 1)[0] not in keys]
    return Case(f"faults-{id}", "ptune-exp", (*smoke, HYDRA, *args), exit, message, setup, verify, during=during)


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------- a model folder's own code (finding 1)

CUSTOM_CODE = """import pathlib
pathlib.Path({marker!r}).write_text("the model folder's code ran")
from transformers import PretrainedConfig


class CustomConfig(PretrainedConfig):
    model_type = "custom"
"""


def custom_code_record(p) -> None:
    """The run's record names a model folder that ships code (auto_map), with trust_remote_code: true."""
    folder = p.tmp / "custom_model"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "custom", "auto_map": {"AutoConfig": "code.CustomConfig"}})
    )
    (folder / "code.py").write_text(CUSTOM_CODE.format(marker=str(p.tmp / "RAN")))
    model = {"name_or_path": str(folder), "tiny": None, "package": None, "trust_remote_code": True}
    _edit(p.run / "metrics.json", lambda r: r["config"]["model"].update(model))


def no_code_ran(p) -> None:
    assert not (p.tmp / "RAN").exists(), "the model folder's own code ran"
    meta = json.loads((p.tmp / "out" / "export.json").read_text())
    assert meta["model"]["trust_remote_code"] is False, "the export inherited trust_remote_code from the record"


# ---------------------------------------------------------------- non-finite weights (finding 3)


def poison(where: str, value: float, prefix: str):
    """Put `value` (NaN, inf) into the first tensor named `prefix*` of the run's or the export's weights,
    and update the digest its record or export.json holds, so that only the values are wrong."""

    def setup(p):
        folder, weights, meta = {
            "run": (p.run, "trainable.safetensors", "metrics.json"),
            "export": (p.export, "weights.safetensors", "export.json"),
        }[where]
        state = load_file(folder / weights)
        name = sorted(k for k in state if k.startswith(prefix))[0]
        state[name] = state[name].clone().view(-1).index_fill(0, torch.tensor([0]), value).view(state[name].shape)
        save_file(state, folder / weights)
        _edit(folder / meta, lambda m: m.update(weights_sha256=sha256_file(folder / weights)))

    return setup


def link_to_dev_zero(where: str, name: str):
    def setup(p):
        path = getattr(p, where) / name
        path.unlink()
        path.symlink_to("/dev/zero")

    return setup


# ---------------------------------------------------------------- a full disk (findings 4, 9)


@contextlib.contextmanager
def disk_full(folder: Path, after=None):
    """Writes of files under `folder` fail with ENOSPC (Python's open for writing, and fsync), from the
    start, or once `after` (a `module.attr` that writes, e.g. a checkpoint) has been called and failed."""
    real_open, real_fsync, full = builtins.open, os.fsync, [after is None]

    class Failing:
        def __init__(self, f):
            self._f = f

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, FULL)

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        inside = isinstance(file, (str, os.PathLike)) and str(os.path.abspath(file)).startswith(str(folder))
        return Failing(f) if full[0] and inside and any(c in mode for c in "wax") else f

    def fake_fsync(fd):
        if full[0]:
            raise OSError(errno.ENOSPC, FULL)
        return real_fsync(fd)

    def then_full(*args, **kwargs):
        full[0] = True
        raise OSError(errno.ENOSPC, FULL)

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(builtins, "open", fake_open))
        stack.enter_context(mock.patch.object(os, "fsync", fake_fsync))
        if after is not None:
            stack.enter_context(mock.patch(after, then_full))
        yield


EARLIER = {"table.json": '{"earlier": true}\n', "table.csv": "earlier\n", "table.tex": "earlier\n"}


def earlier_files(p) -> None:
    for name, text in EARLIER.items():
        (p.tmp / name).write_text(text)


def earlier_files_intact(p) -> None:
    for name, text in EARLIER.items():
        assert (p.tmp / name).read_text() == text, f"{name} was damaged by the failed write"
    assert not [f for f in os.listdir(p.tmp) if f.endswith(".tmp")], os.listdir(p.tmp)


def compare_full(flag: str, name: str) -> Case:
    return Case(
        f"faults-compare-disk-full-{flag}",
        "ptune-exp-compare",
        ("{run}", f"--{flag}", f"{{tmp}}/{name}"),
        2,
        rf"cannot write \S+/work/{re.escape(name)} \({FULL}\); it was left as it was",
        earlier_files,
        earlier_files_intact,
        during=lambda p: disk_full(p.tmp),
    )


def export_intact(p) -> None:
    meta = json.loads((p.export / "export.json").read_text())
    assert meta["weights_sha256"] == sha256_file(p.export / "weights.safetensors")
    assert not [f for f in os.listdir(p.export) if f.endswith(".tmp")], os.listdir(p.export)


def no_temporary_files(p) -> None:
    left = [f for f in os.listdir(p.run) if f.endswith(".tmp")]
    assert not left, f"temporary files left in the run dir: {left}"


def stale_record_tmp(p) -> None:
    """A run killed while writing its record left a temporary file; its record says interrupted."""
    (p.run / "metrics.json.999999.tmp").write_text("")
    _edit(p.run / "metrics.json", lambda r: r.update(status="interrupted"))


def strict_json_everywhere(p) -> None:
    """Every JSON file the tools wrote parses with a strict parser (no bare NaN/Infinity)."""

    def refuse(name):
        raise ValueError(f"bare {name}")

    written = [p.tmp / "table.json", *p.run.rglob("*.jsonl"), *p.export.rglob("*.json")]
    for path in written:
        text = path.read_text()
        lines = text.splitlines() if path.suffix == ".jsonl" else [text]
        for line in lines:
            json.loads(line, parse_constant=refuse)


NAN, INF = float("nan"), float("inf")
CASES = [
    # finding 1: nothing runs a model folder's code without --trust-remote-code on the command line
    Case(
        "faults-export-custom-code-record-trusts",
        "ptune-exp-export",
        ("{run}", "{tmp}/out"),
        0,
        r"no backbone fingerprint .*custom code",
        custom_code_record,
        no_code_ran,
        stdin="y\ny\ny\n",  # a user answering yes to transformers' question, which must never be asked
    ),
    # finding 3: non-finite weights refused by name, wherever they are read
    Case(
        "faults-predict-nan-head",
        "ptune-exp-predict",
        ("{export}", "{tmp}/in.jsonl"),
        2,
        r"weights\.safetensors: tensor head\.\S+ holds 1 NaN or infinite value",
        lambda p: (poison("export", NAN, "head.")(p), (p.tmp / "in.jsonl").write_text('{"sentence": "good"}\n')),
    ),
    Case(
        "faults-predict-inf-prompt",
        "ptune-exp-predict",
        ("{export}", "{tmp}/in.jsonl"),
        2,
        r"tensor prompt\.\S+ holds 1 NaN or infinite",
        lambda p: (poison("export", INF, "prompt.")(p), (p.tmp / "in.jsonl").write_text('{"sentence": "good"}\n')),
    ),
    Case(
        "faults-eval-nan-trainable",
        "ptune-exp-eval",
        ("{run}",),
        2,
        r"trainable\.safetensors: tensor \S+ holds 1 NaN",
        poison("run", NAN, "head."),
    ),
    Case(
        "faults-export-inf-trainable",
        "ptune-exp-export",
        ("{run}", "{tmp}/out"),
        2,
        r"tensor \S+ holds 1 NaN or inf",
        poison("run", -INF, "prompt."),
    ),
    cli(
        "init-from-nan-export",
        "method=ptv2",
        "method.init_from={export}",
        "output_dir={tmp}/run",
        message=r"weights\.safetensors: tensor prompt\.\S+ holds 1 NaN",
        setup=poison("export", NAN, "prompt."),
    ),
    Case(
        "faults-strict-json-written",
        "ptune-exp-compare",
        ("{run}", "--json", "{tmp}/table.json"),
        0,
        r"wrote .*table\.json",
        lambda p: _edit(p.run / "metrics.json", lambda r: r["dev"].update(accuracy=NAN)),
        strict_json_everywhere,
    ),
    # finding 9: a weights path that is not a regular file says what it is
    Case(
        "faults-eval-weights-dev-zero",
        "ptune-exp-eval",
        ("{run}",),
        2,
        r"trainable\.safetensors is not a regular file \(a link to /dev/zero\)",
        link_to_dev_zero("run", "trainable.safetensors"),
    ),
    Case(
        "faults-predict-weights-dev-zero",
        "ptune-exp-predict",
        ("{export}", "{tmp}/in.jsonl"),
        2,
        r"weights\.safetensors is not a regular file \(a link to /dev/zero\)",
        lambda p: (
            link_to_dev_zero("export", "weights.safetensors")(p),
            (p.tmp / "in.jsonl").write_text('{"sentence": "good"}\n'),
        ),
    ),
    # finding 4: a full disk under every file compare writes: the earlier file survives, the path is named
    compare_full("json", "table.json"),
    compare_full("csv", "table.csv"),
    compare_full("latex", "table.tex"),
    Case(
        "faults-export-disk-full",
        "ptune-exp-export",
        ("{run}", "{export}"),
        2,
        rf"could not write the export to \S+ \(cannot write \S+/export/\S+ \({FULL}\)",
        verify=export_intact,
        during=lambda p: disk_full(p.export),
    ),
    # finding 9: a full disk mid-run, and a record's temporary file left by a kill
    cli(
        "run-disk-full",
        "method=ptv2",
        "output_dir={run}",
        "overwrite=true",
        exit=1,
        message=r"its record could not be written .*metrics\.json \(No space left on device\).* train\.resume=",
        verify=no_temporary_files,
        during=lambda p: disk_full(p.run, after="ptune_exp.pipeline.trainer.save_file"),
    ),
    cli(
        "resume-removes-a-stale-record-tmp",
        "train.resume={run}",
        exit=0,
        message=r"record: .*metrics\.json",
        setup=stale_record_tmp,
        verify=no_temporary_files,
    ),
    cli(
        "lr-from-environment", "method.lr=${{oc.env:HOME}}", message=r"method\.lr: .*oc\.env:HOME.* converted to Float"
    ),
    # finding 8: budgets beyond a sane bound, refused before any job starts
    cli("max-steps-beyond-bound", "train.max_steps=100000000000", message=r"beyond the bound of 10,000,000 steps"),
    cli(
        "epochs-beyond-bound", "train.epochs=1e9", message=r"train\.epochs=1000000000\.0 is beyond the bound of 10,000"
    ),
    cli("epochs-infinite", "train.epochs=inf", message=r"train\.epochs=inf is beyond the bound"),
]
