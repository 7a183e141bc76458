"""`ptune-exp`: a thin Hydra wrapper. compose -> run(cfg) -> print the result -> return the metric."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from ptune_exp.config import register_schemas
from ptune_exp.errors import PtuneError

log = logging.getLogger("ptune_exp")


def summary(record: dict) -> str:
    """A few human lines about a finished run."""
    main = record["main_metric"]
    sel = record["selection"]
    lines = [f"== {record['method']} on {record['task']} ({record['model']}), seed {record['seed']} =="]
    fmt = lambda scores: "  ".join(f"{k} {v:.2f}" for k, v in scores.items())
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


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from ptune_exp.run import run  # heavy imports after Hydra has parsed the command line (fast --help)

    try:
        record = run(cfg)
    except PtuneError as e:
        if _in_multirun():  # one bad run must not end the sweep; its record says why it failed
            log.error("run failed: %s", e)
            return None
        print(f"ptune-exp: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception:
        if _in_multirun():
            log.exception("run failed; continuing the sweep")
            return None
        raise
    print(summary(record), flush=True)
    return record["dev"][record["main_metric"]]


if __name__ == "__main__":
    main()
