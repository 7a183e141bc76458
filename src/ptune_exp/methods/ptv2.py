"""ptv2: P-Tuning v2 (Liu et al., ACL 2022). Per-layer prefix keys/values, flat by default
(`method.reparam=true` for the MLP), dropout on the prefix, random [CLS]/token + linear head,
backbone frozen."""

from ptune_exp.methods.base import register
from ptune_exp.methods.deep import DeepPromptMethod


@register
class PTuningV2(DeepPromptMethod):
    key = "ptv2"
    title = "P-Tuning v2"
    tuned = "prefix keys/values of every layer"
