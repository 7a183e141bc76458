"""prefix: prefix tuning (Li & Liang 2021). Per-layer prefix keys/values produced by the MLP
reparameterisation (embedding -> linear -> tanh -> linear); backbone frozen; head on [CLS]/tokens."""

from ptune_exp.errors import PtuneError
from ptune_exp.methods.base import register
from ptune_exp.methods.deep import DeepPromptMethod


@register
class PrefixTuning(DeepPromptMethod):
    key = "prefix"
    title = "Prefix tuning"
    tuned = "prefix keys/values of every layer, made by an MLP"

    def validate(self, cfg):
        super().validate(cfg)
        if not cfg.reparam:
            raise PtuneError(
                "method=prefix always uses the MLP reparameterisation; for a flat deep prompt use method=ptv2"
            )
