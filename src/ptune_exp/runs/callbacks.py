"""The run lifecycle's Trainer callbacks: a graceful stop on SIGINT/SIGTERM (`GracefulStop`) and the run's
bookkeeping in every checkpoint (`RunLog`, writing `run.json`, which a resume checks)."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ptune_exp.runs.records import loss_curve, mean_loss
from ptune_exp.storage.files import write_json

RUN_FILE = "run.json"  # in each checkpoint, written last: what a resume must match (see checkpoints.py)


class Signalled(BaseException):
    """SIGINT/SIGTERM outside the training loop: raised at once, so the run ends (and is recorded) now.
    A BaseException, like KeyboardInterrupt, so that no `except Exception` in a library swallows it."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


class GracefulStop(TrainerCallback):
    """SIGINT/SIGTERM (Ctrl-C, Slurm pre-emption) for the whole run. In the training loop (`training`):
    finish the step, save a checkpoint, stop; a second signal stops at once. Elsewhere (loading data,
    building the model, evaluating): stop at once by raising `Signalled`. While `holding` (the final
    record is being written), a signal is only noted."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signal: int | None = None
        self.training = False
        self.holding = False
        self._previous: dict = {}

    def __enter__(self) -> GracefulStop:
        for sig in self.SIGNALS:
            # not the main thread (e.g. some launchers): no graceful stop there
            with contextlib.suppress(ValueError):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        first = self.signal is None
        self.signal = signum
        if self.holding or (self.training and first):
            return
        raise Signalled(signum)

    def on_step_end(self, args, state, control, **kwargs):
        if self.signal is not None:
            control.should_save = True
            control.should_training_stop = True


class RunLog(TrainerCallback):
    """The run's bookkeeping inside the Trainer. It logs at every save and at the last step, so the loss
    history covers every step however a run is cut into segments; it keeps the Trainer state (whose
    `log_history` a resumed Trainer restores) and the segment's training time; and it writes `run.json`
    into every checkpoint, last: `info` (the settings a resume must match, the earlier segments) plus
    this segment so far."""

    def __init__(self, info: dict, segment: dict, started: float):
        self.info, self.segment, self.started = info, segment, started
        self.state = None
        self._began: float | None = None
        self._runtime = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.state, self._began = state, time.time()

    def on_step_end(self, args, state, control, **kwargs):
        self.state = state
        if control.should_save or control.should_training_stop:
            control.should_log = True

    def on_train_end(self, args, state, control, **kwargs):
        self.runtime_s()
        self._began = None

    def runtime_s(self) -> float:
        if self._began is not None:
            self._runtime = time.time() - self._began
        return round(self._runtime, 2)

    def losses(self) -> list[dict]:
        return loss_curve(self.state.log_history) if self.state is not None else []

    def on_save(self, args, state, control, **kwargs):
        folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if not args.should_save or not os.path.isdir(folder):
            return
        first = self.segment["steps"][0]
        segment = {**self.segment, "steps": [first, state.global_step], "status": "checkpointed"}
        segment.update(
            loss=mean_loss(self.losses(), first, state.global_step),
            runtime_s=self.runtime_s(),
            wall_time_s=round(time.time() - self.started, 2),
        )
        info = {**self.info, "segments": [*self.info.get("segments", ()), segment]}
        write_json(os.path.join(folder, RUN_FILE), info, indent=1, default=str)
