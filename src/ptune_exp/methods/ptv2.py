"""ptv2: P-Tuning v2 (Liu et al., ACL 2022). Per-layer prefix keys/values, flat by default
(`method.reparam=true` for the MLP), dropout on the prefix, random [CLS]/token + linear head,
backbone frozen."""

from ptune_exp.methods.base import Method, register
from ptune_exp.methods.deep import build_deep_prompt


@register
class PTuningV2(Method):
    key = "ptv2"
    title = "P-Tuning v2"
    prompt_site = "every layer"

    def build_prompt(self, cfg, backbone):
        return build_deep_prompt(cfg, backbone)
