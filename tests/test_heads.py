"""ptv1 and the heads (docs/heads.md): P-tuning's prompt encoders, templates, the verbalizer (masked-LM
head at [MASK], read at the label words), the official pooler head, and the concept table. The refusals
(one line each) are cases of the bad-input corpus, tests/bad_inputs_heads.py."""

import json

import pytest
import torch
from transformers import AutoModelForMaskedLM

from ptune_exp.api import load_export
from ptune_exp.artifacts.export import export_run
from ptune_exp.compare.cli import main as compare_main
from ptune_exp.compare.table import build_tables
from ptune_exp.config.schema import ModelConfig
from ptune_exp.errors import PtuneError
from ptune_exp.model.backbones import load_backbone
from ptune_exp.model.tiny import tiny_backbone
from ptune_exp.pipeline.experiment import build
from ptune_exp.pipeline.plan import plan
from ptune_exp.pipeline.run import run
from ptune_exp.runs.records import read_records


@pytest.mark.parametrize("encoder", ["lstm", "mlp"])
def test_ptv1_trains_two_steps_with_each_encoder(encoder, cfg_factory):
    record = run(cfg_factory("method=ptv1", f"method.prompt_encoder={encoder}", "method.prefix_len=4"))
    assert record["status"] == "completed" and record["train"]["steps"] == 2
    assert record["table1"]["prompt_encoder"] == encoder and record["table1"]["no_verbalizer"] is False


def _built(cfg_factory, *overrides):
    exp = build(plan(cfg_factory(*overrides)))
    return exp, exp.model.eval()


def test_the_template_puts_the_virtual_tokens_and_mask_where_it_says(cfg_factory):
    template = "+task.template='{text_a} [P] this was [MASK] . [P]'"
    exp, _ = _built(cfg_factory, "method=ptv1", "method.prefix_len=3", template.replace("+", ""))
    ids = exp.data["dev"][0]["input_ids"]
    tokens = exp.tokenizer.convert_ids_to_tokens(ids)
    text = exp.tokenizer.tokenize(exp.raw["dev"][0]["text_a"])
    # 3 virtual tokens over two [P]: the first takes the remainder (2, then 1); each is the pad token
    assert tokens == ["[CLS]", *text, "[PAD]", "[PAD]", "this", "was", "[MASK]", ".", "[PAD]", "[SEP]"]
    assert exp.data["dev"][0]["attention_mask"] == [1] * len(ids)


def _mlm_by_hand(head, hidden: torch.Tensor) -> torch.Tensor:
    """BERT's masked-LM head written out: dense -> gelu -> LayerNorm -> tied word embeddings + bias."""
    t = head.predictions.transform
    x = torch.nn.functional.gelu(hidden @ t.dense.weight.T + t.dense.bias)
    x = torch.nn.functional.layer_norm(x, x.shape[-1:], t.LayerNorm.weight, t.LayerNorm.bias, t.LayerNorm.eps)
    return x @ head.predictions.decoder.weight.T + head.predictions.bias


@pytest.mark.parametrize("method", ["ptv1", "pt", "ptv2"])
def test_verbalizer_logits_are_the_mlm_scores_at_mask_at_the_label_words(method, cfg_factory):
    exp, model = _built(cfg_factory, f"method={method}", "method.head=verbalizer", "method.prefix_len=4")
    batch = exp.data["dev"][:3]
    tok = exp.tokenizer
    ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(i) for i in batch["input_ids"]], batch_first=True)
    mask = (ids != tok.pad_token_id).long() | torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(m) for m in batch["attention_mask"]], batch_first=True
    )
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask).logits
        inputs = model.prompt.backbone_inputs(model.backbone, ids, mask, None)
        hidden = model.prompt.strip(model.backbone(**inputs).last_hidden_state)
        at = [row.tolist().index(tok.mask_token_id) for row in ids]
        words = tok.convert_tokens_to_ids(["terrible", "great"])  # synth_sentiment's default label words
        expected = torch.stack([_mlm_by_hand(model.head.mlm, hidden[b, at[b]])[words] for b in range(len(at))])
    torch.testing.assert_close(out, expected)


def test_pooler_head_is_dropout_of_the_pooler_output_times_w(cfg_factory):
    exp, model = _built(cfg_factory, "method=pt", "method.head=pooler", "method.head_dropout=0.5")
    enc = exp.tokenizer(["the movie was great", "the soup was bland"], padding=True, return_tensors="pt")
    model.train()
    with torch.no_grad():
        torch.manual_seed(3)
        out = model(**enc).logits
        torch.manual_seed(3)
        inputs = model.prompt.backbone_inputs(model.backbone, enc["input_ids"], enc["attention_mask"], None)
        h_cls = model.backbone(**inputs).last_hidden_state[:, 0]
        pooler = model.backbone.pooler.dense
        pooled = torch.tanh(h_cls @ pooler.weight.T + pooler.bias)
        dropped = torch.nn.functional.dropout(pooled, 0.5, training=True)
        expected = dropped @ model.head.out.weight.T + model.head.out.bias
    torch.testing.assert_close(out, expected)


