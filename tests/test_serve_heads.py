"""Serving the heads of docs/heads.md on one backbone: a ptv1 export (verbalizer, template-placed virtual
tokens), a pt export with the pooler head, a pt export with a verbalizer and a ptv2 export (linear head)
of the same tiny backbone, served together. Every task's predictions, from the real server and from mixed
batches, must be what the Python API gives for the same export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from corpus import SMOKE
from test_serve import call, running_server, same

pytestmark = pytest.mark.slow
LONG = " ".join(["the movie was great but the soup was awful"] * 4)  # over 24 tokens: cut by the template
INPUTS = [{"sentence": "the movie was great"}, {"sentence": "the soup was awful"}, {"sentence": LONG}]
RUNS = {
    "ptv1": ("method=ptv1", "method.prefix_len=4", "task.max_seq_len=24"),
    "pooler": ("method=pt", "method.head=pooler", "method.prefix_len=3"),
    "ptverb": (
        "method=pt",
        "method.head=verbalizer",
        "method.prefix_len=2",
        "task.template='{text_a} [P] it was [MASK] .'",
    ),
    "ptv2": ("method=ptv2", "method.prefix_len=5"),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    from ptune_exp import api

    root = tmp_path_factory.mktemp("serveheads")
    for name, overrides in RUNS.items():
        record = api.run_experiment(*SMOKE, *overrides, output_dir=str(root / f"run_{name}"))
        api.export(record["output_dir"], str(root / name))
    return root


@pytest.fixture(scope="module")
def wanted(exports) -> dict[str, list[dict]]:
    """The Python API's predictions, export by export."""
    from ptune_exp import api

    return {name: api.load_export(str(exports / name)).predict(INPUTS) for name in RUNS}


def test_the_server_answers_every_head_as_the_python_api(exports, wanted):
    with running_server([str(exports / n) for n in RUNS], exports / "server.log") as port:
        status, listed = call(port, "/v1/tasks")
        assert status == 200 and listed["refused"] == {}
        heads = {t["name"]: (t["method"], t["head"]) for t in listed["tasks"]}
        assert heads == {
            "ptv1": ("ptv1", "verbalizer"),
            "pooler": ("pt", "pooler"),
            "ptverb": ("pt", "verbalizer"),
            "ptv2": ("ptv2", "linear"),
        }
        for name in RUNS:
            status, answer = call(port, "/v1/predict", {"task": name, "inputs": INPUTS})
            assert status == 200 and len(answer["predictions"]) == len(INPUTS)
            for got, want in zip(answer["predictions"], wanted[name]):
                same(got, want)
                assert got["prediction"] in ("negative", "positive")
            if name == "ptv1":  # longer than its 24 tokens once the template wrote it
                assert [p.get("truncated", False) for p in answer["predictions"]] == [False, False, True]


@pytest.mark.parametrize("max_rows", [2, 64])
def test_mixed_batches_of_every_head_give_the_python_apis_predictions(exports, wanted, max_rows):
    from ptune_exp.serve.batch import answers, job_from_list, run_jobs
    from ptune_exp.serve.registry import load_registry

    registry = load_registry([str(exports / n) for n in RUNS], strict=True)
    assert registry.backbone.mlm_head is not None and registry.backbone.model.pooler is not None
    jobs = [job_from_list(registry.tasks[n], INPUTS) for n in RUNS]
    run_jobs(registry, jobs, max_rows=max_rows, mixed=True)  # rows of all four tasks in one forward
    for name, job in zip(RUNS, jobs):
        for got, want in zip(answers(job), wanted[name]):
            same(got, want)


def test_template_rows_mixed_with_input_and_deep_prompts_equal_each_tasks_forward(exports):
    """The hidden states themselves: a mixed forward of all four tasks equals each export's own model."""
    from ptune_exp.serve.batch import job_from_list
    from ptune_exp.serve.registry import load_registry
    from ptune_exp.serve.rows import mixed_inputs, strip

    registry = load_registry([str(exports / n) for n in RUNS], strict=True)
    tok, backbone = registry.backbone.tokenizer, registry.backbone.model
    features = [job_from_list(registry.tasks[n], INPUTS[:2]).features for n in RUNS]
    collated = [tok.pad({"input_ids": [f["input_ids"] for f in fs]}, return_tensors="pt") for fs in features]
    for c, fs in zip(collated, features):  # the template's slots are pad tokens under an attention mask of 1
        for i, f in enumerate(fs):
            c["attention_mask"][i, : len(f["attention_mask"])] = torch.tensor(f["attention_mask"])
    longest = max(c["input_ids"].shape[1] for c in collated)
    pad = lambda t, v: torch.nn.functional.pad(t, (0, longest - t.shape[1]), value=v)
    ids = torch.cat([pad(c["input_ids"], tok.pad_token_id) for c in collated])
    mask = torch.cat([pad(c["attention_mask"], 0) for c in collated])
    prompts = [registry.tasks[n].prompt for n in RUNS]
    with torch.no_grad():
        inputs, index = mixed_inputs(backbone, prompts, [2] * len(RUNS), ids, mask, None)
        mixed = strip(backbone(**inputs).last_hidden_state, index)
        for k, (name, c) in enumerate(zip(RUNS, collated)):
            model = registry.tasks[name].model
            alone = model.prompt.backbone_inputs(backbone, c["input_ids"], c["attention_mask"], None)
            want = model.prompt.strip(backbone(**alone).last_hidden_state)
            real = c["attention_mask"].bool()
            got = mixed[2 * k : 2 * k + 2, : want.shape[1]]
            torch.testing.assert_close(got[real], want[real], atol=1e-5, rtol=1e-5)


def test_a_checkpoint_backbone_for_both_heads_has_its_pooler_and_its_checked_mlm_head(tmp_path):
    """A masked-LM model carries no pooler: for a verbalizer and a pooler export the encoder comes with its
    pooler, the masked-LM head from the checkpoint, tied to that encoder's word embeddings."""
    from transformers import BertForPreTraining

    from ptune_exp.config.schema import ModelConfig
    from ptune_exp.model.backbones import load_backbone, load_shared_backbone
    from ptune_exp.model.tiny import tiny_backbone

    model, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    BertForPreTraining(model.config).save_pretrained(tmp_path)  # encoder, pooler and MLM head
    tok.save_pretrained(tmp_path)
    cfg = ModelConfig(name="ckpt", name_or_path=str(tmp_path))
    both = load_shared_backbone(cfg, "eager", {"verbalizer", "pooler", "linear"})
    alone = load_backbone(cfg, "eager", "verbalizer")
    pooled = load_backbone(cfg, "eager", "pooler")
    assert both.mlm_head is not None and both.model.pooler is not None
    torch.testing.assert_close(both.model.pooler.dense.weight, pooled.model.pooler.dense.weight)
    for (name, got), want in zip(both.mlm_head.state_dict().items(), alone.mlm_head.state_dict().values()):
        torch.testing.assert_close(got, want, msg=name)
    assert both.mlm_head.predictions.decoder.weight is both.model.get_input_embeddings().weight
    assert load_shared_backbone(cfg, "eager", {"linear"}).model.pooler is None
