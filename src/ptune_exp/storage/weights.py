"""Weights files that the tools read back (`trainable.safetensors`, an export's `weights.safetensors`):
their sha256, checked against the digest their record or export.json holds before anything uses
them, and loaded with errors that name the file, never a traceback.

A record or export written before digests existed has none: it is accepted with a warning.
"""

from __future__ import annotations

import hashlib
import os
import re

from ptune_exp.errors import PtuneError, warn

SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_in(folder: str, name, where: str) -> str:
    """`folder/name` for a file name read from `where` (a record, an export): a plain name, never a path."""
    if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
        raise PtuneError(f"{where}: weights={name!r} must be a file name inside {folder}")
    return os.path.join(folder, name)


def verify(path: str, expected, where: str, fix: str) -> None:
    """Refuse a weights file that is missing or whose sha256 is not the one `where` records; `fix` says
    what to do. No recorded digest (an older version wrote `where`): a warning, and the file is used."""
    if not os.path.isfile(path):
        raise PtuneError(f"{path} {_not_a_file(path)}; {fix}")
    if expected is None:
        warn(f"{where} records no sha256 of {os.path.basename(path)} (an older ptune-exp wrote it): not verified")
        return
    if not isinstance(expected, str) or not SHA256.fullmatch(expected):
        raise PtuneError(f"{where}: weights_sha256={expected!r} is not a sha256 (64 lowercase hex digits)")
    actual = sha256_file(path)
    if actual != expected:
        raise PtuneError(
            f"{path} has sha256 {actual[:16]}..., but {where} records {expected[:16]}...: "
            f"the file is damaged or was replaced; {fix}"
        )


def load_tensors(path: str) -> dict:
    """The tensors of a safetensors file; an unreadable or malformed one is an error naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not os.path.isfile(path):
        raise PtuneError(f"{path} {_not_a_file(path)}")
    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PtuneError(f"{path} is not a readable safetensors file ({reason})") from None
    check_finite(state, path)
    return state


def _not_a_file(path: str) -> str:
    """Why `path` is no weights file: missing, or there but not a regular file (a folder, a device, a pipe)."""
    if not os.path.lexists(path):
        return "is missing"
    if os.path.islink(path) and not os.path.exists(path):
        return f"is a broken symbolic link (to {os.readlink(path)})"
    target = f" (a link to {os.path.realpath(path)})" if os.path.islink(path) else ""
    return f"is not a regular file{target}"


def check_finite(state: dict, path: str) -> None:
    """Every floating-point tensor holds finite values only: NaN or inf weights predict nothing meaningful
    (a confident label with NaN scores), so they are refused, naming the first such tensor."""
    import torch

    for name, tensor in state.items():
        if torch.is_floating_point(tensor) and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise PtuneError(
                f"{path}: tensor {name} holds {bad} NaN or infinite value(s); these weights are unusable: "
                "train the run again (a lower method.lr if its loss diverged)"
            )


def load_into(model, state: dict, path: str) -> None:
    """Load `state` (read from `path`) into the model: every trainable weight must be there, with its
    shape, and nothing else may be (the frozen backbone is loaded separately)."""
    trainable = {n for n, q in model.named_parameters() if q.requires_grad}
    check_finite(state, path)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a shape that does not fit
        sizes = [line.strip() for line in str(e).splitlines() if "size mismatch" in line]
        raise PtuneError(
            f"{path} does not fit the rebuilt model ({(sizes or [str(e)])[0]}); was it written for another model?"
        ) from None
    missing = sorted(trainable & set(result.missing_keys))
    if result.unexpected_keys or missing:
        raise PtuneError(
            f"{path} does not fit the rebuilt model (missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}); "
            "was it written for another model or by another version?"
        )
