"""ptune-exp-compare on records of real tiny runs: right aggregates, failures listed, outputs parse."""

import csv
import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptune_exp.compare import build_tables
from ptune_exp.compare import main as compare_main
from ptune_exp.methods import METHODS
from ptune_exp.runs.records import read_records

BIN = Path(sys.executable).parent
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]
PROMPTED = [key for key, method in METHODS.items() if method.prompt_site != "none"]  # every method with a prompt
PREFIX_LENS = (2, 4)
SEEDS = (1, 2)
TASK = "synth_sentiment"  # ptune-exp's default task, one metric
ROWS = len(PROMPTED) * len(PREFIX_LENS) + 1  # a row per (method, prefix_len), one for the two fft runs


def cli(*args, cwd):
    return subprocess.Popen(
        [str(BIN / "ptune-exp"), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every prompt method x 2 prefix lengths x 2 seeds, a diverging run, and two fft runs started at once."""
    root = tmp_path_factory.mktemp("compare")
    sweep = cli(
        "-m",
        f"method={','.join(PROMPTED)}",
        f"method.prefix_len={','.join(map(str, PREFIX_LENS))}",
        f"seed={','.join(map(str, SEEDS))}",
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


def expected(runs) -> tuple[str, dict]:
    """The split and, per (method, prefix_len), (mean, std, n, records) of the main metric, computed here
    from the records on disk with numpy: what every output of compare must agree with."""
    raw = [json.loads(p.read_text()) for p in (runs / "outputs").rglob("metrics.json")]
    done = [r for r in raw if r["status"] == "completed"]
    split = "test" if all(r.get("test") for r in done) else "dev"
    cells = {}
    for method in PROMPTED:
        for plen in PREFIX_LENS:
            members = [r for r in done if r["method"] == method and r["method_config"]["prefix_len"] == plen]
            values = [r[split]["accuracy"] for r in members]
            cells[(method, plen)] = (np.mean(values), np.std(values, ddof=1), len(values), members)
    ffts = [r for r in done if r["method"] == "fft"]
    latest = [r for r in ffts if r["finished_at"] == max(x["finished_at"] for x in ffts)]
    # both fft runs share seed 42: the later supersedes (equal times: either may stand; same settings, same seed)
    cells[("fft", None)] = ({r[split]["accuracy"] for r in latest}, 0.0, 1, latest)
    return split, cells


def best_rows(cells: dict) -> int:
    """How many rows tie for the best mean, i.e. how many cells compare must bold."""
    means = [min(m) if isinstance(m, set) else m for m, *_ in cells.values()]
    return sum(abs(m - max(means)) < 1e-9 for m in means)


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk: width, height


@pytest.mark.slow
def test_two_runs_started_at_once_both_land(runs):
    records = [r for r in read_records([str(runs / "outputs" / "runs")]) if r["method"] == "fft"]
    assert len(records) == 2 and all(r["status"] == "completed" for r in records)
    assert len({r["record_path"] for r in records}) == 2


@pytest.mark.slow
def test_means_and_stds_match_an_independent_computation(runs):
    raw = [json.loads(p.read_text()) for p in (runs / "outputs" / "sweep").rglob("metrics.json")]
    assert len(raw) == len(PROMPTED) * len(PREFIX_LENS) * len(SEEDS)
    split, cells = expected(runs)
    out = runs / "table.json"
    assert compare_main([str(runs / "outputs"), "--variants", "--json", str(out)]) == 0
    table = json.loads(out.read_text())["tables"][0]
    assert table["splits"] == {TASK: split}
    assert len(table["rows"]) == ROWS
    rows = {(r["method"], r["variant"].get("prefix_len")): r for r in table["rows"]}
    for (method, plen), (mean, std, n, members) in cells.items():
        cell = rows[(method, plen)]["cells"][TASK]["accuracy"]
        assert cell["n"] == n
        if method == "fft":
            # the two concurrent fft runs share seed 42: a re-run of the same configuration supersedes, n stays 1
            assert cell["mean"] in mean and cell["std"] == 0.0
        else:
            assert cell["mean"] == pytest.approx(mean)
            assert cell["std"] == pytest.approx(std)
        pcts = [r["params"]["trainable_pct"] for r in members]
        assert rows[(method, plen)]["trainable_pct"] == pytest.approx([min(pcts), max(pcts)])


@pytest.mark.slow
def test_failed_run_is_listed_not_averaged(runs, capsys):
    assert compare_main([str(runs / "outputs")]) == 0
    text = capsys.readouterr().out
    failed_part = text.split("### Failed or unfinished runs")[1]
    assert "TrainingDiverged" in failed_part and "diverged" in failed_part
    failed_rows = [line for line in failed_part.splitlines() if line.startswith("| failed |")]
    assert len(failed_rows) == 1  # the one diverging run
    assert failed_rows[0].startswith(f"| failed | ptv2 | {TASK} | tiny-bert | 42 | ")
    tables = build_tables(read_records([str(runs / "outputs")]))
    assert all(r["status"] == "completed" for t in tables for row in t.rows for r in row.records)
    # every sweep run and one of the two fft runs (the other is superseded), nothing else
    assert sum(len(row.records) for t in tables for row in t.rows) == len(PROMPTED) * len(PREFIX_LENS) * len(SEEDS) + 1


@pytest.mark.slow
def test_every_output_format_parses(runs, tmp_path):
    paths = {ext: tmp_path / f"t.{ext}" for ext in ("csv", "json", "tex")}
    argv = [
        str(runs / "outputs"),
        "--variants",
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
    split, cells = expected(runs)
    rows = list(csv.DictReader(paths["csv"].open()))
    assert {r["method"] for r in rows} == {"fft", *PROMPTED} and len(rows) == ROWS  # one task, one metric
    for r in rows:
        mean, std, n, _ = cells[(r["method"], json.loads(r["variant"]).get("prefix_len"))]
        assert (r["task"], r["split"], r["metric"], int(r["n"])) == (TASK, split, "accuracy", n)
        if r["method"] == "fft":
            assert float(r["mean"]) in {round(m, 4) for m in mean} and float(r["std"]) == 0.0
        else:
            assert float(r["mean"]) == pytest.approx(round(mean, 4)) and float(r["std"]) == pytest.approx(round(std, 4))
    failed = json.loads(paths["json"].read_text())["failed"]
    assert [(f["status"], f["method"], f["task"], f["seed"]) for f in failed] == [("failed", "ptv2", TASK, 42)]
    assert "TrainingDiverged" in failed[0]["error"] and failed[0]["record_path"].endswith("diverged/metrics.json")
    tex = paths["tex"].read_text()
    assert tex.count("\\begin{tabular}") == tex.count("\\end{tabular}") == 1 and "\\pm" in tex
    lines = [line for line in tex.splitlines() if line.endswith(" \\\\")]
    assert len(lines) == 1 + ROWS  # header + rows
    assert all(line.count(" & ") == 1 + 8 for line in lines)  # 1 task + 8 concept columns after the method
    assert tex.count("\\textbf{") == best_rows(cells)
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    names = {"methods_tiny-bert.png", f"prefix_len_tiny-bert_{TASK}.png", f"cost_tiny-bert_{TASK}.png"}
    assert {p.name for p in pngs} == names  # no cost recorded: the cost figure has its trainable-% axis only
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    # the figures at 120 dpi, cropped to what is drawn: the legend to the right of the axes makes them wider
    # than the axes' figure (6.4 in = 768 px) and no taller than it (4.4 in for the bars, 4.2 for the curves)
    (w, h), (w2, h2) = (png_size(tmp_path / "plots" / n) for n in sorted(names)[1:])
    assert (w > 768, 400 < h <= 528, w2 > 768, 400 < h2 <= 504) == (True,) * 4, (w, h, w2, h2)


@pytest.mark.slow
def test_markdown_marks_rows_variants_and_best(runs, capsys):
    compare_main([str(runs / "outputs"), "--variants", "--method", "ptv2", "--method", "fft"])
    text = capsys.readouterr().out
    ptv2, fft = METHODS["ptv2"].title, METHODS["fft"].title
    for plen in PREFIX_LENS:
        assert f"| {ptv2} [prefix_len={plen}] |" in text
    assert f"| {fft} |" in text
    assert all(METHODS[k].title not in text for k in PROMPTED if k != "ptv2")
    table = text.split("\n\n")[1]
    assert len(table.splitlines()) == 2 + len(PREFIX_LENS) + 1  # header, rule, ptv2 per prefix length, fft
    _, cells = expected(runs)
    shown = {k: v for k, v in cells.items() if k[0] in ("ptv2", "fft")}
    assert text.count("**") == 2 * best_rows(shown)  # the best cell(s) of the column, bold


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
        "provenance": {"model": {"source": "hub", "id": "FacebookAI/roberta-large"}},
        "config": {"task": {"name": "boolq", "source": "superglue"}},
    }
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(record))
    table = build_tables(read_records([str(tmp_path)]), paper=True)[0]
    refs = {(m, s): c for m, s, c in table.references}
    assert refs[("ptv2", "official README re-run, best dev epoch")]["boolq"] == {"accuracy": 84.0}
    assert refs[("fft", "Liu et al. 2022, paper")]["boolq"] == {"accuracy": 86.9}
    # a checkpoint of the user's own that took the preset's name: no reference rows beside it
    record["provenance"] = {"model": {"source": "local", "path": "/models/roberta-large"}}
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(record))
    assert build_tables(read_records([str(tmp_path)]), paper=True)[0].references == []


def test_no_records_is_a_clear_error(tmp_path, capsys):
    assert compare_main([str(tmp_path)]) == 1
    assert "no metrics.json" in capsys.readouterr().err


def _record(tmp_path, name, seed, acc, epochs, prefix_len=0, method="fft", **extra):
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
        **extra,
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
    assert rows["fft [train.epochs=2]"].std == pytest.approx(np.std([50.0, 60.0], ddof=1))
    assert (rows["fft [train.epochs=30]"].mean, rows["fft [train.epochs=30]"].n) == (90.0, 1)


def test_delta_refers_to_the_fine_tuning_row_with_most_runs_on_each_task(tmp_path, capsys):
    _record(tmp_path, "a", 1, 50.0, epochs=2)
    _record(tmp_path, "b", 2, 60.0, epochs=2)  # the recipe's row on rte: 55.0, two runs
    _record(tmp_path, "c", 1, 90.0, epochs=10)  # a one-run budget variant on rte
    _record(tmp_path, "d", 1, 70.0, epochs=10, task="cb")  # on cb the only fine-tuning row
    _record(tmp_path, "e", 1, 58.0, epochs=5, method="ptv2", prefix_len=4)
    _record(tmp_path, "f", 1, 65.0, epochs=5, method="ptv2", prefix_len=4, task="cb")
    assert compare_main([str(tmp_path), "--variants", "--delta"]) == 0
    (ptv2,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ptv2")]
    assert "58.0 (n=1) Δ+3.0" in ptv2 and "65.0 (n=1) Δ-5.0" in ptv2


def test_delta_refers_to_the_stronger_of_equally_measured_fine_tuning_rows(tmp_path, capsys):
    _record(tmp_path, "a", 1, 50.0, epochs=2)
    _record(tmp_path, "b", 2, 60.0, epochs=2)  # a short fine-tune: 55.0, two runs
    _record(tmp_path, "c", 1, 80.0, epochs=4)
    _record(tmp_path, "d", 2, 90.0, epochs=4)  # the same fine-tune trained longer: 85.0, two runs
    _record(tmp_path, "e", 1, 58.0, epochs=5, method="ptv2", prefix_len=4)
    assert compare_main([str(tmp_path), "--variants", "--delta"]) == 0
    (ptv2,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ptv2")]
    assert "58.0 (n=1) Δ-27.0" in ptv2


def test_runs_on_different_data_or_weights_are_never_averaged(tmp_path):
    files = {"train": "a" * 64, "dev": "b" * 64}
    other = {**files, "train": "c" * 64}
    weights = lambda digest: {"provenance": {"model": {"source": "local", "weights_sha256": digest}}}
    _record(tmp_path, "a", 1, 50.0, epochs=2, data_sha256=files, **weights("d" * 64))
    _record(tmp_path, "b", 2, 60.0, epochs=2, data_sha256=files, **weights("d" * 64))
    _record(tmp_path, "c", 3, 70.0, epochs=2, data_sha256=other, **weights("d" * 64))  # another train file
    _record(tmp_path, "d", 4, 80.0, epochs=2, data_sha256=files, **weights("e" * 64))  # other backbone weights
    rows = {r.label: r.cells["rte"]["accuracy"] for r in build_tables(read_records([str(tmp_path)]))[0].rows}
    short = lambda d: hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]
    same, changed = short(files), short(other)
    assert sorted(rows) == sorted(
        [
            f"fft [data={same}, weights=dddddddd]",
            f"fft [data={changed}, weights=dddddddd]",
            f"fft [data={same}, weights=eeeeeeee]",
        ]
    )
    assert (rows[f"fft [data={same}, weights=dddddddd]"].mean, rows[f"fft [data={same}, weights=dddddddd]"].n) == (
        55.0,
        2,
    )


def test_console_script_and_python_m_print_the_same_table(tmp_path, capsys):
    for i, method in enumerate(METHODS):
        _record(tmp_path, f"r{i}", 1, 50.0 + i, epochs=2, method=method)
    assert compare_main([str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 1 + len(METHODS)  # header + rows
    for command in ([str(BIN / "ptune-exp-compare")], [sys.executable, "-m", "ptune_exp.compare"]):
        out = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, timeout=120)
        assert (out.returncode, out.stdout) == (0, table), out.stderr[-3000:]


def _write(folder: Path, content) -> Path:
    folder.mkdir(parents=True)
    path = folder / "metrics.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _good(tmp_path, name, **changes) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    _record(tmp_path, name, 1, 70.0, epochs=2, method="ptv2")
    record = json.loads((tmp_path / name / "metrics.json").read_text())
    return {**record, **changes}


MALFORMED = {
    "list": ("[1, 2, 3]", "unreadable", "a JSON list, not an object"),
    "null": ("null", "unreadable", "a JSON null, not an object"),
    "cut": ('{"status": "completed", "mod', "unreadable", "unreadable record: "),
    "no-model": (lambda r: {k: v for k, v in r.items() if k != "model"}, "invalid", "`model` is missing"),
    "dev-list": (lambda r: {**r, "dev": [1, 2]}, "invalid", "`dev` is list, not a mapping"),
    "dev-text": (lambda r: {**r, "dev": {"accuracy": "high"}}, "invalid", "`dev` scores of ['accuracy'] are not"),
    "no-params": (lambda r: {k: v for k, v in r.items() if k != "params"}, "invalid", "`params.trainable_pct` is"),
    "test-text": (lambda r: {**r, "test": {"accuracy": None}}, "invalid", "`test` scores of ['accuracy'] are not"),
}


def test_malformed_records_are_listed_and_the_table_is_built_from_the_rest(tmp_path, capsys):
    runs = tmp_path / "runs"
    good = _good(runs, "good")
    for name, (content, _, _) in MALFORMED.items():
        _write(runs / name, content(good) if callable(content) else content)
    assert compare_main([str(runs), "--variants", "--json", str(tmp_path / "t.json")]) == 0
    text = capsys.readouterr().out
    assert "| ptv2 | 70.0 (n=1) |" in text  # the one good record makes the table
    failed = {Path(f["record_path"]).parent.name: f for f in json.loads((tmp_path / "t.json").read_text())["failed"]}
    assert sorted(failed) == sorted(MALFORMED)
    for name, (_, status, why) in MALFORMED.items():
        assert failed[name]["status"] == status and why in failed[name]["error"], failed[name]
        assert f"{runs / name / 'metrics.json'} |" in text
    tables = build_tables(read_records([str(runs)]))  # the library call copes with them too
    assert [len(t.rows) for t in tables] == [1]


def test_plot_file_names_stay_in_the_plot_dir_whatever_the_model_name(tmp_path, capsys):
    runs = tmp_path / "runs"
    for i, model in enumerate(["org/model", "../../escape", "m"]):
        _write(runs / str(i), _good(tmp_path / "src", str(i), model=model))
    assert compare_main([str(runs), "--plot", str(tmp_path / "plots")]) == 0
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert len(pngs) == 3 and "methods_m.png" in pngs, pngs
    assert any(n.startswith("methods_org_model-") for n in pngs) and any("escape" in n for n in pngs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots", "runs", "src"]  # nothing written elsewhere
    assert not list(tmp_path.parent.glob("escape*"))


def test_bad_paths_are_usage_errors(tmp_path, capsys):
    assert compare_main([str(tmp_path / "nothing")]) == 2
    assert f"ptune-exp-compare: error: {tmp_path / 'nothing'}: no such file or directory" in capsys.readouterr().err
    _record(tmp_path, "a", 1, 50.0, epochs=2)
    assert compare_main([str(tmp_path), "--csv", str(tmp_path / "no" / "t.csv")]) == 2
    assert "ptune-exp-compare: error: --csv" in capsys.readouterr().err


def test_best_of_search_selects_on_dev_and_reports_the_selected_settings_test_scores(tmp_path, capsys):
    # three learning rates x two seeds; the best on dev (lr 0.03) is the worst on test: test is not peeked at
    scores = {0.01: [(60, 70), (62, 72)], 0.03: [(80, 40), (82, 44)], 0.1: [(50, 90), (52, 94)]}
    for lr, runs in scores.items():
        for seed, (dev, test) in enumerate(runs, 1):
            _record(tmp_path, f"lr{lr}-s{seed}", seed, dev, epochs=10, method="ptv2", test={"accuracy": test})
            record = json.loads((tmp_path / f"lr{lr}-s{seed}" / "metrics.json").read_text())
            record["method_config"]["lr"] = lr
            (tmp_path / f"lr{lr}-s{seed}" / "metrics.json").write_text(json.dumps(record))
    assert compare_main([str(tmp_path), "--best-of-search", "--split", "test"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ptv2")]
    assert rows == ["| ptv2 (best of 3 on dev) | 42.0 ± 2.8 | 1 |"] and "n = 2 runs per cell" in out
    assert "- ptv2, rte: lr=0.03 — best of 3 on dev" in out
    plain = build_tables(read_records([str(tmp_path)]), split="test")[0]
    assert len(plain.rows) == 3  # without the flag every setting is its own row


def test_the_table_shows_each_rows_training_budget(tmp_path, capsys):
    _record(tmp_path, "a", 1, 50.0, epochs=3, budget={"epochs": 3, "max_steps": -1, "from": "method.epochs"})
    _record(tmp_path, "b", 1, 60.0, epochs=10, method="ptv2")  # an older record: its config's epochs
    assert compare_main([str(tmp_path), "--variants"]) == 0
    lines = {line.split(" |")[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert "| budget |" in lines["| method"] and "| 3 ep |" in lines["| fft"] and "| 10 ep |" in lines["| ptv2"]


def test_learning_curves_average_the_dev_score_per_step_over_seeds(tmp_path):
    from ptune_exp.compare.plots import _dev_curve, plot_all

    curves = {1: [50.0, 60.0, 70.0], 2: [54.0, 58.0, 76.0]}
    for seed, values in curves.items():
        curve = [{"step": 10 * (i + 1), "epoch": i + 1, "dev": {"accuracy": v}} for i, v in enumerate(values)]
        _record(tmp_path, f"s{seed}", seed, values[-1], epochs=3, method="ptv2", curve=curve)
    (table,) = build_tables(read_records([str(tmp_path)]))
    got = _dev_curve(table.rows[0], "rte", "accuracy")
    assert [step for step, _, _ in got] == [10, 20, 30]
    assert [m for _, m, _ in got] == pytest.approx([52.0, 59.0, 73.0])
    assert [s for _, _, s in got] == pytest.approx(
        [np.std([50, 54], ddof=1), np.std([60, 58], ddof=1), np.std([70, 76], ddof=1)]
    )
    written = plot_all([table], str(tmp_path / "plots"))
    assert str(tmp_path / "plots" / "learning_curve_m_rte.png") in written


def test_names_are_escaped_in_markdown_and_latex(tmp_path, capsys):
    """A task or method name holding Markdown's `|` or LaTeX's specials, or a line break, stays in its cell."""
    _record(tmp_path, "a", 1, 50.0, epochs=2, task="x|y_z\n&{1}$", method_title="P|T ^~#%\\")
    out = tmp_path / "t.tex"
    assert compare_main([str(tmp_path), "--variants", "--latex", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 and all(line.replace("\\|", "").count("|") == 11 for line in lines), lines
    assert "x\\|y_z &{1}$ acc [dev]" in lines[0] and lines[1].startswith("| P\\|T ^~#%\\\\ |")
    rows = [line for line in out.read_text().splitlines() if line.endswith(" \\\\")]
    assert "x|y\\_z \\&\\{1\\}\\$ acc [dev]" in rows[0]
    assert rows[1].startswith("P|T \\textasciicircum{}\\textasciitilde{}\\#\\%\\textbackslash{} & ")
    assert all(row.replace("\\&", "").count("&") == 9 for row in rows), rows


RECORDS = Path(__file__).parent / "fixtures" / "records"  # real records of earlier ptune-exp versions


def test_compare_reads_every_earlier_record_schema_and_refuses_a_later_one(tmp_path, capsys):
    from ptune_exp.runs.records import SCHEMA

    record = json.loads((RECORDS / "schema1_ptv2_synth_sentiment.json").read_text())  # a tiny run's, as written
    assert record["schema"] == 1 <= SCHEMA
    before = {k: v for k, v in record.items() if k != "schema"}  # records written before they had a schema
    for name, content in {"v1": record, "v0": {**before, "seed": 2}, "later": {**record, "schema": SCHEMA + 1}}.items():
        _write(tmp_path / "runs" / name, content)
    assert compare_main([str(tmp_path / "runs"), "--json", str(tmp_path / "t.json")]) == 0
    assert "| ptv2 | " in capsys.readouterr().out
    table = json.loads((tmp_path / "t.json").read_text())
    failed = {Path(f["record_path"]).parent.name: f["error"] for f in table["failed"]}
    assert list(failed) == ["later"] and f"`schema`={SCHEMA + 1} is newer" in failed["later"]
    (rows,) = [t.rows for t in build_tables(read_records([str(tmp_path / "runs")]))]
    assert len(rows) == 1
