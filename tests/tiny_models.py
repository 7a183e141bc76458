"""Building tiny prompted models with the project's one builder, without the config plumbing."""

import torch

from ptune_exp.injection import ARCHITECTURES
from ptune_exp.methods import MethodConfig, get_method
from ptune_exp.model.backbones import Backbone
from ptune_exp.model.build import assemble
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.model.tiny import tiny_backbone
from ptune_exp.tasks.families.classification import ClassificationHead

SENTENCES = ["the movie was great", "i hated the soup and the service was rude too"]
SMALL = {
    "fft": {},
    "pt": {"prefix_len": 4},
    "prefix": {"prefix_len": 4, "reparam": True, "reparam_hidden": 16},
    "ptv2": {"prefix_len": 4},
    "lora": {"lora_rank": 2, "lora_alpha": 4.0},
    "ia3": {},
}


def attn_of(arch: str) -> str:
    return ARCHITECTURES[arch].attn_implementations[0]


def build_tiny(arch: str, method: str, attn: str | None = None, seed: int = 0, **knobs) -> tuple[PromptedModel, object]:
    """A tiny random `arch` with `method`'s prompt (4 virtual tokens) or adapters (LoRA rank 2) and a 2-label
    head, in eval mode."""
    m = get_method(method)
    cfg = MethodConfig(name=method, lr=0.01, head_dropout=0.0, **{**SMALL[method], **knobs})
    m.validate(cfg)
    attn = attn or attn_of(arch)

    def loader(implementation: str) -> Backbone:
        model, tok = tiny_backbone(arch, 32, 2, 4, 64, implementation)
        torch.manual_seed(seed)  # the prompt's draws (prefix probe, rows) and the head's, from one seed
        return Backbone(model, tok)

    model, tok = assemble(arch, attn, loader, m, cfg, lambda hidden: ClassificationHead(hidden, 2, 0.0))
    return model.eval(), tok


def batch(tok, texts=SENTENCES):
    return tok(texts, padding=True, return_tensors="pt")


def hidden(model, enc):
    """The prompted encoder's output, aligned with the input tokens (pt's virtual tokens stripped)."""
    ids, mask, types = enc["input_ids"], enc["attention_mask"], enc.get("token_type_ids")
    inputs = model.prompt.backbone_inputs(model.backbone, ids, mask, types)
    return model.prompt.strip(model.backbone(**inputs).last_hidden_state)
