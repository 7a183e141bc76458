"""pt: prompt tuning (Lester et al. 2021). `prefix_len` trainable vectors in the input embedding sequence
only (after [CLS]); backbone frozen. Flat vectors are initialised from randomly drawn vocabulary
embeddings; `method.reparam=true` produces them through the MLP instead. With `method.head=verbalizer`
(Lester et al.'s setting) the vectors go where the task's template puts them (P-tuning, with its
prompt encoder, is `method=ptv1`)."""

import torch

from ptune_exp.methods.base import Method, register
from ptune_exp.methods.prompts import InputPrompt, PromptEncoder, TemplatePrompt


@register
class PromptTuning(Method):
    """Input-level prompt vectors, initialised from randomly drawn vocabulary embeddings."""

    key = "pt"
    title = "Prompt tuning"
    tuned = "prompt vectors in the input embeddings"
    prompt_site = "input"

    def build_prompt(self, cfg, backbone):
        words = backbone.model.get_input_embeddings().weight
        width = words.shape[1]  # the word-embedding width: narrower than hidden_size on ELECTRA-small, ALBERT
        pick = torch.randint(0, words.shape[0], (cfg.prefix_len,))
        std = getattr(backbone.model.config, "initializer_range", 0.02)  # for the MLP, when reparam=true
        init = words[pick].detach().float()
        encoder = PromptEncoder(cfg.prefix_len, width, cfg.reparam, cfg.reparam_hidden, width, init, std)
        if self.templated(cfg):
            return TemplatePrompt(encoder, cfg.prefix_dropout, backbone.tokenizer.pad_token_id)
        return InputPrompt(encoder, cfg.prefix_dropout)
