"""Shared builder of deep prompts (prefix, ptv2): per-layer prefix keys/values for a backbone."""

from ptune_exp.methods.attention import attach_prefix_attention
from ptune_exp.methods.prompts import DeepPrompt, PromptEncoder
from ptune_exp.support import prepare_prefix_attention


def build_deep_prompt(cfg, backbone) -> DeepPrompt:
    prepare_prefix_attention(backbone.model)  # an architecture's own injection, where it needs one (DeBERTa)
    shapes = attach_prefix_attention(backbone.model, backbone.tokenizer)
    width = sum(2 * h * d for h, d in shapes)
    encoder = PromptEncoder(cfg.prefix_len, width, cfg.reparam, cfg.reparam_hidden, backbone.hidden_size)
    return DeepPrompt(encoder, shapes, cfg.prefix_dropout)
