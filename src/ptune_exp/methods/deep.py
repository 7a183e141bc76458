"""What prefix and ptv2 share: a deep prompt (per-layer prefix keys/values) for a prepared backbone."""

from ptune_exp.methods.base import Method
from ptune_exp.methods.prompts import DeepPrompt, PromptEncoder


class DeepPromptMethod(Method):
    """A method whose prompt reaches every attention layer as prefix keys/values; backbone frozen."""

    prompt_site = "every layer"

    def build_prompt(self, cfg, backbone) -> DeepPrompt:
        """`backbone.prefix_shapes` comes from `ptune_exp.injection.prepare` (one (kv_heads, head_dim) per layer)."""
        shapes = backbone.prefix_shapes
        width = sum(2 * h * d for h, d in shapes)
        std = getattr(backbone.model.config, "initializer_range", 0.02)  # as the backbone initialises new layers
        encoder = PromptEncoder(cfg.prefix_len, width, cfg.reparam, cfg.reparam_hidden, backbone.hidden_size, None, std)
        return DeepPrompt(encoder, shapes, cfg.prefix_dropout)
