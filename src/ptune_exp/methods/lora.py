"""lora: LoRA (Hu et al. 2021, arXiv:2106.09685), a reference method outside the P-Tuning v2 paper.
A trainable low-rank update B·A (rank `method.lora_rank`, scaled by `lora_alpha / lora_rank`, dropout
`lora_dropout` on its input) beside each target weight, through PEFT (`methods/adapters.py`); the
backbone's own weights stay frozen and are never merged; random [CLS]/token + linear head."""

from ptune_exp.errors import PtuneError
from ptune_exp.methods.adapters import AdapterMethod
from ptune_exp.methods.base import register


@register
class LoRA(AdapterMethod):
    key = "lora"
    title = "LoRA"
    tuned = "low-rank updates of attention weights"

    def validate(self, cfg):
        if cfg.feedforward_modules:
            raise PtuneError("method.feedforward_modules is an (IA)³ knob (method=ia3); LoRA adapts target_modules")
        super().validate(cfg)
        if cfg.lora_rank <= 0 or cfg.lora_alpha <= 0:
            raise PtuneError(
                f"method.lora_rank={cfg.lora_rank} and method.lora_alpha={cfg.lora_alpha} must be > 0 (e.g. 8 and 8)"
            )
        if not 0.0 <= cfg.lora_dropout < 1.0:
            raise PtuneError(f"method.lora_dropout={cfg.lora_dropout} must be in [0, 1)")

    def peft_config(self, cfg, target, feedforward, exclude):
        from peft import LoraConfig

        return LoraConfig(
            r=cfg.lora_rank,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=target,
            exclude_modules=exclude or None,
            bias="none",
        )
