"""Tiny random-weight backbones with self-built tokenizers, for tests and offline smoke runs.

Nothing here is downloaded: the tokenizer's vocabulary is built from a fixed word list (not trained:
trainers break ties differently from process to process), the weights are drawn from a fixed seed,
so `model=tiny-bert` is the same model in every process and on every machine.
"""

from __future__ import annotations

import string
from functools import cache, partial

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoConfig, AutoModel, PreTrainedTokenizerFast

from ptune_exp.model.dropout import set_dropout

# Words the tokenizer learns whole; anything else falls back to characters (WordPiece) or bytes (BPE).
_WORDS = (
    "the a an this that was is were not but and very really quite so too movie film book service hotel "
    "room food soup concert guide phone show plot acting music great good excellent wonderful lovely "
    "superb brilliant pleasant bad awful terrible boring dreadful bland horrible dull rude premise "
    "hypothesis question passage answer true false yes no who what when where why how john mary paris "
    "london berlin city country company team player game won lost"
).split()


_CHARS = string.ascii_lowercase + string.digits + string.punctuation


def _wordpiece_tokenizer(token_types: bool = True) -> PreTrainedTokenizerFast:
    """WordPiece over an explicit vocabulary: specials, every character alone and as a ##-continuation,
    and the whole words above. Built, not trained, so it is identical in every process.
    `token_types=False` for models without segment embeddings (DistilBERT, ModernBERT): same pieces,
    no `token_type_ids` in the encodings."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = specials + list(_CHARS) + [f"##{c}" for c in _CHARS] + sorted(set(_WORDS))
    tok = Tokenizer(models.WordPiece(vocab={p: i for i, p in enumerate(dict.fromkeys(pieces))}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece()
    names = ["input_ids", "token_type_ids", "attention_mask"] if token_types else ["input_ids", "attention_mask"]
    return _fast(tok, names, unk="[UNK]", pad="[PAD]", cls="[CLS]", sep="[SEP]", mask="[MASK]")


def _fast(tok: Tokenizer, input_names: list[str], **specials: str) -> PreTrainedTokenizerFast:
    """A transformers tokenizer around `tok`; `specials` name its special tokens (`cls="[CLS]"`, ...)."""
    named = {f"{role}_token": token for role, token in specials.items()}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=512, model_input_names=input_names, **named)


def _bytelevel_bpe_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE (RoBERTa style) over an explicit vocabulary: specials, the 256 byte symbols, and
    left-to-right merges that spell each word above (with and without the leading-space marker Ġ)."""
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: bos 0, pad 1, eos 2
    vocab = {t: i for i, t in enumerate(specials + sorted(pre_tokenizers.ByteLevel.alphabet()))}
    merges = []
    words = sorted(set(_WORDS))
    for form in ["Ġ" + w for w in words] + words:  # mid-sentence forms first: their merges rank higher
        prefix = form[0]
        for ch in form[1:]:
            if prefix + ch not in vocab:
                vocab[prefix + ch] = len(vocab)
                merges.append((prefix, ch))
            prefix += ch
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    tok.decoder = decoders.ByteLevel()
    names = ["input_ids", "attention_mask"]
    return _fast(tok, names, bos="<s>", eos="</s>", sep="</s>", cls="<s>", unk="<unk>", pad="<pad>", mask="<mask>")


# The ids the WordPiece vocabulary above gives its specials (checked in tests/test_backbones.py).
_WORDPIECE_IDS = {"pad_token_id": 0, "cls_token_id": 2, "sep_token_id": 3, "bos_token_id": 2, "eos_token_id": 3}
_ROBERTA_LIKE = {
    "type_vocab_size": 1,
    "max_position_embeddings": 514,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}

# architecture (transformers model_type) -> (tokenizer builder, config overrides that make it look like its
# real family). Sizes come in BERT's names (hidden_size, intermediate_size, ...); configs map them.
_ARCHS = {
    "bert": (_wordpiece_tokenizer, {"type_vocab_size": 2, "max_position_embeddings": 512}),
    "roberta": (_bytelevel_bpe_tokenizer, _ROBERTA_LIKE),
    "xlm-roberta": (_bytelevel_bpe_tokenizer, _ROBERTA_LIKE),
    # ELECTRA-small style: narrower embeddings, projected up to the hidden size
    "electra": (_wordpiece_tokenizer, {"type_vocab_size": 2, "max_position_embeddings": 512, "embedding_size": 16}),
    # DeBERTa-v3 (base/large) style: relative attention with log buckets, no absolute positions, no segments
    "deberta-v2": (
        _wordpiece_tokenizer,
        {
            "type_vocab_size": 0,
            "max_position_embeddings": 512,
            "relative_attention": True,
            "position_buckets": 16,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
            "pos_att_type": "p2c|c2p",
            "position_biased_input": False,
        },
    ),
    # one global-attention layer, then sliding-window (local) layers with a 4-token window; rotary positions
    "modernbert": (
        partial(_wordpiece_tokenizer, token_types=False),
        {
            "max_position_embeddings": 512,
            "global_attn_every_n_layers": 2,
            "local_attention": 4,
            **_WORDPIECE_IDS,
        },
    ),
    "distilbert": (partial(_wordpiece_tokenizer, token_types=False), {"max_position_embeddings": 512}),
    # refused for deep prompts (see support.py); kept here to test the refusal and fft/pt on them
    "albert": (_wordpiece_tokenizer, {"type_vocab_size": 2, "max_position_embeddings": 512, "embedding_size": 16}),
    "deberta": (
        _wordpiece_tokenizer,
        {
            "type_vocab_size": 0,
            "max_position_embeddings": 512,
            "relative_attention": True,
            "pos_att_type": "c2p|p2c",
        },
    ),
}


@cache
def tiny_tokenizer(arch: str) -> PreTrainedTokenizerFast:
    return _ARCHS[arch][0]()


def tiny_archs() -> list[str]:
    return sorted(_ARCHS)


def tiny_backbone(
    arch: str,
    hidden_size: int,
    layers: int,
    heads: int,
    intermediate_size: int,
    attn_implementation: str,
    seed: int = 0,
    dropout: tuple[float | None, float | None] = (None, None),
):
    """A randomly initialised encoder of `arch` with a matching tokenizer; same weights for a given seed."""
    tokenizer = tiny_tokenizer(arch)
    sizes = {
        "hidden_size": hidden_size,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate_size,
    }
    if arch == "distilbert":  # DistilBERT calls its feed-forward width hidden_dim
        sizes["hidden_dim"] = sizes.pop("intermediate_size")
    config = AutoConfig.for_model(arch, vocab_size=len(tokenizer), **sizes, **_ARCHS[arch][1])
    config._attn_implementation = attn_implementation
    set_dropout(config, *dropout)  # (hidden, attention): null keeps the architecture's default
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModel.from_config(config, attn_implementation=attn_implementation)
    return model, tokenizer
