"""The shared prompt mechanism on tiny random BERT/RoBERTa: attended, trainable, position-safe."""

import copy

import pytest
import torch

from ptune_exp.errors import PtuneError
from ptune_exp.injection.attention import attach_prefix_attention, prefix_implementation
from ptune_exp.methods import METHODS
from ptune_exp.methods.prompts import PromptEncoder, fold_state
from ptune_exp.model.tiny import tiny_backbone
from tiny_models import SENTENCES, batch, build_tiny, hidden

ARCHS = ["bert", "roberta"]
# lora/ia3: test_peft_methods.py; ptv1 (its prompt sits where a template's inputs reserve it): test_heads.py
PROMPT_METHODS = [k for k, m in sorted(METHODS.items()) if m.prompt_site != "none" and k != "ptv1"]


def build(method: str, arch: str = "bert", attn: str = "sdpa", seed: int = 0, **knobs):
    return build_tiny(arch, method, attn, seed, **knobs)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", PROMPT_METHODS)
def test_prompt_is_attended_and_gets_a_gradient(method, arch):
    model, tok = build(method, arch)
    enc = batch(tok)
    plain = model.backbone(**dict(enc.items())).last_hidden_state
    prompted = hidden(model, enc)
    assert prompted.shape == plain.shape  # pt's virtual tokens are stripped again
    assert not torch.allclose(prompted, plain, atol=1e-4)

    model.train()
    out = model(**enc, labels=torch.tensor([0, 1]))
    out.loss.backward()
    prompt_grads = [p.grad for p in model.prompt.parameters()]
    assert prompt_grads and all(g is not None and g.abs().sum() > 0 for g in prompt_grads)
    assert all(p.grad is None for p in model.backbone.parameters())


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["fft", *PROMPT_METHODS])
def test_real_tokens_do_not_change_when_padding_is_added(method, arch):
    model, tok = build(method, arch)
    alone = batch(tok, [SENTENCES[0]])
    padded = batch(tok, SENTENCES)  # the first sentence gets padded to the second's length
    n = int(alone["attention_mask"].sum())
    assert int(padded["attention_mask"][0].sum()) == n < padded["input_ids"].shape[1]
    with torch.no_grad():
        a = hidden(model, alone)[0, :n]
        b = hidden(model, padded)[0, :n]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["fft", *PROMPT_METHODS])
