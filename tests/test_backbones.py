"""The support matrix, tested: every architecture in support.py x every method on a tiny random model.

Supported cells build, train two steps, attend to their prompt (lora/ia3: train their adapter layers) and
keep frozen weights frozen; refused
cells are refused by the registry and by the build-time probe alike. DeBERTa-v2/v3's own prefix
injection is checked against the stock model (exact without a prefix) and against the formula
(zero relative-position bias on the prefix columns). The docs' matrix (docs/models.md) is the registry's rendering.
"""

import copy
import json
import os
import runpy

import pytest
import torch
from transformers.models.deberta_v2.modeling_deberta_v2 import (
    DebertaV2Config,
    DebertaV2Layer,
    DebertaV2Model,
)

from ptune_exp.errors import PtuneError
from ptune_exp.injection import ARCHITECTURES, prepare, render_matrix
from ptune_exp.injection import check_support as check_cell
from ptune_exp.injection import support as cell
from ptune_exp.injection.attention import (
    LAYER_ATTR,
    PREFIX_KWARG,
    LayerPrefixes,
    attach_prefix_attention,
    prefix_implementation,
)
from ptune_exp.injection.deberta import install_deberta_prefix
from ptune_exp.methods import METHODS as REGISTRY
from ptune_exp.methods import get_method
from ptune_exp.model.tiny import _WORDPIECE_IDS, tiny_backbone, tiny_tokenizer
from ptune_exp.pipeline.run import run
from tiny_models import SENTENCES, attn_of, batch, hidden
from tiny_models import build_tiny as build

ROOT = os.path.join(os.path.dirname(__file__), "..")
# ptv1: its prompt sits where a task template reserves it (plain inputs here have no slots): tests/test_heads.py
METHODS = sorted(k for k in REGISTRY if k != "ptv1")


def support(arch: str, method: str):
    return cell(arch, get_method(method))


def check_support(arch: str, method: str, attn: str):
    return check_cell(arch, get_method(method), attn, REGISTRY.values())


ARCHS = sorted(ARCHITECTURES)
SUPPORTED = [(a, m) for a in ARCHS for m in METHODS if support(a, m).allowed]
REFUSED = [(a, m) for a in ARCHS for m in METHODS if not support(a, m).allowed]
DEEP = [a for a in ARCHS if support(a, "ptv2").allowed]
LABELS = torch.tensor([1, 0])


def no_dropout(model):
    for mod in model.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0


# --- every supported cell -------------------------------------------------------------------------------


@pytest.mark.parametrize("arch, method", SUPPORTED)
def test_supported_cell_attends_trains_and_keeps_frozen_weights(arch, method):
    model, tok = build(arch, method)
    enc = batch(tok)
    adapters = {n for n, p in model.backbone.named_parameters() if p.requires_grad and method != "fft"}  # lora, ia3
    frozen = {n: t.clone() for n, t in model.backbone.state_dict().items() if n not in adapters}
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    if REGISTRY[method].prompt_site != "none":  # the prompt is attended: the real tokens' states change
        with torch.no_grad():
            plain = model.backbone(**enc).last_hidden_state
            assert not torch.allclose(hidden(model, enc), plain, atol=1e-4)

    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for step in range(2):
        optimizer.zero_grad()
        loss = model(**enc, labels=LABELS).loss
        loss.backward()
        if step == 0:
            grads = [p.grad for p in model.prompt.parameters()]
            assert all(g is not None and g.abs().sum() > 0 for g in grads)
            frozen_grads = [p.grad for n, p in model.backbone.named_parameters() if n not in adapters]
            assert all(g is None for g in frozen_grads) == (method != "fft")
        optimizer.step()
        assert torch.isfinite(loss)

    tuned = lambda n: n.startswith(("prompt", "head")) or n.removeprefix("backbone.") in adapters
    moved = [not torch.equal(trainable[n], p) for n, p in model.named_parameters() if tuned(n)]
    assert moved and all(moved)
    after = model.backbone.state_dict()
    unchanged = all(torch.equal(frozen[n], after[n]) for n in frozen)
    assert unchanged == (method != "fft")


