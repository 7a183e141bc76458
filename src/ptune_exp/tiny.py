"""Tiny random-weight backbones with self-built tokenizers, for tests and offline smoke runs.

Nothing here is downloaded: the tokenizer is trained in-process on a fixed word list, the
weights are drawn from a fixed seed, so `model=tiny-bert` is the same model on every machine.
"""

from __future__ import annotations

import string
from functools import lru_cache

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoConfig, AutoModel, PreTrainedTokenizerFast

# Words the tokenizer learns whole; anything else falls back to characters (WordPiece) or bytes (BPE).
_WORDS = (
    "the a an this that was is were not but and very really quite so too movie film book service "
    "hotel room food soup concert guide phone show plot acting music great good excellent wonderful "
    "lovely superb brilliant pleasant bad awful terrible boring dreadful bland horrible dull rude "
    "premise hypothesis question passage answer true false yes no who what when where why how "
    "john mary paris london berlin city country company team player game won lost"
).split()


def _corpus() -> list[str]:
    chars = string.ascii_lowercase + string.digits
    # every character alone and inside a word, so WordPiece learns "x" and "##x" for all of them
    pieces = [" ".join(chars), " ".join("a" + c + "a" for c in chars), string.punctuation]
    return pieces + [" ".join(_WORDS)] * 3


def _wordpiece_tokenizer() -> PreTrainedTokenizerFast:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        _corpus(), trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials, show_progress=False)
    )
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def _bytelevel_bpe_tokenizer() -> PreTrainedTokenizerFast:
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: bos 0, pad 1, eos 2
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(
        _corpus(),
        trainers.BpeTrainer(
            vocab_size=600, special_tokens=specials, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
        model_input_names=["input_ids", "attention_mask"],
    )


# architecture -> (tokenizer builder, config overrides that make it look like its real family)
_ARCHS = {
    "bert": (_wordpiece_tokenizer, {"type_vocab_size": 2, "max_position_embeddings": 512}),
    "roberta": (
        _bytelevel_bpe_tokenizer,
        {"type_vocab_size": 1, "max_position_embeddings": 514, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
    ),
}


@lru_cache(maxsize=None)
def tiny_tokenizer(arch: str) -> PreTrainedTokenizerFast:
    return _ARCHS[arch][0]()


def tiny_archs() -> list[str]:
    return sorted(_ARCHS)


def tiny_backbone(arch: str, hidden_size: int, layers: int, heads: int, intermediate_size: int,
                  attn_implementation: str, seed: int = 0):
    """A randomly initialised encoder of `arch` with a matching tokenizer; same weights for a given seed."""
    tokenizer = tiny_tokenizer(arch)
    config = AutoConfig.for_model(
        arch, vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=intermediate_size, **_ARCHS[arch][1],
    )
    config._attn_implementation = attn_implementation
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModel.from_config(config, attn_implementation=attn_implementation)
    return model, tokenizer
