"""What lora and ia3 share: PEFT's adapter layers wrapped around linear layers of a frozen backbone.

`peft.inject_adapter_in_model` replaces each target `nn.Linear` by a PEFT layer that keeps the original
module (as `base_layer`, its weights untouched and frozen) and adds the method's trainable tensors
beside it (LoRA's `lora_A`/`lora_B`, (IA)³'s `ia3_l`). Nothing is merged into the backbone, so its own
weights stay bit-identical through training, and the run's trainable state (checkpoints,
`trainable.safetensors`, exports) is the adapter tensors plus the head. `peft` is imported only here,
when a model is adapted.

Which layers: `method.target_modules` in PEFT's matching (a module's name, or the end of its dotted
name, e.g. `query` or `encoder.layer.0.output.dense`); (IA)³ rescales the *input* of the
`method.feedforward_modules` among them (the feed-forward activations) and the *output* of the others.
Null takes the architecture's default from `DEFAULTS`: LoRA on the query and value projections (Hu et
al. 2021 adapt W_q and W_v); (IA)³ on keys, values and the feed-forward down-projection (Liu et al. 2022:
l_k, l_v, l_ff). BERT-style models name both the attention output and the feed-forward down-projection
`...output.dense`, so the default excludes `attention.output.dense`. ModernBERT fuses q/k/v into one
`Wqkv`: LoRA adapts all three there, and (IA)³ rescales queries too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ptune_exp.config.schema import MethodConfig
from ptune_exp.errors import PtuneError
from ptune_exp.methods.base import Method
from ptune_exp.methods.prompts import NoPrompt


@dataclass(frozen=True)
class Targets:
    """One architecture's default PEFT targets (module names as PEFT matches them)."""

    lora: tuple[str, ...]
    ia3: tuple[str, ...]
    feedforward: tuple[str, ...]  # ia3 targets whose input is rescaled
    exclude: tuple[str, ...] = ()


_BERT_LIKE = Targets(
    ("query", "value"), ("key", "value", "output.dense"), ("output.dense",), ("attention.output.dense",)
)
DEFAULTS: dict[str, Targets] = {  # keyed by transformers' model_type, as the support matrix is
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
    "electra": _BERT_LIKE,
    "deberta-v2": Targets(
        ("query_proj", "value_proj"),
        ("key_proj", "value_proj", "output.dense"),
        ("output.dense",),
        ("attention.output.dense",),
    ),
    "distilbert": Targets(("q_lin", "v_lin"), ("k_lin", "v_lin", "ffn.lin2"), ("ffn.lin2",)),
    "modernbert": Targets(("Wqkv",), ("Wqkv", "mlp.Wo"), ("mlp.Wo",)),
    "albert": Targets(("query", "value"), ("key", "value", "ffn_output"), ("ffn_output",)),
    "deberta": Targets(("in_proj",), ("in_proj", "output.dense"), ("output.dense",), ("attention.output.dense",)),
}


def targets(cfg: MethodConfig, model_type: str, key: str) -> tuple[list[str], list[str], list[str]]:
    """(target, feedforward, exclude) module names for `key` (lora | ia3): the config's, else the default."""
    if cfg.target_modules is not None:
        return list(cfg.target_modules), list(cfg.feedforward_modules or []), []
    if model_type not in DEFAULTS:
        raise PtuneError(
            f"method={key} has no default target modules for model_type {model_type!r}; name the linear layers "
            "to adapt, e.g. method.target_modules=[query,value] (README: Methods)"
        )
    d = DEFAULTS[model_type]
    chosen = d.lora if key == "lora" else d.ia3
    return list(chosen), list(d.feedforward if key == "ia3" else ()), [e for e in d.exclude if e not in chosen]


class AdapterMethod(Method):
    """A method that trains PEFT adapter layers inside the frozen backbone, plus the head; no prompt."""

    prompt_site = "none"
    adapts_weights = True
    in_paper = False

    def validate(self, cfg: MethodConfig) -> None:
        super().validate(cfg)
        if cfg.target_modules is not None and not cfg.target_modules:
            raise PtuneError("method.target_modules=[] adapts nothing; name modules, or null for the default")
        ff = cfg.feedforward_modules or []
        if ff and not set(ff) <= set(cfg.target_modules or []):
            raise PtuneError(f"method.feedforward_modules={ff} must be a subset of method.target_modules (set both)")

    def build_prompt(self, cfg: MethodConfig, backbone) -> NoPrompt:
        return NoPrompt()

    def peft_config(self, cfg: MethodConfig, target: list[str], feedforward: list[str], exclude: list[str]):
        raise NotImplementedError

    def adapt(self, cfg: MethodConfig, backbone) -> None:
        """Wrap the target layers in place; PEFT marks only the adapter tensors trainable."""
        from peft import inject_adapter_in_model

        config = self.peft_config(cfg, *targets(cfg, backbone.config.model_type, self.key))
        try:
            inject_adapter_in_model(config, backbone)
        except ValueError as e:  # e.g. no module matched the targets
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise PtuneError(
                f"method={self.key}: PEFT could not adapt the backbone ({first}); check "
                "method.target_modules against the model's module names"
            ) from None
