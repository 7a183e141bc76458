"""prefix: prefix tuning (Li & Liang 2021). Per-layer prefix keys/values produced by the MLP
reparameterisation (embedding -> linear -> tanh -> linear); backbone frozen; head on [CLS]/tokens."""

from ptune_exp.errors import PtuneError
from ptune_exp.methods.base import Method, register
from ptune_exp.methods.deep import build_deep_prompt


@register
class PrefixTuning(Method):
    key = "prefix"
    title = "Prefix tuning"
    prompt_site = "every layer"

    def validate(self, cfg):
        super().validate(cfg)
        if not cfg.reparam:
            raise PtuneError(
                "method=prefix always uses the MLP reparameterisation; for a flat deep prompt use method=ptv2"
            )

    def build_prompt(self, cfg, backbone):
        return build_deep_prompt(cfg, backbone)
