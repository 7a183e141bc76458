"""Every record says where its data and backbone weights came from, with digests checked here."""

import hashlib
import json

from safetensors.torch import load_file

from ptune_exp.model.tiny import tiny_backbone
from ptune_exp.pipeline.run import run
from ptune_exp.runs.provenance import tensors_sha256


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rte_files(folder):
    folder.mkdir()
    rows = [
        {"premise": "the cat sat on the mat", "hypothesis": "a cat sat", "label": "entailment", "idx": 0},
        {"premise": "the dog ran far away", "hypothesis": "the dog slept", "label": "not_entailment", "idx": 1},
    ] * 4
    for name in ("train.jsonl", "val.jsonl"):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_a_local_data_run_records_its_file_digests(cfg_factory, tmp_path):
    data = rte_files(tmp_path / "rte")
    record = run(cfg_factory("task=rte", "task.source=superglue", f"task.data_dir={data}"))
    assert record["data_sha256"] == {"train": sha256(data / "train.jsonl"), "dev": sha256(data / "val.jsonl")}
    assert record["provenance"]["data"] == {"source": "local", "data_dir": str(data)}


def test_a_tiny_model_run_records_the_digest_of_its_initial_weights(cfg_factory):
    record = run(cfg_factory("method=ptv2"))
    model = record["provenance"]["model"]
    assert model["source"] == "tiny" and model["arch"] == "bert"
    # the same tiny backbone built again (same seed) has the same digest; the trained prompt does not enter it
    backbone, _ = tiny_backbone("bert", 32, 2, 4, 64, "sdpa")
    assert model["weights_sha256"] == tensors_sha256(backbone)
    assert record["provenance"]["data"] == {"source": "generated", "task": "synth_sentiment"}
    weights = load_file(f"{record['output_dir']}/trainable.safetensors")
    assert not any(k.startswith("backbone.") for k in weights)
