"""PromptTrainer overrides three private members of transformers' Trainer. A rename in transformers would turn
an override into dead code (a checkpoint with the whole frozen backbone in it, a scheduler recreated after
resume, unexpected keys loaded in silence): these tests fail first."""

import inspect

from transformers import Trainer

from ptune_exp.pipeline.trainer import PromptTrainer

SOURCE = inspect.getsource(Trainer)


def test_the_overridden_private_methods_still_exist_with_the_same_parameters():
    for name in ("_save", "_issue_warnings_after_load"):
        assert name in vars(PromptTrainer), f"PromptTrainer no longer overrides {name}"
        theirs = list(inspect.signature(getattr(Trainer, name)).parameters)
        ours = list(inspect.signature(getattr(PromptTrainer, name)).parameters)
        assert theirs == ours, f"Trainer.{name}{theirs} != PromptTrainer.{name}{ours}"


def test_the_trainer_still_calls_them():
    assert "self._save(" in SOURCE, "Trainer no longer saves a checkpoint's weights through _save"
    assert "self._issue_warnings_after_load(" in SOURCE, "Trainer no longer reports a load through this method"


def test_the_scheduler_flag_set_by_create_scheduler_is_still_the_trainers():
    # Trainer keeps an lr scheduler made in create_scheduler across resume only when it set this flag
    assert SOURCE.count("_created_lr_scheduler") >= 2
    assert "_created_lr_scheduler" in inspect.getsource(PromptTrainer.create_scheduler)
