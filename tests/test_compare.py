"""ptune-exp-compare on records of real tiny runs: right aggregates, failures listed, outputs parse."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptune_exp.compare import build_tables
from ptune_exp.compare import main as compare_main
from ptune_exp.records import read_records

BIN = Path(sys.executable).parent
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]


def cli(*args, cwd):
    return subprocess.Popen(
        [str(BIN / "ptune-exp"), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2 methods x 2 prefix lengths x 2 seeds sweep, a diverging run, and two runs started at once."""
    root = tmp_path_factory.mktemp("compare")
    sweep = cli(
        "-m",
        "method=pt,ptv2",
        "method.prefix_len=2,4",
        "seed=1,2",
        *SMOKE,
        f"hydra.sweep.dir={root}/outputs/sweep",
        cwd=root,
    )
    assert sweep.wait(timeout=600) == 0, sweep.stderr.read()[-3000:]
    bad = cli(
        "method=ptv2",
        "method.lr=1e30",
        "train.max_grad_norm=1e30",
        "train.max_steps=6",
        *SMOKE[:1],
        *SMOKE[2:],
        "train.batch_size=4",
        "train.logging_steps=1",
        f"hydra.run.dir={root}/outputs/diverged",
        cwd=root,
    )
    assert bad.wait(timeout=600) != 0
    together = [cli("method=fft", *SMOKE, cwd=root) for _ in range(2)]  # default run dirs, same second
    assert all(p.wait(timeout=600) == 0 for p in together)
    return root


def test_two_runs_started_at_once_both_land(runs):
    records = [r for r in read_records([str(runs / "outputs" / "runs")]) if r["method"] == "fft"]
    assert len(records) == 2 and all(r["status"] == "completed" for r in records)
    assert len({r["record_path"] for r in records}) == 2


def test_means_and_stds_match_an_independent_computation(runs):
    raw = [json.loads(p.read_text()) for p in (runs / "outputs" / "sweep").rglob("metrics.json")]
    assert len(raw) == 8
    out = runs / "table.json"
    assert compare_main([str(runs / "outputs"), "--json", str(out)]) == 0
    table = json.loads(out.read_text())["tables"][0]
    rows = {(r["method"], r["variant"].get("prefix_len")): r for r in table["rows"]}
    split = table["splits"]["synth_sentiment"]
    for method in ("pt", "ptv2"):
        for plen in (2, 4):
            values = [
                r[split]["accuracy"] for r in raw if r["method"] == method and r["method_config"]["prefix_len"] == plen
            ]
            cell = rows[(method, plen)]["cells"]["synth_sentiment"]["accuracy"]
            assert cell["n"] == 2
            assert cell["mean"] == pytest.approx(np.mean(values))
            assert cell["std"] == pytest.approx(np.std(values, ddof=1))
    # the two concurrent fft runs share seed 42: a re-run of the same configuration supersedes, n stays 1
    assert rows[("fft", None)]["cells"]["synth_sentiment"]["accuracy"]["n"] == 1


def test_failed_run_is_listed_not_averaged(runs, capsys):
    assert compare_main([str(runs / "outputs")]) == 0
    text = capsys.readouterr().out
    failed_part = text.split("### Failed or unfinished runs")[1]
    assert "TrainingDiverged" in failed_part and "diverged" in failed_part
    tables = build_tables(read_records([str(runs / "outputs")]))
    assert all(r["status"] == "completed" for t in tables for row in t.rows for r in row.records)


