"""ptv1: P-tuning (Liu et al. 2021, "GPT Understands, Too"). `prefix_len` virtual tokens made by a prompt
encoder and placed in the input where the task's template says (`task.template`, docs/heads.md); backbone
frozen; the answer read through the masked-LM head at the template's [MASK] (`method.head=verbalizer`, the
default) as in the original.

The encoder follows the official code (THUDM/P-tuning, PT-Fewshot/pet/wrapper.py): an embedding of the
virtual tokens, then `method.prompt_encoder=lstm` a 2-layer bidirectional LSTM (hidden size = the word
embedding width) and Linear(2w, w) - ReLU - Linear(w, w), or `mlp` Linear(w, w) - ReLU - Linear(w, w). Its
layers start from PyTorch's defaults, as there."""

from torch import nn

from ptune_exp.errors import PtuneError
from ptune_exp.methods.base import Method, register
from ptune_exp.methods.prompts import TemplatePrompt

ENCODERS = ("lstm", "mlp")


class ReparamEncoder(nn.Module):
    """P-tuning's prompt encoder: `prefix_len` rows of the word-embedding width."""

    def __init__(self, prefix_len: int, width: int, kind: str):
        super().__init__()
        self.prefix_len, self.width, self.kind = prefix_len, width, kind
        self.embedding = nn.Embedding(prefix_len, width)
        if kind == "lstm":
            self.lstm_head = nn.LSTM(width, width, num_layers=2, bidirectional=True, batch_first=True)
        inner = 2 * width if kind == "lstm" else width
        self.mlp_head = nn.Sequential(nn.Linear(inner, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self):
        rows = self.embedding.weight.unsqueeze(0)
        if self.kind == "lstm":
            rows = self.lstm_head(rows)[0]
        return self.mlp_head(rows).squeeze(0)


@register
class PTuning(Method):
    key = "ptv1"
    title = "P-tuning"
    tuned = "virtual tokens in the input, made by a prompt encoder"
    prompt_site = "input"

    def validate(self, cfg):
        super().validate(cfg)
        if cfg.prompt_encoder not in ENCODERS:
            raise PtuneError(
                f"method.prompt_encoder={cfg.prompt_encoder or '(empty)'}: method=ptv1 takes lstm (the original) or mlp"
            )
        if not cfg.reparam:
            raise PtuneError(
                "method=ptv1 always reparameterises its virtual tokens through method.prompt_encoder; "
                "for flat input vectors use method=pt"
            )

    def templated(self, cfg) -> bool:
        return True

    def build_prompt(self, cfg, backbone):
        width = backbone.model.get_input_embeddings().weight.shape[1]
        encoder = ReparamEncoder(cfg.prefix_len, width, cfg.prompt_encoder)
        return TemplatePrompt(encoder, cfg.prefix_dropout, backbone.tokenizer.pad_token_id)
