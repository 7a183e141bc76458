"""What a run costs (`record["cost"]`, runs/cost.py) and `ptune-exp-compare --cost` (compare/cost.py): the
fields of a real tiny run, each run's own peak when runs share a process, a resumed run's pooled cost,
and the cost view's means and ratios checked against hand-made records."""

import json
import math
import os

import pytest
import torch
from torch._dynamo.utils import counters

from ptune_exp.artifacts.export import export_run
from ptune_exp.artifacts.export_reader import EXPORT_WEIGHTS
from ptune_exp.compare.cli import main as compare
from ptune_exp.compare.cost import cost_cells
from ptune_exp.compare.table import build_tables
from ptune_exp.model import compile as compile_module
from ptune_exp.pipeline.run import run
from ptune_exp.runs.cost import CPU_KIND, KEYS, MB, NOT_COUNTED, LiveTensors, run_cost, warmup_of
from ptune_exp.runs.records import read_records
from report_fixtures import record


def test_live_tensors_counts_each_storage_once_until_it_is_freed():
    held = torch.zeros(100)  # 400 bytes, made before: counted by `hold`
    mode = LiveTensors()
    mode.hold([held, held[:10]])
    with mode:
        a = torch.ones(1000)  # 4000 bytes
        view = a.view(10, 100)
        assert mode.now == 4400
        del a, view
        b = torch.ones(500)
    assert (mode.now, mode.peak) == (400 + 2000, 4400)
    del b
    assert mode.now == 400


def test_warmup_leaves_out_the_first_steps_of_a_segment():
    assert [warmup_of(n) for n in (0, 1, 2, 3, 4, 6, 100)] == [0, 0, 1, 1, 2, 3, 3]


def test_a_resumed_runs_cost_pools_its_segments():
    first = {"steps": 2, "step_s": 1.0, "train_examples": 8, "eval_s": 0.5, "eval_examples": 10}
    second = {"steps": 6, "step_s": 1.0, "train_examples": 24, "eval_s": 1.5, "eval_examples": 30}
    segments = [
        {"cost": {**first, "peak_memory_mb": 300.0, "memory_kind": CPU_KIND, "device": "cpu: A"}},
        {"status": "interrupted"},  # killed before it measured anything: adds nothing
        {"cost": {**second, "peak_memory_mb": 200.0, "memory_kind": CPU_KIND, "device": "cpu: B"}},
    ]
    cost = run_cost(segments, 1234)
    assert list(cost) == list(KEYS)
    assert cost == {
        "step_time_s": 0.25,  # 2 s over 8 timed steps
        "train_examples_per_s": 16.0,  # 32 examples in 2 s
        "eval_examples_per_s": 20.0,  # 40 examples in 2 s
        "peak_memory_mb": 300.0,  # the highest segment's
        "memory_kind": CPU_KIND,
        "stored_bytes": 1234,
        "device": "cpu: A + cpu: B",
    }
    assert set(run_cost([], None).values()) == {None}


def _positive(cost: dict) -> None:
    assert list(cost) == list(KEYS)
    for key in KEYS:
        if key not in ("memory_kind", "device"):
            assert isinstance(cost[key], (int, float)) and math.isfinite(cost[key]) and cost[key] > 0, key
    assert cost["device"].startswith("cpu: ") or torch.cuda.is_available()


def test_a_tiny_run_records_its_cost_and_the_export_keeps_stored_bytes(cfg_factory):
    cfg = cfg_factory("method=ptv2", "method.reparam=true", "train.max_steps=4")
    rec = run(cfg)
    on_disk = json.load(open(os.path.join(cfg.output_dir, "metrics.json")))
    assert on_disk["cost"] == rec["cost"]
    _positive(rec["cost"])
    assert rec["cost"]["memory_kind"] == (CPU_KIND if not torch.cuda.is_available() else "cuda_max_allocated")
    segment = rec["segments"][0]["cost"]
    assert segment["steps"] == 4 - warmup_of(4) and segment["train_examples"] == 2 * cfg.train.batch_size
    # the bytes a task stores: exactly the export's weights file (the reparameterisation MLP folded away)
    out = export_run(cfg.output_dir)
    assert rec["cost"]["stored_bytes"] == os.path.getsize(os.path.join(out, EXPORT_WEIGHTS))
    assert rec["cost"]["stored_bytes"] < os.path.getsize(os.path.join(cfg.output_dir, rec["weights"]))
    assert not [f for f in os.listdir(cfg.output_dir) if f.endswith(".tmp")]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's measure; a GPU's is CUDA max allocated")