def test_every_output_format_parses(runs, tmp_path):
    paths = {ext: tmp_path / f"t.{ext}" for ext in ("csv", "json", "tex")}
    argv = [
        str(runs / "outputs"),
        "--delta",
        "--csv",
        str(paths["csv"]),
        "--json",
        str(paths["json"]),
        "--latex",
        str(paths["tex"]),
        "--plot",
        str(tmp_path / "plots"),
    ]
    assert compare_main(argv) == 0
    rows = list(csv.DictReader(paths["csv"].open()))
    assert {r["method"] for r in rows} == {"fft", "pt", "ptv2"} and all(float(r["mean"]) >= 0 for r in rows)
    assert json.loads(paths["json"].read_text())["failed"]
    tex = paths["tex"].read_text()
    assert tex.count("\\begin{tabular}") == tex.count("\\end{tabular}") == 1 and "\\pm" in tex
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert {p.name for p in pngs} == {"methods_tiny-bert.png", "prefix_len_tiny-bert_synth_sentiment.png"}
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_markdown_marks_rows_variants_and_best(runs, capsys):
    compare_main([str(runs / "outputs"), "--method", "ptv2", "--method", "fft"])
    text = capsys.readouterr().out
    assert "| P-Tuning v2 [prefix_len=2] |" in text and "| P-Tuning v2 [prefix_len=4] |" in text
    assert "| Fine-tuning |" in text and "Prompt tuning" not in text
    assert "**" in text  # the best cell of the column


def test_paper_reference_rows(tmp_path):
    record = {
        "status": "completed",
        "model": "roberta-large",
        "task": "boolq",
        "task_source": "superglue",
        "seed": 1,
        "method": "ptv2",
        "method_title": "P-Tuning v2",
        "family": "classification",
        "metrics": ["accuracy"],
        "main_metric": "accuracy",
        "dev": {"accuracy": 80.0},
        "test": None,
        "params": {"trainable_pct": 0.3},
        "table1": {"deep": True},
        "method_config": {"prefix_len": 8, "reparam": False},
        "finished_at": "x",
    }
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(record))
    table = build_tables(read_records([str(tmp_path)]), paper=True)[0]
    refs = {(m, s): c for m, s, c in table.references}
    assert refs[("ptv2", "official README re-run, best dev epoch")]["boolq"] == {"accuracy": 84.0}
    assert refs[("fft", "Liu et al. 2022, paper")]["boolq"] == {"accuracy": 86.9}


def test_no_records_is_a_clear_error(tmp_path, capsys):
    assert compare_main([str(tmp_path)]) == 1
    assert "no metrics.json" in capsys.readouterr().err


def _record(tmp_path, name, seed, acc, epochs, prefix_len=0, method="fft"):
    record = {
        "status": "completed",
        "model": "m",
        "task": "rte",
        "task_source": "glue",
        "seed": seed,
        "method": method,
        "method_title": method,
        "family": "classification",
        "metrics": ["accuracy"],
        "main_metric": "accuracy",
        "dev": {"accuracy": acc},
        "test": None,
        "params": {"trainable_pct": 1.0},
        "table1": {"deep": False},
        "method_config": {"name": method, "lr": 0.01, "prefix_len": prefix_len, "reparam": False},
        "config": {"train": {"epochs": epochs, "progress": True}, "task": {"name": "rte", "data_dir": f"/d/{name}"}},
        "finished_at": name,
    }
    (tmp_path / name).mkdir()
    (tmp_path / name / "metrics.json").write_text(json.dumps(record))


def test_runs_with_different_budgets_are_never_averaged(tmp_path):
    _record(tmp_path, "a", 1, 50.0, epochs=2)
    _record(tmp_path, "b", 2, 60.0, epochs=2)
    _record(tmp_path, "c", 1, 90.0, epochs=30)  # same seed, ten times the budget: its own row
    rows = {r.label: r.cells["rte"]["accuracy"] for r in build_tables(read_records([str(tmp_path)]))[0].rows}
    assert sorted(rows) == ["fft [train.epochs=2]", "fft [train.epochs=30]"]
    assert (rows["fft [train.epochs=2]"].mean, rows["fft [train.epochs=2]"].n) == (55.0, 2)
    assert (rows["fft [train.epochs=30]"].mean, rows["fft [train.epochs=30]"].n) == (90.0, 1)
