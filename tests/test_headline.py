"""The headline table (`ptune-exp-compare`'s default) on hand-made records: one row per method by the
documented choice rule (compare/search.py), the Avg column over the tasks every row has, n once, Δ with
its 95% Welch interval, every output in the headline shape; `--concepts` lists every registered method."""

import csv
import json
import math
from pathlib import Path

import pytest

from ptune_exp.compare import build_tables, markdown
from ptune_exp.compare import main as compare_main
from ptune_exp.compare.headline import headline, welch_interval
from ptune_exp.compare.table import Stat
from ptune_exp.runs.records import read_records

METRIC = {"rte": "accuracy", "cola": "mcc", "cb": "accuracy"}


def put(root: Path, name: str, score: float, seed: int = 1, method: str = "ptv2", task: str = "rte", **knobs):
    """A completed run's record in root/name; `knobs`: method settings (lr, prefix_len) and `epochs`;
    `overrides` / `sweeper`: the run dir's Hydra files (`.hydra/overrides.yaml`, `.hydra/hydra.yaml`)."""
    overrides, sweeper = knobs.pop("overrides", None), knobs.pop("sweeper", None)
    epochs, extra = knobs.pop("epochs", 10), knobs.pop("extra", {})
    record = {
        "status": "completed",
        "model": "m",
        "task": task,
        "task_source": "glue",
        "seed": seed,
        "method": method,
        "method_title": method,
        "family": "classification",
        "metrics": [METRIC[task]],
        "main_metric": METRIC[task],
        "dev": {METRIC[task]: score},
        "test": None,
        "params": {"trainable_pct": 100.0 if method == "fft" else 0.1},
        "table1": {"deep": method == "ptv2", "tuned": "x"},
        "method_config": {"name": method, "lr": 0.01, "prefix_len": 16, "reparam": False, **knobs},
        "config": {"train": {"epochs": epochs}, "task": {"name": task}},
        "finished_at": f"{name}-{seed}",
        **extra,
    }
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(record))
    if overrides is not None or sweeper is not None:
        (folder / ".hydra").mkdir()
    if overrides is not None:
        (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if sweeper is not None:
        choices = f"hparams_search: {'ptv2' if sweeper == 'optuna' else 'null'}\nhydra/sweeper: {sweeper}\n"
        (folder / ".hydra" / "hydra.yaml").write_text("hydra:\n  runtime:\n    choices:\n" + _indent(choices, 6))


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line + "\n" for line in text.splitlines())


def table_of(root: Path, search: bool = False):
    (variants,) = build_tables(read_records([str(root)]))
    return headline(variants, search=search)


def only_row(table, method="ptv2"):
    (row,) = [r for r in table.rows if r.method == method]
    return row


# ---------------------------------------------------------------- the choice rule, a case per branch


def test_a_search_shows_the_setting_best_on_dev_labelled(tmp_path):
    for i, (lr, dev) in enumerate([(0.001, 60.0), (0.03, 80.0), (0.01, 70.0)]):
        put(tmp_path, f"t{i}", dev, seed=1, lr=lr, sweeper="optuna", overrides=[f"method.lr={lr}"])
    put(tmp_path, "recipe-s2", 75.0, seed=2, lr=0.01)  # a second seed of one setting: the search still decides
    row = only_row(table_of(tmp_path))
    assert row.chosen == {"rte": {"lr": 0.03}} and row.chosen_by == {"rte": "best of 3 on dev"}
    assert row.cells["rte"]["accuracy"] == Stat(80.0, 0.0, 1) and row.label == "ptv2 (best of 3 on dev)"


