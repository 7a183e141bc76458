"""Shared test helpers: compose the real configs with Hydra's compose API, shrink the run."""

from __future__ import annotations

import os

import pytest
import torch
from hydra import compose, initialize_config_module

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# `make test` runs two pytest-xdist workers on two cores: one torch thread each, or they fight over the cores
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))

# A couple of optimizer steps on a handful of examples, tiny random model: checks the wiring, not scores.
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]


def compose_cfg(*overrides: str):
    with initialize_config_module("ptune_exp.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def cfg_factory(tmp_path):
    """cfg_factory(*overrides) -> a composed config writing into its own folder under tmp_path."""
    counter = iter(range(1000))

    def make(*overrides: str, smoke: bool = True):
        out = tmp_path / f"run{next(counter)}"
        return compose_cfg(*(SMOKE if smoke else []), f"output_dir={out}", *overrides)

    return make