def test_runs_in_one_process_each_record_their_own_peak(cfg_factory):
    big = ["model.tiny.hidden_size=128", "model.tiny.intermediate_size=512", "train.batch_size=8"]
    large = run(cfg_factory("method=fft", *big))
    small = run(cfg_factory("method=fft", "train.batch_size=2"))
    for rec in (large, small):
        _positive(rec["cost"])
        # fine-tuning holds weights, gradients and two AdamW moments of every parameter (fp32): 16 bytes each
        assert rec["cost"]["peak_memory_mb"] * MB >= 16 * rec["params"]["total"]
    # the second run's peak is its own: below even the first run's weights alone
    assert small["cost"]["peak_memory_mb"] * MB < 4 * large["params"]["total"]
    assert small["cost"]["peak_memory_mb"] < large["cost"]["peak_memory_mb"] / 4


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's measure")
def test_train_compile_on_a_cpu_still_compiles_and_leaves_the_peak_unmeasured(cfg_factory, monkeypatch):
    monkeypatch.setattr(compile_module, "BACKEND", "aot_eager")
    torch._dynamo.reset()
    counters.clear()
    rec = run(cfg_factory("method=ptv2", "train.compile=true", "train.max_steps=2"))
    assert counters["frames"]["ok"] > 0  # a dispatch mode would have made Dynamo skip every frame
    assert rec["cost"]["peak_memory_mb"] is None and rec["cost"]["memory_kind"] == NOT_COUNTED
    assert rec["cost"]["step_time_s"] > 0 and rec["cost"]["stored_bytes"] > 0


# ------------------------------------------------------------------ compare --cost


def _cost(step: float, mb: float, stored: int, device: str) -> dict:
    return {
        "step_time_s": step,
        "train_examples_per_s": 8 / step,
        "eval_examples_per_s": 32 / step,
        "peak_memory_mb": mb,
        "memory_kind": CPU_KIND,
        "stored_bytes": stored,
        "device": device,
    }


# method, seed, step s, peak MB, stored bytes, device: fine-tuning on two machines, prompt tuning on both,
# P-Tuning v2 on one
RUNS = [
    ("fft", 1, 0.4, 1000.0, 400_000_000, "gpu A"),
    ("fft", 2, 0.2, 800.0, 400_000_000, "gpu A"),
    ("fft", 3, 1.0, 2000.0, 400_000_000, "cpu: B"),
    ("pt", 1, 0.15, 300.0, 40_000, "gpu A"),
    ("pt", 2, 0.09, 300.0, 40_000, "gpu A"),
    ("pt", 3, 0.5, 1000.0, 40_000, "cpu: B"),
    ("ptv2", 1, 0.06, 450.0, 2_000_000, "gpu A"),
]


@pytest.fixture
def cost_runs(tmp_path):
    for method, seed, step, mb, stored, device in RUNS:
        rec = record(method, False, 3, 8, 1.0, mb, step, "rte", 60.0, seed, cost=_cost(step, mb, stored, device))
        (tmp_path / f"{method}-{seed}").mkdir()
        (tmp_path / f"{method}-{seed}" / "metrics.json").write_text(json.dumps(rec))
    return tmp_path