def test_without_a_search_the_setting_with_most_seeds(tmp_path):
    for seed, score in enumerate([60.0, 62.0, 64.0], 1):
        put(tmp_path, f"a{seed}", score, seed=seed, lr=0.01)
    put(tmp_path, "probe", 90.0, seed=1, lr=0.1)  # one seed of a probe: higher, never preferred for it
    row = only_row(table_of(tmp_path))
    assert row.chosen == {"rte": {"lr": 0.01}} and row.chosen_by["rte"] == "most seeds (3), of 2 settings"
    assert (row.cells["rte"]["accuracy"].mean, row.cells["rte"]["accuracy"].n) == (62.0, 3)
    assert row.note == "" and row.label == "ptv2"
    # --best-of-search counts every setting as a trial: the probe, best on dev, wins
    assert only_row(table_of(tmp_path, search=True)).chosen_by["rte"] == "best of 2 on dev"


def test_equal_seeds_the_default_recipe(tmp_path):
    for seed in (1, 2):
        put(tmp_path, f"tuned{seed}", 80.0, seed=seed, lr=0.1, overrides=["task=rte", "method.lr=0.1"])
        put(tmp_path, f"recipe{seed}", 70.0, seed=seed, lr=0.01, overrides=["task=rte", f"seed={seed}"])
    row = only_row(table_of(tmp_path))
    assert row.chosen == {"rte": {"lr": 0.01}} and row.chosen_by["rte"].startswith("default recipe, of 2 settings")
    # a basic Hydra grid (hydra/sweeper: basic) is no search
    for seed in (1, 2):
        (tmp_path / f"tuned{seed}" / ".hydra" / "hydra.yaml").write_text(
            "hydra:\n  runtime:\n    choices:\n      hparams_search: null\n      hydra/sweeper: basic\n"
        )
    assert only_row(table_of(tmp_path)).chosen == {"rte": {"lr": 0.01}}


def test_equal_seeds_and_no_recorded_recipe_the_first_setting_said_so(tmp_path):
    put(tmp_path, "big", 80.0, prefix_len=64)
    put(tmp_path, "small", 70.0, prefix_len=4)
    row = only_row(table_of(tmp_path))
    assert row.chosen == {"rte": {"prefix_len": 4}}  # the table's order: prefix lengths ascending
    assert row.chosen_by["rte"] == "first of 2 settings with 1 seeds, none recorded as the default recipe"


def test_the_choice_is_per_task_and_listed_under_the_table(tmp_path, capsys):
    for seed in (1, 2):
        put(tmp_path, f"rte-a{seed}", 60.0 + seed, seed=seed, lr=0.01)
        put(tmp_path, f"cola-b{seed}", 40.0 + seed, seed=seed, lr=0.1, task="cola")
    put(tmp_path, "rte-b", 90.0, lr=0.1)
    put(tmp_path, "cola-a", 10.0, lr=0.01, task="cola")
    row = only_row(table_of(tmp_path))
    assert row.chosen == {"cola": {"lr": 0.1}, "rte": {"lr": 0.01}}
    assert {r["task"]: r["method_config"]["lr"] for r in row.records} == {"rte": 0.01, "cola": 0.1}
    assert compare_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "- ptv2, cola: lr=0.1 — most seeds (2), of 2 settings" in out
    assert "- ptv2, rte: lr=0.01 — most seeds (2), of 2 settings" in out
    assert [line for line in out.splitlines() if line.startswith("| ptv2")] == [
        "| ptv2 | 41.5 ± 0.7 | 61.5 ± 0.7 | 51.5 | 0.1 |"
    ]


def test_what_identifies_a_run_is_never_chosen_between(tmp_path):
    files = {"train": "a" * 64}
    put(tmp_path, "a", 60.0, extra={"data_sha256": files})
    put(tmp_path, "b", 90.0, extra={"data_sha256": {"train": "b" * 64}})  # other data: its own row
    put(tmp_path, "c", 70.0, head="verbalizer")  # another head: its own row
    put(tmp_path, "d", 50.0, reparam=True)  # reparameterised: its own row
    put(tmp_path, "e", 80.0, extra={"data_sha256": files}, lr=0.1)  # a setting: chosen between with "a"
    table = table_of(tmp_path)
    assert len(table.rows) == 4 and all(r.method == "ptv2" for r in table.rows)
    labels = sorted(r.label for r in table.rows)
    assert sum(label.startswith("ptv2 [data=") for label in labels) == 2 and "ptv2 + verbalizer" in labels


