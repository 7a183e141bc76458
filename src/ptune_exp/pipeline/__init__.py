"""One run, in order: plan (validated config) -> experiment (data, model) -> engine (the HF Trainer, dev
selection, evaluation) -> run (the lifecycle around them)."""
