"""The bad-input corpus (tests/corpus.py): every case ends in its exit status and one clear line."""

import importlib
import json
import pkgutil
from pathlib import Path

import pytest

from corpus import SMOKE, Paths, check, fresh_paths, run_case

HERE = Path(__file__).parent
TABLES = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bad_inputs_"))
CASES = [case for name in TABLES for case in importlib.import_module(name).CASES]


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Paths:
    """One completed tiny run (checkpoint kept) and its export, copied afresh for every case."""
    from conftest import compose_cfg
    from ptune_exp.artifacts.export import export_run
    from ptune_exp.pipeline.run import run

    root = tmp_path_factory.mktemp("trained")
    cfg = compose_cfg(*SMOKE, f"output_dir={root / 'run'}", "train.keep_checkpoints=true")
    run(cfg)
    export = export_run(str(root / "run"), str(root / "export"))
    return Paths(root, root / "run", Path(export))


def test_the_corpus_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert len(CASES) >= 80, f"{len(CASES)} cases"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, trained, tmp_path):
    paths = fresh_paths(trained, tmp_path)
    check(case, run_case(case, paths))
    if case.verify is not None:
        case.verify(paths)


def test_the_trained_run_is_complete(trained):
    record = json.loads((trained.run / "metrics.json").read_text())
    assert record["status"] == "completed" and any(p.name.startswith("checkpoint-") for p in trained.run.iterdir())