def test_cost_columns_and_ratios_to_fine_tuning_on_the_same_device(cost_runs):
    (table,) = build_tables(read_records([str(cost_runs)]))
    rows = {row.method: cost_cells(table, row) for row in table.rows}
    # columns: step s, ×FT, train ex/s, ×FT, eval ex/s, ×FT, peak MB, ×FT, stored, ×FT, device, runs
    # prompt tuning: mean step (0.15 + 0.09 + 0.5) / 3; ratio: on gpu A 0.12 / 0.3, on cpu: B 0.5 / 1.0 -> mean 0.45
    assert rows["pt"][:2] == ["0.247", "0.45×"]
    # train ex/s = 8 / step: A: mean(53.3, 88.9) / mean(20, 40) = 2.37; B: 16 / 8 = 2 -> 2.19
    assert rows["pt"][2:4] == [f"{(8 / 0.15 + 8 / 0.09 + 8 / 0.5) / 3:.3g}", f"{(71.11 / 30 + 2) / 2:.3g}×"]
    # peak: A 300 / 900, B 1000 / 2000 -> (1/3 + 1/2) / 2; stored: 40 kB / 400 MB everywhere
    assert rows["pt"][6:10] == ["533", "0.417×", "40 kB", "0.0001×"]
    assert rows["pt"][10] == "⚠ 2 devices: cpu: B, gpu A" and rows["pt"][11] == "3/3"
    # P-Tuning v2 ran on gpu A only: compared with fine-tuning there alone (0.06 / 0.3), not flagged
    assert rows["ptv2"][:2] == ["0.06", "0.2×"] and rows["ptv2"][6:12] == [
        "450",
        "0.5×",
        "2 MB",
        "0.005×",
        "gpu A",
        "1/1",
    ]
    assert rows["fft"][:2] == ["0.533", "1×"] and rows["fft"][10].startswith("⚠ 2 devices")


def test_compare_cost_prints_the_cost_view_after_the_results(cost_runs, capsys):
    assert compare([str(cost_runs), "--cost"]) == 0
    out = capsys.readouterr().out
    assert out.index("### Cost: m") > out.index("| method |")
    line = next(x for x in out.splitlines() if x.startswith("| P-Tuning v2 |") and "×" in x)
    assert "| 0.06 | 0.2× |" in line and "| 2 MB | 0.005× | gpu A | 1/1 |" in line
    assert "Peak memory: cpu_live_tensor_bytes." in out
    assert compare([str(cost_runs)]) == 0 and "### Cost" not in capsys.readouterr().out


def test_records_without_cost_show_dashes(tmp_path, capsys):
    rec = {k: v for k, v in record("pt", False, 3, 8, 1.0, 1, 1, "rte", 60.0, 1).items() if k != "cost"}
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(rec))
    (table,) = build_tables(read_records([str(tmp_path)]))
    assert cost_cells(table, table.rows[0]) == ["–"] * 11 + ["0/1"]


def test_compare_json_holds_each_rows_cost_and_ratio(cost_runs, tmp_path):
    out = tmp_path / "table.json"
    assert compare([str(cost_runs), "--json", str(out)]) == 0
    rows = {r["method"]: r["cost"] for r in json.loads(out.read_text())["tables"][0]["rows"]}
    assert rows["pt"]["step_time_s"]["mean"] == pytest.approx((0.15 + 0.09 + 0.5) / 3)
    assert rows["pt"]["step_time_s"]["ratio_to_fft"] == pytest.approx(0.45)  # as --cost shows it (0.45×)
    assert rows["ptv2"]["peak_memory_mb"] == {"mean": 450.0, "ratio_to_fft": pytest.approx(0.5)}
    assert rows["ptv2"]["devices"] == ["gpu A"] and rows["fft"]["stored_bytes"]["ratio_to_fft"] == pytest.approx(1)


def test_compare_csv_holds_each_rows_mean_cost(cost_runs, tmp_path):
    import csv

    out = tmp_path / "table.csv"
    assert compare([str(cost_runs), "--csv", str(out)]) == 0
    rows = {r["method"]: r for r in csv.DictReader(out.open())}
    assert float(rows["pt"]["step_time_s"]) == pytest.approx((0.15 + 0.09 + 0.5) / 3)
    assert float(rows["ptv2"]["peak_memory_mb"]) == 450.0 and float(rows["fft"]["stored_bytes"]) == 400_000_000
