"""The one model builder: backbone + the method's prompt + the task family's head.

`run`, `ptune-exp-eval`, exports, `ptune-exp-bench` and the tests all build models here, so a model is
assembled the same way everywhere (and with the same random draws in the same order: backbone, prefix
probe, prompt, head, adapter layers). `build_model` takes a model config; `assemble` takes any loader (the benchmark's
random-weight shapes, the tests' tiny models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ptune_exp.config.schema import MethodConfig, ModelConfig
from ptune_exp.errors import PtuneError
from ptune_exp.injection import prepare
from ptune_exp.methods import METHODS, Method
from ptune_exp.model.backbones import Backbone, check_head, load_backbone, model_type_of
from ptune_exp.model.prompted import PromptedModel
from ptune_exp.tasks.families.templates import with_head


@dataclass(frozen=True)
class BuildOptions:
    """How the assembled model is held: length check, frozen-backbone dtype, gradient checkpointing."""

    max_seq_len: int | None = None  # checked against the position embeddings (pt's virtual tokens included)
    frozen_dtype: torch.dtype = torch.float32
    gradient_checkpointing: bool = False
    model_name: str = "the model"


def build_model(
    model_cfg: ModelConfig,
    method: Method,
    method_cfg: MethodConfig,
    make_head: Callable[[int], nn.Module],
    options: BuildOptions = BuildOptions(),
) -> tuple[PromptedModel, object]:
    """The model of `conf/model/<name>.yaml` with `method`'s prompt and the head `make_head(hidden_size)`."""
    model_type = model_type_of(model_cfg)  # read without weights: a refused pair stops before any load
    load = lambda implementation: load_backbone(model_cfg, implementation, method_cfg.head)
    return assemble(model_type, model_cfg.attn_implementation, load, method, method_cfg, make_head, options)


def assemble(
    model_type: str,
    attn: str,
    load: Callable[[str], Backbone],
    method: Method,
    method_cfg: MethodConfig,
    make_head: Callable[[int], nn.Module],
    options: BuildOptions = BuildOptions(),
) -> tuple[PromptedModel, object]:
    """Load through `load(attn_implementation)`, wire the prompt in, add the head; returns (model, tokenizer).
    A head that reads parts of the backbone (pooler, masked-LM head: `bind`) gets them here."""
    check_head(model_type, method_cfg.head)
    backbone = prepare(model_type, method, attn, load, METHODS.values())
    _check_length(backbone, method, method_cfg, options)
    prompt = method.build_prompt(method_cfg, backbone)
    head = make_head(backbone.hidden_size)
    if hasattr(head, "bind"):
        head.bind(backbone, method.trains_backbone)
    model = PromptedModel(backbone.model, prompt, head, method.trains_backbone)
    method.adapt(method_cfg, model.backbone)  # lora/ia3: trainable PEFT layers inside the frozen backbone
    if not method.trains_backbone and options.frozen_dtype == torch.bfloat16:
        _frozen_to_bf16(model.backbone)
    if options.gradient_checkpointing:
        model.activation_checkpointing_enable()
    return model, backbone.tokenizer


def _frozen_to_bf16(backbone: nn.Module) -> None:
    """No fp32 copy of weights nobody updates (autocast computes in bf16 anyway); adapter tensors that
    train inside the backbone stay fp32, like prompts and heads."""
    backbone.to(torch.bfloat16)
    for p in backbone.parameters():
        if p.requires_grad:
            p.data = p.data.float()


def _check_length(backbone: Backbone, method: Method, method_cfg: MethodConfig, options: BuildOptions) -> None:
    """pt's virtual tokens occupy positions; the whole sequence must fit the position embeddings."""
    limit, length = backbone.max_positions, options.max_seq_len
    # template-placed virtual tokens are counted inside task.max_seq_len already
    extra = method_cfg.prefix_len if method.prompt_site == "input" and not method.templated(method_cfg) else 0
    if limit is None or length is None or length + extra <= limit:
        return
    raise PtuneError(
        f"task.max_seq_len={length}"
        + (f" + method.prefix_len={extra}" if extra else "")
        + f" exceeds the {limit} positions of {options.model_name}; lower task.max_seq_len"
        + (" or method.prefix_len" if extra else "")
    )


def task_for(spec, method: Method, method_cfg: MethodConfig):
    """The task spec as the method's head and prompt placement read it (templates.with_head)."""
    return with_head(spec, method_cfg.head, method.templated(method_cfg), method.template_slots(method_cfg))
