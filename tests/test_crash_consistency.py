"""Crash consistency: a run killed at any phase boundary (no signal handler, no `finally`: the process just
ends, as with SIGKILL or a power cut) and then resumed with train.resume=DIR ends with the same weights,
predictions and record as a run that was never stopped.

Each kill happens in a forked child (os._exit at the boundary); the resume runs in this process."""

import json
import os
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import TrainerCallback

from conftest import SMOKE, compose_cfg
from ptune_exp.pipeline.run import run

# 16 examples, batch 4: 4 steps an epoch; 5 steps end mid-epoch (the Trainer would train a 6th on resume)
SHORT = [*SMOKE, "method=ptv2", "train.max_steps=5", "train.eval_steps=2", "train.select=best"]
# what differs between any two runs, or between a run and its resumed copy by construction
VARYING = {"started_at", "finished_at", "wall_time_s", "versions", "segments", "owner", "output_dir", "cost"}
VARYING |= {"resumed_from", "skipped_checkpoints", "git_commit"}


class KillAt(TrainerCallback):
    """Ends the process at once at a Trainer event of a given step (after the run's own callbacks)."""

    def __init__(self, event: str, step: int):
        self.step = step
        setattr(self, event, self._kill)

    def _kill(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os._exit(9)


def _exit_after(module, name):
    """Replace module.name with a version that runs, then ends the process."""
    real = getattr(module, name)

    def then_die(*args, **kwargs):
        real(*args, **kwargs)
        os._exit(9)

    setattr(module, name, then_die)


def _kill_after_build():
    import ptune_exp.pipeline.run as r

    _exit_after(r, "build")


def _kill_while_saving_checkpoint_4():
    """The checkpoint's weights are written, its optimizer, scheduler, state and run.json are not."""
    from ptune_exp.pipeline.trainer import PromptTrainer

    real = PromptTrainer._save

    def save(self, output_dir=None, state_dict=None):
        real(self, output_dir, state_dict)
        if self.state.global_step == 4:
            os._exit(9)

    PromptTrainer._save = save


def _kill_after_the_weights():
    import ptune_exp.pipeline.engine as e

    _exit_after(e, "save_weights")


def _kill_while_writing_the_record():
    """The final record's temporary file is written; the rename never happens."""
    real = os.replace

    def replace(src, dst):
        if dst.endswith("metrics.json") and json.loads(Path(src).read_text())["status"] != "running":
            os._exit(9)
        real(src, dst)

    os.replace = replace  # in the child only


PHASES = {
    "after-build": (_kill_after_build, None),
    "mid-epoch": (None, KillAt("on_step_end", 3)),
    "after-checkpoint-2": (None, KillAt("on_save", 2)),
    "while-writing-checkpoint-4": (_kill_while_saving_checkpoint_4, None),
    "after-checkpoint-4": (None, KillAt("on_save", 4)),
    "after-the-final-checkpoint": (None, KillAt("on_save", 5)),
    "after-training": (None, KillAt("on_train_end", 5)),
    "after-the-weights": (_kill_after_the_weights, None),
    "while-writing-the-record": (_kill_while_writing_the_record, None),
}


def _killed_run(out: Path, patch, callback) -> None:
    pid = os.fork()
    if pid == 0:  # the child: train until the kill; reaching the end is a failure of the test
        try:
            import torch

            torch.set_num_threads(1)
            if patch:
                patch()
            run(compose_cfg(*SHORT, f"output_dir={out}"), callbacks=[callback] if callback else [])
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the run was not killed where asked (status {status})"


def _same(record: dict) -> dict:
    kept = {k: v for k, v in record.items() if k not in VARYING}
    kept["train"] = {k: v for k, v in record["train"].items() if k not in ("runtime_s", "segments")}
    config = json.loads(json.dumps(record["config"]))
    config.pop("output_dir", None)
    config["train"].pop("resume", None)
    kept["config"] = config
    return kept


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("crash") / "full"
    return run(compose_cfg(*SHORT, f"output_dir={out}")), out


@pytest.mark.slow
@pytest.mark.parametrize("phase", list(PHASES))
def test_killed_at_any_phase_and_resumed_it_ends_as_if_never_stopped(phase, uninterrupted, tmp_path):
    full, full_dir = uninterrupted
    out = tmp_path / "killed"
    _killed_run(out, *PHASES[phase])
    assert json.loads((out / "metrics.json").read_text())["status"] == "running"  # as a kill leaves it

    resumed = run(compose_cfg(*SHORT, f"train.resume={out}"))

    assert resumed["status"] == "completed" and resumed["train"]["steps"] == 5
    assert _same(resumed) == _same(full)
    assert _same(json.loads((out / "metrics.json").read_text())) == _same(full)
    a, b = load_file(full_dir / "trainable.safetensors"), load_file(out / "trainable.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    for name in full["predictions"].values():
        assert (out / name).read_bytes() == (full_dir / name).read_bytes()
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.endswith(".tmp") or n.startswith("checkpoint-")], left
