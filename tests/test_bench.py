"""The benchmark's structure on a tiny shape (timings are not asserted: they live in `make bench`)."""

import json

import pytest

from ptune_exp.bench import main


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
