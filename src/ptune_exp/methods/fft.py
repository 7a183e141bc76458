"""fft: full fine-tuning. Every weight trains; [CLS]/token + linear head; no prompt."""

from ptune_exp.methods.base import Method, register
from ptune_exp.methods.prompts import NoPrompt


@register
class FullFineTuning(Method):
    """No prompt: the backbone itself trains."""

    key = "fft"
    title = "Fine-tuning"
    tuned = "every weight of the backbone"
    trains_backbone = True
    prompt_site = "none"

    def build_prompt(self, cfg, backbone):
        return NoPrompt()
