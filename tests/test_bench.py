"""The benchmarks' structure on a tiny shape (timings are not asserted: they live in `make bench` and
`make bench-gpu`). Compiled cases use the `aot_eager` backend here: inductor's C++ build takes minutes."""

import json

import pytest
import torch
from torch import nn

from ptune_exp.bench.cli import build, main, parse_args
from ptune_exp.bench.gpu import cases
from ptune_exp.bench.gpu import main as gpu_main
from ptune_exp.bench.settings import TOLERANCE
from ptune_exp.model import compile as compile_module


@pytest.mark.slow
def test_bench_smoke_writes_a_ratio_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "--model",
                "tiny-shape",
                "--batch",
                "2",
                "--seq",
                "8",
                "--prefix",
                "2,4",
                "--steps",
                "1",
                "--warmup",
                "0",
                "--pad-fraction",
                "0.5",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "× fft" in text and "| ptv2 | 4 |" in text
    data = json.loads(out.read_text())
    cases = [(r["method"], r["prefix_len"]) for r in data["results"]]
    assert cases == [
        ("fft", 0),
        ("pt", 2),
        ("pt", 4),
        ("prefix", 2),
        ("prefix", 4),
        ("ptv2", 2),
        ("ptv2", 4),
        ("lora", 0),
        ("ia3", 0),
    ]
    assert "| lora | – |" in text and "| ia3 | – |" in text
    for r in data["results"]:
        assert r["train_ms"] > 0 and r["eval_ms"] > 0 and 0 < r["trainable"] <= r["total"]
    assert data["meta"]["plain_forward_ms"] > 0 and data["meta"]["floor_ms"] > 0
    assert "frozen-backbone floor" in text


def _tiny(*extra: str) -> list[str]:
    return ["--model", "tiny-shape", "--batch", "2", "--seq", "8", "--steps", "1", "--warmup", "0", *extra]


def test_profile_writes_each_cases_ops_by_self_time_and_backbone_dropout_turns_masks_off(tmp_path, capsys):
    argv = _tiny(
        "--prefix", "2", "--methods", "fft,ptv2", "--no-eval", "--profile", str(tmp_path), "--backbone-dropout", "0"
    )
    assert main(argv) == 0
    assert "backbone dropout 0," in capsys.readouterr().out
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["fft_p0_eager-fp32.txt", "ptv2_p2_eager-fp32.txt"]
    for name in files:
        text = (tmp_path / name).read_text()
        assert "aten::" in text and "Self CPU" in text  # an op table, not an empty file
    rates = lambda *extra: {  # the dropout rates in the benchmark's fft model (bench.build)
        m.p
        for m in build(parse_args(_tiny(*extra)), "fft", 0, torch.device("cpu")).modules()
        if isinstance(m, nn.Dropout)
    }
    assert rates("--backbone-dropout", "0") == {0.0} and max(rates()) > 0


@pytest.mark.slow
def test_bf16_on_a_cpu_runs_every_method_with_the_frozen_backbone_in_bf16(capsys):
    # the head used to fail here: "mat1 and mat2 must have the same dtype" (no CPU autocast)
    assert main(_tiny("--prefix", "2", "--precision", "bf16", "--no-eval")) == 0
    assert "frozen backbone in bf16" in capsys.readouterr().out


@pytest.mark.slow
def test_settings_report_the_best_setting_and_the_compiled_loss_gap(tmp_path, capsys, monkeypatch):
    # dynamo's eager backend: the settings' code path (test_compile.py checks aot_eager's graphs and losses)
    monkeypatch.setattr(compile_module, "BACKEND", "eager")
    out = tmp_path / "bench.json"
    settings = "eager-fp32,compiled-fp32,eager-bf16"
    assert main(_tiny("--prefix", "2", "--methods", "fft,ptv2", "--settings", settings, "--json", str(out))) == 0
    text = capsys.readouterr().out
    assert "best setting" in text and "loss gap" in text
    rows = json.loads(out.read_text())["results"]
    assert sorted({r["setting"] for r in rows}) == sorted(settings.split(","))
    compiled = [r for r in rows if r["setting"] == "compiled-fp32"]
    assert all(r["compile_s"] > 0 and r["loss_gap"] <= TOLERANCE["fp32"] for r in compiled)
    assert all(r["loss_gap"] is None for r in rows if r["setting"] != "compiled-fp32")


def test_gpu_matrix_lists_every_case_and_stops_starting_cases_at_its_time_limit(tmp_path):
    rows = cases("roberta-large")
    assert len(rows) == 2 * (1 + 3 * 2 + 1) * 2  # sizes x (fft, 3 prompt methods x 2 prefixes, floor) x modes
    assert {(r["batch"], r["seq"]) for r in rows} == {(32, 128), (64, 256)}
    assert gpu_main(["--shape", "tiny", "--device", "cpu", "--out", str(tmp_path), "--max-minutes", "0"]) == 0
    data = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert len(data["rows"]) == len(cases("tiny")) and all(r.get("skipped") for r in data["rows"])
    assert "| skipped |" in (tmp_path / "bench_gpu.md").read_text()


@pytest.mark.slow
def test_gpu_matrix_dry_run_on_a_cpu_writes_json_and_markdown(tmp_path):
    argv = ["--shape", "tiny", "--device", "cpu", "--out", str(tmp_path), "--steps", "1", "--warmup", "0"]
    assert gpu_main([*argv, "--backend", "eager"]) == 0  # dynamo without AOT tracing: the code path, quickly
    rows = json.loads((tmp_path / "bench_gpu.json").read_text())["rows"]
    assert len(rows) == len(cases("tiny")) and not any(r.get("skipped") for r in rows)
    assert all(r["train_ms"] > 0 for r in rows)
    assert all(r["loss_gap"] <= TOLERANCE["fp32"] for r in rows if r["compiled"] and r["method"] != "floor")
    table = (tmp_path / "bench_gpu.md").read_text()
    assert table.count("| 2x16 |") == 2 + 3  # fft, floor, and the 3 prompt methods: one line each
