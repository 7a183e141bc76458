"""ia3: (IA)³ (Liu et al. 2022, arXiv:2205.05638), a reference method outside the P-Tuning v2 paper.
Trainable vectors that rescale the keys, the values and the feed-forward activations (initialised to
ones, so training starts from the stock model), through PEFT (`methods/adapters.py`); the backbone's own
weights stay frozen and are never merged; random [CLS]/token + linear head."""

from ptune_exp.errors import PtuneError
from ptune_exp.methods.adapters import AdapterMethod
from ptune_exp.methods.base import register


@register
class IA3(AdapterMethod):
    key = "ia3"
    title = "(IA)³"
    tuned = "rescaling vectors of keys, values and feed-forward activations"

    def validate(self, cfg):
        super().validate(cfg)
        if cfg.lora_rank or cfg.lora_alpha or cfg.lora_dropout:
            raise PtuneError("method.lora_rank/lora_alpha/lora_dropout are LoRA knobs (method=lora); (IA)³ has none")

    def peft_config(self, cfg, target, feedforward, exclude):
        from peft import IA3Config

        return IA3Config(target_modules=target, feedforward_modules=feedforward, exclude_modules=exclude or None)