# ---------------------------------------------------------------- Avg, n, Δ


def test_avg_is_over_the_tasks_every_row_has(tmp_path, capsys):
    put(tmp_path, "p-rte", 70.0)
    put(tmp_path, "p-cola", 40.0, task="cola")
    put(tmp_path, "p-cb", 95.0, task="cb")  # only ptv2 has cb: not in the average
    put(tmp_path, "f-rte", 80.0, method="fft")
    put(tmp_path, "f-cola", 60.0, method="fft", task="cola")
    assert compare_main([str(tmp_path), "--delta"]) == 0
    lines = {line.split(" |")[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert lines["| method"] == "| method | cb acc [dev] | cola MCC [dev] | rte acc [dev] | Avg | trainable % |"
    # ptv2: (40 + 70) / 2 = 55.0; fft: (60 + 80) / 2 = 70.0; Δ: 55.0 - 70.0
    assert lines["| ptv2"] == "| ptv2 | **95.0** | 40.0 Δ-20.0 | 70.0 Δ-10.0 | 55.0 Δ-15.0 | 0.1 |"
    assert lines["| fft"] == "| fft | – | **60.0** | **80.0** | **70.0** | 100 |"


def test_no_avg_column_with_fewer_than_two_shared_tasks(tmp_path, capsys):
    put(tmp_path, "p-rte", 70.0)
    put(tmp_path, "f-cola", 60.0, method="fft", task="cola")
    assert compare_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| method | cola MCC [dev] | rte acc [dev] | trainable % |" in out and "Avg" not in out


def test_n_is_a_footnote_when_it_is_one_number_and_a_column_when_it_varies(tmp_path, capsys):
    for seed in (1, 2, 3):
        put(tmp_path, f"p{seed}", 70.0 + seed, seed=seed)
    put(tmp_path, "f", 60.0, method="fft")
    assert compare_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| method | rte acc [dev] | trainable % | n |" in out and "| ptv2 | **72.0 ± 1.0** | 0.1 | 3 |" in out
    assert "(n=" not in out
    (tmp_path / "f").rename(tmp_path.parent / "moved-away")
    assert compare_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| method | rte acc [dev] | trainable % |" in out and "n = 3 runs per cell" in out


def test_delta_has_a_95_percent_welch_interval_where_both_have_three_seeds(tmp_path, capsys):
    for seed, (p, f) in enumerate([(70.0, 60.0), (72.0, 62.0), (74.0, 64.0)], 1):
        put(tmp_path, f"p{seed}", p, seed=seed)
        put(tmp_path, f"f{seed}", f, seed=seed, method="fft")
    # means 72 and 62, sd 2 each: se = sqrt(4/3 + 4/3), Welch df = 4, t(0.975, 4) = 2.7764
    lo, hi = welch_interval(Stat(72.0, 2.0, 3), Stat(62.0, 2.0, 3))
    half = 2.7764451 * math.sqrt(8 / 3)
    assert (lo, hi) == pytest.approx((10.0 - half, 10.0 + half), abs=1e-5)
    assert compare_main([str(tmp_path), "--delta"]) == 0
    out = capsys.readouterr().out
    assert "| ptv2 | **72.0 ± 2.0 Δ+10.0 [+5.5, +14.5]** | 0.1 |" in out and "95% Welch t-interval" in out
    assert welch_interval(Stat(5.0, 0.0, 3), Stat(4.0, 0.0, 3)) == (1.0, 1.0)


# ---------------------------------------------------------------- views and outputs


def test_variants_is_todays_table(tmp_path, capsys):
    put(tmp_path, "a", 60.0, lr=0.01)
    put(tmp_path, "b", 70.0, lr=0.1)
    put(tmp_path, "f", 50.0, method="fft")
    assert compare_main([str(tmp_path), "--variants"]) == 0
    assert capsys.readouterr().out == markdown(build_tables(read_records([str(tmp_path)])), [])
    assert compare_main([str(tmp_path), "--variants", "--best-of-search"]) == 2
    assert "pass one of them" in capsys.readouterr().err


def test_every_output_shows_the_headline_by_default(tmp_path, capsys):
    runs = tmp_path / "runs"
    for seed in (1, 2):
        put(runs, f"a{seed}", 60.0 + seed, seed=seed, lr=0.01)
        put(runs, f"ca{seed}", 30.0 + seed, seed=seed, lr=0.01, task="cola")
        put(runs, f"f{seed}", 50.0 + seed, seed=seed, method="fft")
        put(runs, f"cf{seed}", 20.0 + seed, seed=seed, method="fft", task="cola")
    put(runs, "b", 70.0, lr=0.1)
    out = {k: tmp_path / f"t.{k}" for k in ("csv", "json", "tex")}
    argv = [str(runs), "--csv", str(out["csv"]), "--json", str(out["json"]), "--latex", str(out["tex"])]
    assert compare_main([*argv, "--report", str(tmp_path / "report")]) == 0
    table = json.loads(out["json"].read_text())["tables"][0]
    assert table["view"] == "headline" and table["average_over"] == ["cola", "rte"]
    assert [(r["method"], r["average"]) for r in table["rows"]] == [("fft", 36.5), ("ptv2", 46.5)]
    assert table["rows"][1]["chosen"]["rte"] == {"setting": {"lr": 0.01}, "by": "most seeds (2), of 2 settings"}
    rows = list(csv.DictReader(out["csv"].open()))
    assert len(rows) == 4 and {r["chosen_by"] for r in rows if r["method"] == "ptv2"} >= {"one setting"}
    tex = out["tex"].read_text()
    assert "method & cola MCC [dev] & rte acc [dev] & Avg & trainable \\% \\\\" in tex
    assert "% Setting per task:" in tex and "% ptv2, rte: lr=0.01 — most seeds (2), of 2 settings" in tex
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<th>Avg</th>" in page and "Setting per task" in page and "ptv2, rte: lr=0.01" in page
    assert (
        "| ptv2 | **31.5 ± 0.7** | **61.5 ± 0.7** | **46.5** | 0.1 |" in (tmp_path / "report" / "report.md").read_text()
    )
    assert compare_main([str(runs), "--variants", "--json", str(out["json"])]) == 0
    assert len(json.loads(out["json"].read_text())["tables"][0]["rows"]) == 3


def test_concepts_lists_every_registered_method(tmp_path, capsys):
    from ptune_exp.methods import METHODS

    put(tmp_path, "a", 60.0)
    assert compare_main([str(tmp_path), "--concepts"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    assert len(lines) == len(METHODS)
    assert lines[0].startswith("| ptv2 | 1 | classification | ")
    unrun = {line.split(" | ")[0][2:]: line for line in lines[1:]}
    assert sorted(unrun) == sorted(m.title + ("" if m.in_paper else " †") for k, m in METHODS.items() if k != "ptv2")
    assert all(" | no runs | – | " in line for line in unrun.values())
    assert unrun["P-tuning"].endswith("| input only | LSTM | – | no | verbalizer |")
    assert unrun["Prefix tuning"].endswith("| deep | MLP | – | yes | linear |")


def test_the_figures_keep_a_row_per_setting_beside_a_headline_table(tmp_path, capsys):
    from report_fixtures import write_runs

    runs = write_runs(tmp_path / "runs")
    assert compare_main([str(runs), "--report", str(tmp_path / "report")]) == 0
    figures = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    assert "prefix_len_m_rte.png" in figures and len(figures) == 7  # as with --variants (tests/test_report.py)
    twin = (tmp_path / "report" / "report.md").read_text()
    assert "| P-Tuning v2 | " in twin and "[prefix_len=" not in twin.split("## Figures")[0]