def test_eager_and_sdpa_agree(method, arch):
    sdpa, tok = build(method, arch, attn="sdpa")
    eager, _ = build(method, arch, attn="eager")
    assert eager.backbone.config._attn_implementation != sdpa.backbone.config._attn_implementation
    enc = batch(tok)
    with torch.no_grad():
        torch.testing.assert_close(sdpa(**enc).logits, eager(**enc).logits, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(
            hidden(sdpa, enc)[enc["attention_mask"].bool()],
            hidden(eager, enc)[enc["attention_mask"].bool()],
            atol=1e-5,
            rtol=1e-4,
        )


@pytest.mark.parametrize("method", PROMPT_METHODS)
def test_gradient_checkpointing_gives_the_same_prompt_gradient(method):
    plain, tok = build(method)
    ckpt = copy.deepcopy(plain)
    ckpt.activation_checkpointing_enable()
    enc, labels = batch(tok), torch.tensor([0, 1])
    grads = []
    for model in (plain, ckpt):
        model.train()
        model.backbone.config.hidden_dropout_prob = 0.0
        for mod in model.modules():
            if isinstance(mod, torch.nn.Dropout):
                mod.p = 0.0
        model(**enc, labels=labels).loss.backward()
        grads.append([p.grad.clone() for p in model.prompt.parameters()])
    assert any(getattr(layer, "gradient_checkpointing", False) for layer in ckpt.backbone.modules())
    for g_plain, g_ckpt in zip(*grads):
        assert g_ckpt.abs().sum() > 0
        torch.testing.assert_close(g_plain, g_ckpt, atol=1e-6, rtol=1e-4)


def test_trainable_parameter_counts_match_the_formulas():
    P, L, H, labels, r = 4, 2, 32, 2, 16
    head = H * labels + labels
    ptv2, _ = build("ptv2")
    assert ptv2.parameter_counts()["trainable"] == P * 2 * L * H + head
    reparam, _ = build("ptv2", reparam=True, reparam_hidden=r)
    assert reparam.parameter_counts()["trainable"] == P * H + (H * r + r) + (r * 2 * L * H + 2 * L * H) + head
    pt, _ = build("pt")
    assert pt.parameter_counts()["trainable"] == P * H + head
    fft, _ = build("fft")
    counts = fft.parameter_counts()
    assert counts["trainable"] == counts["total"] == counts["backbone"] + head


def test_pt_keeps_the_real_cls_first_and_shifts_nothing_it_strips():
    model, tok = build("pt")
    enc = batch(tok)
    inputs = model.prompt.backbone_inputs(
        model.backbone, enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
    )
    words = model.backbone.get_input_embeddings()(enc["input_ids"])
    P = model.prompt.prefix_len
    torch.testing.assert_close(inputs["inputs_embeds"][:, 0], words[:, 0])  # real [CLS] stays at 0
    torch.testing.assert_close(inputs["inputs_embeds"][:, 1 + P :], words[:, 1:])  # then the real tokens
    assert inputs["attention_mask"][:, 1 : 1 + P].all()
    assert "input_ids" not in inputs  # embedded once, by us; the backbone adds positions once


@pytest.mark.parametrize("method", ["pt", "ptv2"])
def test_folding_the_mlp_keeps_the_prompt(method):
    model, tok = build(method, reparam=True, reparam_hidden=16)
    enc = batch(tok)
    encoder = model.prompt.encoder
    rows = fold_state({f"prompt.encoder.{k}": v for k, v in encoder.state_dict().items()})["prompt.encoder.rows"]
    with torch.no_grad():
        before = model(**enc).logits
        model.prompt.encoder = PromptEncoder(encoder.prefix_len, encoder.width, False, 0, 0, init=rows)
        after = model(**enc).logits
    assert not model.prompt.encoder.reparam
    torch.testing.assert_close(before, after)


def test_a_backbone_whose_attention_bypasses_the_mechanism_is_refused():
    from transformers import DebertaV2Config, DebertaV2Model

    _, tok = tiny_backbone("bert", 32, 2, 4, 64, "sdpa")
    config = DebertaV2Config(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
    )
    model = DebertaV2Model(config)
    with pytest.raises(PtuneError, match="silently ignored"):
        attach_prefix_attention(model)


def test_shared_attention_layers_are_refused():
    from transformers import AlbertConfig, AlbertModel

    _, tok = tiny_backbone("bert", 32, 2, 4, 64, "sdpa")
    config = AlbertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        embedding_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    config._attn_implementation = prefix_implementation("sdpa")
    with pytest.raises(PtuneError, match="reuses one attention module"):
        attach_prefix_attention(AlbertModel(config, add_pooling_layer=False))


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_deep_prompts_use_the_cheapest_mask(attn):
    model, tok = build("ptv2", attn=attn)
    seen = []
    original = model.prompt.layer_prefixes

    def spy(*args):
        prefixes = original(*args)
        pad = prefixes._pad
        prefixes._pad = lambda mask: seen.append(None if mask is None else tuple(mask.shape)) or pad(mask)
        return prefixes

    model.prompt.layer_prefixes = spy
    with torch.no_grad():
        model(**batch(tok, [SENTENCES[1]] * 2))  # no padding: no mask at all
        padded = batch(tok)
        model(**padded)
    b, n = padded["input_ids"].shape
    assert seen[:2] == [None, None] and seen[2:] == [(b, 1, 1, n)] * 2  # broadcast over heads and queries


@pytest.mark.parametrize("reparam", [False, True])
def test_prefix_starts_at_the_backbones_initializer_range(reparam):
    """The official prefix is a new embedding of the backbone: N(0, initializer_range), MLP likewise."""
    model, _ = build("ptv2", reparam=reparam, reparam_hidden=64, prefix_len=64)
    std = model.backbone.config.initializer_range
    encoder = model.prompt.encoder
    tensors = [encoder.embedding.weight, encoder.mlp[0].weight, encoder.mlp[2].weight] if reparam else [encoder.rows]
    for t in tensors:
        assert abs(t.std().item() - std) < 0.2 * std and abs(t.mean().item()) < 0.2 * std
    if reparam:
        assert not encoder.mlp[0].bias.any() and not encoder.mlp[2].bias.any()


@pytest.mark.parametrize("method", ["ptv2", "pt"])
def test_prompt_dropout_draws_one_mask_per_example_in_training_only(method):
    model, tok = build(method, prefix_dropout=0.5)
    prompt = model.prompt
    if method == "ptv2":
        keys = lambda: prompt.layer_prefixes(2).keys[0]  # (batch, heads, P, head_dim)
    else:
        enc = batch(tok, [SENTENCES[0]] * 2)
        keys = lambda: prompt.backbone_inputs(model.backbone, enc["input_ids"], enc["attention_mask"], None)[
            "inputs_embeds"
        ][:, 1 : 1 + prompt.prefix_len]
    torch.manual_seed(0)
    prompt.train()
    first, second = keys()
    assert not torch.equal(first == 0, second == 0)  # two examples, two masks
    prompt.eval()
    out = keys()
    first, second = out.expand(2, *out.shape[1:])  # ptv2 broadcasts one prefix over the batch in eval
    assert torch.equal(first, second) and (first != 0).all()  # no dropout in eval