def _saved(tmp_path, with_head: bool) -> str:
    model, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    if with_head:
        model = AutoModelForMaskedLM.from_config(model.config)
    folder = tmp_path / ("mlm" if with_head else "bare")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def test_a_checkpoint_without_its_mlm_head_is_refused_for_the_verbalizer(tmp_path):
    bare = ModelConfig(name="bare", name_or_path=_saved(tmp_path, False))
    with pytest.raises(PtuneError, match="no masked-LM head weights") as e:
        load_backbone(bare, "eager", "verbalizer")
    assert "\n" not in str(e.value)
    with_head = ModelConfig(name="mlm", name_or_path=_saved(tmp_path, True))
    assert load_backbone(with_head, "eager", "verbalizer").mlm_head is not None


def test_export_and_predict_map_verbalizer_scores_back_to_labels(cfg_factory, tmp_path):
    cfg = cfg_factory("method=ptv1", "method.prefix_len=4")
    run(cfg)
    predictor = load_export(export_run(cfg.output_dir, str(tmp_path / "export")))
    out = predictor.predict(["the movie was great", "the soup was bland"])
    assert [set(r["scores"]) for r in out] == [{"negative", "positive"}] * 2
    assert all(r["prediction"] in ("negative", "positive") for r in out)


def _record(folder, method, head, encoder, site, acc, reparam=False):
    record = {
        "status": "completed", "model": "m", "task": "rte", "task_source": "glue", "seed": 1, "method": method,
        "method_title": method, "family": "classification", "metrics": ["accuracy"], "main_metric": "accuracy",
        "dev": {"accuracy": acc}, "test": None, "params": {"trainable_pct": 0.5}, "finished_at": f"{method}{head}",
        "table1": {"deep": site == "every layer", "prompt_site": site, "tuned": "x"},
        "method_config": {"name": method, "lr": 0.01, "prefix_len": 4, "reparam": reparam, "head": head,
                          "prompt_encoder": encoder},
    }  # fmt: skip
    path = folder / f"{method}-{head}-{encoder}"
    path.mkdir()
    (path / "metrics.json").write_text(json.dumps(record))


def test_concepts_show_table_1_as_the_runs_used_each_method(tmp_path, capsys):
    _record(tmp_path, "ptv1", "verbalizer", "lstm", "input", 60.0, reparam=True)
    _record(tmp_path, "ptv1", "verbalizer", "mlp", "input", 61.0, reparam=True)
    _record(tmp_path, "pt", "verbalizer", "", "input", 62.0)
    _record(tmp_path, "ptv2", "linear", "", "every layer", 63.0)
    _record(tmp_path, "ptv2", "verbalizer", "", "every layer", 64.0)
    assert compare_main([str(tmp_path), "--concepts"]) == 0
    rows = {line.split(" | ")[0][2:]: line for line in capsys.readouterr().out.splitlines()[2:]}
    # method | families | prompt | reparameterisation | multi-task | no verbalizer | head
    assert rows["ptv1 (LSTM)"].endswith("| classification | input only | LSTM | no | no | verbalizer |")
    assert rows["ptv1 (MLP)"].endswith("| input only | MLP | no | no | verbalizer |")
    assert rows["pt + verbalizer"].endswith("| input only | none | no | no | verbalizer |")
    assert rows["ptv2"].endswith("| deep | none | no | yes | linear |")
    # runs that differ in head or encoder are never averaged: five rows, one run each
    table = build_tables(read_records([str(tmp_path)]))[0]
    assert sorted(r.cells["rte"]["accuracy"].n for r in table.rows) == [1] * 5


def test_a_checkpoint_without_pooler_weights_gets_the_same_seeded_pooler_at_every_load(tmp_path):
    """head=pooler on a checkpoint that has no pooler (most RoBERTa ones): every load (training, export,
    serving) must read the same frozen pooler, whatever the global RNG says."""
    from transformers import AutoModel

    model, tok = tiny_backbone("roberta", 32, 2, 4, 64, "eager")
    folder = tmp_path / "no-pooler"
    AutoModel.from_config(model.config, add_pooling_layer=False).save_pretrained(folder)
    tok.save_pretrained(folder)
    cfg = ModelConfig(name="nopooler", name_or_path=str(folder))
    pools = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        pools.append(load_backbone(cfg, "eager", "pooler").model.pooler.dense.weight.detach().clone())
    torch.testing.assert_close(pools[0], pools[1])
    assert pools[0].std() > 0
    with_pooler = tmp_path / "pooler"
    model.save_pretrained(with_pooler)
    tok.save_pretrained(with_pooler)
    kept = load_backbone(ModelConfig(name="pooler", name_or_path=str(with_pooler)), "eager", "pooler")
    torch.testing.assert_close(kept.model.pooler.dense.weight, model.pooler.dense.weight)  # its own, untouched
