"""The trained model: backbone + the method's prompt + the task family's head.

Three independent axes meet here and nowhere else: the backbone (any encoder), the prompt (which
method), the head (which task family). The forward signature is what the HF Trainer feeds.
"""

from __future__ import annotations

import torch
from torch import nn


class PromptedModel(nn.Module):
    # Heads compute a mean loss per batch and take no `num_items_in_batch`: the Trainer must scale the
    # loss for gradient accumulation itself (it would assume otherwise, seeing **features below).
    accepts_loss_kwargs = False

    def __init__(self, backbone: nn.Module, prompt: nn.Module, head: nn.Module, train_backbone: bool):
        super().__init__()
        self.backbone, self.prompt, self.head = backbone, prompt, head
        self.train_backbone = train_backbone
        self.backbone.requires_grad_(train_backbone)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **features):
        # multiple-choice batches arrive as (batch, choices, length): encode every choice alike
        batch_shape = input_ids.shape[:-1]
        flat = lambda t: None if t is None else t.reshape(-1, t.shape[-1])
        inputs = self.prompt.backbone_inputs(self.backbone, flat(input_ids), flat(attention_mask), flat(token_type_ids))
        hidden = self.prompt.strip(self.backbone(**inputs).last_hidden_state)
        if getattr(self.head, "reads_input_ids", False):  # a verbalizer finds the [MASK] position
            features["input_ids"] = flat(input_ids)
        return self.head(
            hidden, labels=labels, attention_mask=flat(attention_mask), batch_shape=batch_shape, **features
        )

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Only what training changed: prompt, head, adapter layers, and the backbone only if it was trained."""
        return {n: p.detach() for n, p in self.named_parameters() if p.requires_grad}

    def parameter_counts(self) -> dict[str, int]:
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        # the backbone's own weights: adapter layers a method adds inside it (lora, ia3) are not among them
        backbone = sum(p.numel() for p in self.backbone.parameters() if self.train_backbone or not p.requires_grad)
        return {"trainable": trainable, "total": total, "backbone": backbone}

    def activation_checkpointing_enable(self) -> None:
        """Recompute the backbone's layer activations in the backward pass (`train.gradient_checkpointing`).
        Non-reentrant, so the prefix (a forward kwarg) gets its gradient through the recomputation."""
        self.backbone.activation_checkpointing_enable({"use_reentrant": False})