@pytest.mark.parametrize("arch, method", SUPPORTED)
def test_real_tokens_do_not_change_when_padding_is_added(arch, method):
    model, tok = build(arch, method)
    alone, padded = batch(tok, SENTENCES[:1]), batch(tok)  # the first sentence gets padded in the pair
    n = int(alone["attention_mask"].sum())
    assert int(padded["attention_mask"][0].sum()) == n < padded["input_ids"].shape[1]
    with torch.no_grad():
        torch.testing.assert_close(hidden(model, alone)[0, :n], hidden(model, padded)[0, :n], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch", [a for a in DEEP if ARCHITECTURES[a].attn_implementations == ("sdpa", "eager")])
def test_eager_and_sdpa_agree_with_a_prefix(arch):
    (sdpa, tok), (eager, _) = build(arch, "ptv2", "sdpa"), build(arch, "ptv2", "eager")
    assert sdpa.backbone.config._attn_implementation == "ptune_sdpa"
    assert eager.backbone.config._attn_implementation == "ptune_eager"
    enc = batch(tok)
    real = enc["attention_mask"].bool()
    with torch.no_grad():
        torch.testing.assert_close(hidden(sdpa, enc)[real], hidden(eager, enc)[real], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch", DEEP)
def test_gradient_checkpointing_recomputes_with_the_prefix(arch):
    plain, tok = build(arch, "ptv2")
    ckpt = copy.deepcopy(plain)
    ckpt.activation_checkpointing_enable()
    calls = []
    for mod in ckpt.backbone.modules():
        if hasattr(mod, LAYER_ATTR):
            mod.register_forward_hook(lambda *_: calls.append(1))
    enc, grads = batch(tok), []
    for model in (plain, ckpt):
        model.train()
        no_dropout(model)
        model(**enc, labels=LABELS).loss.backward()
        grads.append([p.grad.clone() for p in model.prompt.parameters()])
    assert len(calls) == 2 * 2  # two layers, each run again in the backward pass
    for g_plain, g_ckpt in zip(*grads):
        assert g_ckpt.abs().sum() > 0
        torch.testing.assert_close(g_plain, g_ckpt, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("arch", ["electra", "albert"])
def test_pt_prompt_has_the_word_embedding_width(arch):
    model, tok = build(arch, "pt", reparam=True, reparam_hidden=8)
    width = model.backbone.get_input_embeddings().weight.shape[1]
    assert width < model.backbone.config.hidden_size and model.prompt.encoder().shape == (4, width)
    model(**batch(tok), labels=LABELS).loss.backward()


# --- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch, method", REFUSED)
def test_refused_cell_is_refused_by_the_registry_and_by_the_probe(arch, method):
    with pytest.raises(PtuneError, match="method=fft or method=pt") as e:
        check_support(arch, method, attn_of(arch))
    assert ARCHITECTURES[arch].refusal in str(e.value)
    # DeBERTa v1 does not even load with a registered attention function; ALBERT does, and shares its layers
    impl = attn_of(arch) if arch == "deberta" else prefix_implementation(attn_of(arch))
    model, _ = tiny_backbone(arch, 32, 2, 4, 64, impl)
    with pytest.raises(PtuneError):
        attach_prefix_attention(model)


def test_a_refused_run_fails_before_training(cfg_factory):
    cfg = cfg_factory("method=ptv2", "model.tiny.arch=albert", "model.name=tiny-albert")
    with pytest.raises(PtuneError, match="ALBERT"):
        run(cfg)
    with open(os.path.join(cfg.output_dir, "metrics.json"), encoding="utf-8") as f:
        record = json.load(f)
    assert record["status"] == "failed" and "per-layer prefixes" in record["error"]
    assert "train" not in record and "params" not in record  # refused before the model was built


def test_deberta_refuses_sdpa_with_what_to_do():
    with pytest.raises(PtuneError, match="set model.attn_implementation=eager"):
        check_support("deberta-v2", "fft", "sdpa")


class _Loaded(Exception):
    pass


def load_implementation(arch: str, method: str, attn: str) -> str:
    """The attention implementation `prepare` asks its loader for."""

    def load(implementation):
        raise _Loaded(implementation)

    with pytest.raises(_Loaded) as e:
        prepare(arch, get_method(method), attn, load)
    return str(e.value)


def test_the_backbone_loads_with_the_implementation_its_mechanism_needs():
    assert load_implementation("bert", "ptv2", "sdpa") == "ptune_sdpa"
    assert load_implementation("bert", "pt", "eager") == "eager"
    assert load_implementation("deberta-v2", "ptv2", "eager") == "eager"  # its own injection, not the registry
    assert load_implementation("camembert", "prefix", "sdpa") == "ptune_sdpa"  # untested: the probe decides


def test_an_unlisted_architecture_is_untested_not_refused():
    assert support("camembert", "ptv2").status == support("camembert", "pt").status == "untested"
    assert support("camembert", "ptv2").allowed


# --- end to end -------------------------------------------------------------------------------------------

TINY_CONFIGS = [(a, c) for a in DEEP for c in ARCHITECTURES[a].configs if c.startswith("tiny-")]


@pytest.mark.parametrize("arch, config", TINY_CONFIGS)
def test_each_architecture_runs_end_to_end(arch, config, cfg_factory):
    cfg = cfg_factory(f"model={config}", "method=ptv2")
    assert cfg.model.tiny.arch == arch
    record = run(cfg)
    assert record["status"] == "completed" and record["train"]["steps"] == 2
    assert 0 < record["params"]["trainable"] < record["params"]["total"]


@pytest.mark.slow
def test_a_local_deberta_directory_goes_through_the_hub_path(cfg_factory, tmp_path):
    model, tok = tiny_backbone("deberta-v2", 32, 2, 4, 64, "eager")
    model.save_pretrained(tmp_path / "deberta")
    tok.save_pretrained(tmp_path / "deberta")
    cfg = cfg_factory("model=deberta-v3-base", f"model.name_or_path={tmp_path / 'deberta'}", "method=ptv2")
    record = run(cfg)
    assert record["status"] == "completed"
    assert record["params"]["backbone"] == sum(p.numel() for p in model.parameters())


# --- DeBERTa-v2/v3 ----------------------------------------------------------------------------------------

V2_STYLE = {
    "relative_attention": True,
    "position_buckets": -1,
    "max_relative_positions": 16,
    "share_att_key": False,
    "pos_att_type": "c2p|p2c",
    "conv_kernel_size": 3,
    "position_biased_input": True,
    "type_vocab_size": 2,
}


def deberta(variant: str, layers: int = 2) -> tuple[DebertaV2Model, object]:
    """v3: the tiny-deberta backbone (shared keys, log buckets); v2: v2-xlarge-like (conv layer, own position
    projections, absolute positions too)."""
    if variant == "v3":
        model, tok = tiny_backbone("deberta-v2", 32, layers, 4, 64, "eager")
        return model.eval(), tok
    tok = tiny_tokenizer("deberta-v2")
    config = DebertaV2Config(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        **V2_STYLE,
    )
    torch.manual_seed(0)
    return DebertaV2Model(config).eval(), tok


def prefixes(length: int, layers: int = 2, seed: int = 0) -> LayerPrefixes:
    g = torch.Generator().manual_seed(seed)
    make = lambda: [torch.randn(1, 4, length, 8, generator=g) for _ in range(layers)]
    return LayerPrefixes(make(), make())


@pytest.mark.parametrize("variant", ["v3", "v2"])
def test_deberta_without_a_prefix_is_the_stock_model(variant):
    stock, tok = deberta(variant)
    patched = copy.deepcopy(stock)
    install_deberta_prefix(patched)
    assert attach_prefix_attention(patched) == [(4, 8), (4, 8)]
    enc = batch(tok)
    with torch.no_grad():
        want = stock(**enc).last_hidden_state
        assert torch.equal(patched(**enc).last_hidden_state, want)  # none passed
        assert torch.equal(patched(**enc, **{PREFIX_KWARG: prefixes(0)}).last_hidden_state, want)  # zero-length
        assert not torch.allclose(patched(**enc, **{PREFIX_KWARG: prefixes(3)}).last_hidden_state, want, atol=1e-3)
    assert type(stock.encoder.layer[0]) is DebertaV2Layer  # only the patched instance changed


@pytest.mark.parametrize("variant", ["v3", "v2"])
def test_deberta_prefix_columns_get_zero_relative_position_bias(variant):
    stock, tok = deberta(variant, layers=1)
    install_deberta_prefix(stock)
    attach_prefix_attention(stock)
    enc = batch(tok, SENTENCES[1:])
    prefix = prefixes(3, layers=1)
    with torch.no_grad():
        out = stock(**enc, output_attentions=True, output_hidden_states=True, **{PREFIX_KWARG: prefix})
        attn, x = stock.encoder.layer[0].attention.self, out.hidden_states[0]
        split = lambda t: attn.transpose_for_scores(t, 4)
        q, k = split(attn.query_proj(x)), split(attn.key_proj(x))
        scale = (8 * 3) ** 0.5  # head dim x (1 + c2p + p2c)
        rel = attn.disentangled_attention_bias(q, k, stock.encoder.get_rel_pos(x), stock.encoder.get_rel_embedding(), 3)
        real = q @ k.transpose(-1, -2) / scale + rel
        pre = q @ prefix.keys[0][0].transpose(-1, -2) / scale  # no relative term for the prefix columns
        want = torch.cat([pre, real], dim=-1).softmax(-1).view(1, 4, q.shape[1], -1)
    torch.testing.assert_close(out.attentions[0], want, atol=1e-6, rtol=1e-5)


def test_deberta_mask_forms_agree():
    model, tok = build("deberta-v2", "ptv2")
    enc = batch(tok)
    real = enc["attention_mask"].bool()
    ids, types = enc["input_ids"], enc["token_type_ids"]
    forms = {"2-D int": enc["attention_mask"], "2-D bool": real, "4-D keys-only float": real[:, None, None, :].float()}
    with torch.no_grad():
        prefix = model.prompt.layer_prefixes()
        outs = {
            name: model.backbone(
                input_ids=ids, token_type_ids=types, attention_mask=mask, **{PREFIX_KWARG: prefix}
            ).last_hidden_state[real]
            for name, mask in forms.items()
        }
    for name, out in outs.items():
        torch.testing.assert_close(out, outs["2-D int"], atol=1e-6, rtol=1e-5, msg=name)


# --- the registry, the configs and the docs ----------------------------------------------------------------


def test_registry_configs_exist_and_name_their_architecture():
    from conftest import compose_cfg

    folder = os.path.join(ROOT, "src", "ptune_exp", "conf", "model")
    on_disk = {f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")} - {"auto"}  # auto: the checkpoint's own
    listed = [c for a in ARCHITECTURES.values() for c in a.configs]
    assert sorted(listed) == sorted(on_disk)  # every config is in the matrix, once
    for arch in ARCHITECTURES.values():
        for name in arch.configs:
            cfg = compose_cfg(f"model={name}").model  # the preset over its typed schema's defaults
            assert cfg.attn_implementation in arch.attn_implementations
            if cfg.tiny:
                assert cfg.tiny.arch == arch.model_type


def test_tiny_wordpiece_special_ids():
    tok = tiny_tokenizer("modernbert")
    assert {
        "pad_token_id": tok.pad_token_id,
        "cls_token_id": tok.cls_token_id,
        "sep_token_id": tok.sep_token_id,
        "bos_token_id": tok.cls_token_id,
        "eos_token_id": tok.sep_token_id,
    } == _WORDPIECE_IDS
    assert "token_type_ids" not in tok("a b") and "token_type_ids" in tiny_tokenizer("bert")("a b")


def test_the_docs_show_the_generated_support_matrix(capsys):
    runpy.run_path(os.path.join(ROOT, "scripts", "support_matrix.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert printed == render_matrix(REGISTRY.values())
    with open(os.path.join(ROOT, "docs", "models.md"), encoding="utf-8") as f:
        page = f.read()
    assert render_matrix(REGISTRY.values()) in page, (
        "the support matrix in docs/models.md is stale: paste `python scripts/support_matrix.py` over it"
    )
