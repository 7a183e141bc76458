"""Data-parallel runs (`torchrun` / `accelerate launch`): the Trainer does the training; this module
only makes every rank agree on one output directory, lets the main process alone write files, and
checks that all ranks finished with the same trained weights."""

from __future__ import annotations

import hashlib
import os

import torch


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _process_group() -> None:
    from accelerate import PartialState

    PartialState()  # initialises torch.distributed from torchrun's environment (gloo on CPU, nccl on GPU)


def agree_on(value):
    """Rank 0's value on every rank (e.g. its timestamped Hydra output directory)."""
    if world_size() == 1:
        return value
    _process_group()
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def replica_digests(state: dict[str, torch.Tensor]) -> list[str]:
    """The trained weights' digest on every rank (one entry when not distributed)."""
    mine = digest(state)
    if world_size() == 1 or not torch.distributed.is_initialized():
        return [mine]
    everyone: list = [None] * world_size()
    torch.distributed.all_gather_object(everyone, mine)
    return everyone
