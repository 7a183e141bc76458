"""What a method is: a validated config, a few facts for the results table, and a prompt builder."""

from __future__ import annotations

from torch import nn

from ptune_exp.config.schema import MethodConfig
from ptune_exp.errors import PtuneError


class Method:
    """One adaptation method. Subclasses set the class attributes and build the prompt."""

    key: str = ""
    title: str = ""  # as the paper's tables name it
    trains_backbone: bool = False
    prompt_site: str = "none"  # none | input | every layer
    adapts_weights: bool = False  # lora, ia3: trainable PEFT layers wrapped around frozen linear layers
    tuned: str = ""  # where the tuned parameters live (a concept column of ptune-exp-compare's table)
    in_paper: bool = True  # one of the methods the P-Tuning v2 paper compares; lora/ia3 are outside references

    def validate(self, cfg: MethodConfig) -> None:
        if not cfg.lr > 0:
            raise PtuneError(f"method.lr={cfg.lr} must be > 0")
        if not 0.0 <= cfg.head_dropout < 1.0:
            raise PtuneError(f"method.head_dropout={cfg.head_dropout} must be in [0, 1)")
        if not self.adapts_weights:
            _no_adapter_knobs(self.key, cfg)
        _check_head(self.key, cfg)
        if self.prompt_site == "none":
            if cfg.prefix_len or cfg.reparam:
                raise PtuneError(
                    f"method={self.key} has no prompt, so method.prefix_len/method.reparam do not apply; "
                    "choose method=pt, prefix or ptv2 to tune a prompt."
                )
            return
        if cfg.prefix_len <= 0:
            raise PtuneError(
                f"method.prefix_len={cfg.prefix_len} must be a positive number of virtual tokens (e.g. 16)"
            )
        if not 0.0 <= cfg.prefix_dropout < 1.0:
            raise PtuneError(f"method.prefix_dropout={cfg.prefix_dropout} must be in [0, 1)")
        if cfg.reparam and cfg.reparam_hidden <= 0:
            raise PtuneError(f"method.reparam_hidden={cfg.reparam_hidden} must be > 0")

    def build_prompt(self, cfg: MethodConfig, backbone) -> nn.Module:
        raise NotImplementedError

    def templated(self, cfg: MethodConfig) -> bool:
        """Whether inputs are written through the task's template (a [MASK] slot, the virtual tokens' place)."""
        return cfg.head == "verbalizer"

    def template_slots(self, cfg: MethodConfig) -> int:
        """How many virtual tokens the template places in the input (input prompts only; deep ones take none)."""
        return cfg.prefix_len if self.prompt_site == "input" and self.templated(cfg) else 0

    def adapt(self, cfg: MethodConfig, backbone: nn.Module) -> None:
        """Add trainable layers inside the frozen backbone (lora, ia3); the others add none."""


def _no_adapter_knobs(key: str, cfg: MethodConfig) -> None:
    knobs = (cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules, cfg.feedforward_modules)
    if any(k not in (0, 0.0, None) for k in knobs):
        raise PtuneError(
            f"method={key} adds no adapter layers, so method.lora_*/target_modules/feedforward_modules do not "
            "apply; choose method=lora or method=ia3 to tune adapters."
        )


HEADS = ("linear", "pooler", "verbalizer")


def _check_head(key: str, cfg: MethodConfig) -> None:
    if cfg.head not in HEADS:
        raise PtuneError(f"method.head={cfg.head}: choose one of {', '.join(HEADS)} (docs/heads.md)")
    if cfg.prompt_encoder and key != "ptv1":
        raise PtuneError(
            f"method.prompt_encoder={cfg.prompt_encoder} applies to method=ptv1 only; method={key} "
            "reparameterises through method.reparam=true (an MLP): drop method.prompt_encoder"
        )


METHODS: dict[str, Method] = {}


def register(method_cls: type[Method]) -> type[Method]:
    METHODS[method_cls.key] = method_cls()
    return method_cls


def get_method(key: str) -> Method:
    if key not in METHODS:
        raise PtuneError(f"unknown method {key!r}; choose one of {sorted(METHODS)} (method=<key>)")
    return METHODS[key]
