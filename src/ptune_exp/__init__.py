"""ptune-exp: compare deep prompt tuning (P-Tuning v2), prefix tuning, prompt tuning and
full fine-tuning on frozen encoders, from one Hydra entrypoint."""

__version__ = "0.1.0"
