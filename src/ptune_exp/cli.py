"""`ptune-exp`: a thin Hydra wrapper. compose -> run(cfg) -> print the result -> return the metric.

Exit status: 0 done; 2 a usage error (a bad key, value or choice, found before any model loads), printed
as the one line `ptune-exp: error: <what> <fix>`; 1 a run that failed (or, with -m, any failed job, once
every job has run). Never a traceback: a failed run's traceback goes to its log file. HYDRA_FULL_ERROR=1
in the environment lets Hydra's own errors and tracebacks through, for debugging.
"""

from __future__ import annotations

import logging
import os
import sys

import hydra
from omegaconf import DictConfig

from ptune_exp.config.names import register_resolvers
from ptune_exp.config.schema import register_schemas
from ptune_exp.config.usage import check_overrides, explain
from ptune_exp.errors import PtuneError, TrainingDiverged
from ptune_exp.runs import sweep

log = logging.getLogger("ptune_exp")


def summary(record: dict) -> str:
    """A few human lines about a finished run."""
    main = record["main_metric"]
    sel = record["selection"]
    lines = [f"== {record['method']} on {record['task']} ({record['model']}), seed {record['seed']} =="]
    fmt = lambda scores: "  ".join(  # a count (an int, e.g. windowed_sentences) shows only when it is not 0
        f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items() if isinstance(v, float) or v
    )
    lines.append(f"dev   {fmt(record['dev'])}   (selected: {sel['strategy']} dev {main} at step {sel['step']})")
    if record.get("test"):
        lines.append(f"test  {fmt(record['test'])}")
    for name, scores in (record.get("extra") or {}).items():
        lines.append(f"{name}  {fmt(scores)}")
    p = record["params"]
    lines.append(
        f"trainable {p['trainable']:,} of {p['total']:,} parameters ({p['trainable_pct']:.3f}%)"
        f"; {record['train']['steps']} steps in {record['wall_time_s']:.0f} s"
    )
    lines.append(f"record: {record['output_dir']}/metrics.json")
    return "\n".join(lines)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


register_schemas()  # the typed `<group>/base` schemas that conf/*/*.yaml extend
register_resolvers()  # ${ptune.model:} and ${ptune.task:}: the names of the run folders


def main() -> None:
    """The `ptune-exp` console script (see the module's doc for the exit statuses)."""
    code, message = _command(sys.argv[1:])
    if code and message:
        print(f"ptune-exp: error: {_one_line(message)}", file=sys.stderr, flush=True)
    if code:
        sys.exit(code)
    if message:
        print(f"ptune-exp: {message}", flush=True)


def _command(argv: list[str]) -> tuple[int, str | None]:
    """Run Hydra's command line; (exit status, last line). Hydra raises instead of printing its own
    multi-line errors (HYDRA_FULL_ERROR), so that they come out as one line."""
    user_asked = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        check_overrides(_overrides(argv))  # before Hydra creates the run dir
        sweep.start()
        _hydra_main()
        return sweep.outcome() or (0, None)
    except PtuneError as e:
        return 2, str(e)
    except Exception as e:
        if user_asked == "1":
            raise
        return _crashed(e)
    finally:
        if user_asked is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = user_asked


def _overrides(argv: list[str]) -> list[str]:
    """The `key=value` arguments, as Hydra's own parser reads them (a bad flag: argparse's usage error)."""
    from hydra._internal.utils import get_args_parser

    return list(get_args_parser().parse_args(argv).overrides)


def _crashed(error: Exception) -> tuple[int, str | None]:
    """An exception out of Hydra: composition and the run dir are usage errors; anything else failed."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(error, (HydraException, OmegaConfBaseException)):
        return 2, explain(error)
    if isinstance(error, ValueError):  # Hydra's own flags, used together wrongly (`-m --cfg job`)
        return 2, f"{error} (see ptune-exp --help)"
    if isinstance(error, BrokenPipeError):  # `ptune-exp --cfg job | head`: the reader has gone
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (so that the exit's flush does not fail again)
        return 1, None
    if isinstance(error, OSError):
        where = f"{error.filename}: {error.strerror}" if error.filename else str(error)
        return 2, f"{where}; choose a writable hydra.run.dir=DIR (hydra.sweep.dir=DIR with -m)"
    return 1, f"{type(error).__name__}: {error} (HYDRA_FULL_ERROR=1 shows the traceback)"


def _one_line(text) -> str:
    return " ".join(str(text).split())


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def _hydra_main(cfg: DictConfig) -> float | None:
    from ptune_exp.pipeline.run import run  # heavy imports after Hydra has parsed the command line (fast --help)

    multirun = _in_multirun()
    try:
        if not multirun:
            _refuse_a_sweep_without_m()
        record = run(cfg)
    except Exception as e:
        return _failed(cfg, e, multirun)
    if multirun:
        sweep.job_done(cfg, "completed")
    print(summary(record), flush=True)
    return record["dev"][record["main_metric"]]


def _failed(cfg: DictConfig, error: Exception, multirun: bool) -> None:
    """One line about a failed run (the traceback goes to the run's log file). A single run exits: 2 for
    bad input, 1 for a run that failed; in a sweep the job is marked failed and the sweep goes on."""
    from ptune_exp.pipeline.engine import Interrupted

    # a file that could not be written (a full disk) is a run that failed, not bad input
    usage = isinstance(error, PtuneError) and not isinstance(error, (TrainingDiverged, Interrupted, OSError))
    plain = usage or isinstance(error, Interrupted)  # an interruption says itself what to do next
    text = str(error) if plain else f"run failed: {type(error).__name__}: {error}; record: {sweep.record_of(cfg)}"
    line = _one_line(text)
    if multirun:  # one bad run must not end the sweep; its record and status say why it failed
        log.error("%s", line)  # the console and the job's log
        if not usage:
            _to_log_file("the traceback of that failure", error)
        sweep.job_done(cfg, "failed", line)
        return None
    _to_log_file(line, None if usage else error)
    print(f"ptune-exp: error: {line}", file=sys.stderr, flush=True)
    sys.exit(2 if usage else 1)


def _to_log_file(text: str, error: Exception | None) -> None:
    """The failure, with its traceback, into the run's log file only (not onto the console)."""
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, "%s", (text,), exc_info)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _refuse_a_sweep_without_m() -> None:
    """A preset that sweeps (`experiment=table`) run without -m would silently run one job of its grid."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    given = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
    axes = [k for k in hydra_cfg.sweeper.get("params") or {} if k not in given]
    if axes:
        preset = hydra_cfg.runtime.choices.get("experiment")
        source = f"experiment={preset}" if preset else "hydra.sweeper.params"
        raise PtuneError(f"{source} is a sweep over {', '.join(axes)}: add -m to run all its jobs (ptune-exp -m ...)")


if __name__ == "__main__":
    main()
