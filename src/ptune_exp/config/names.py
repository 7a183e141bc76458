"""The names a run is filed under, decided from the composed config (OmegaConf resolvers, so that
Hydra's run folder, named before `run()` starts, uses them too: `${ptune.model:}`, `${ptune.task:}`).

Model: a preset's short name (`model=bert-base` -> `bert-base`) applies only while `model.name_or_path`
is the preset's own. Pointed at another hub id or folder, the run is filed, recorded and tabled under a
name derived from it, unless `model.name` is given too: a hub id with `/` written `--`
(`google--electra-base`); a folder by its last two components (`.../run3/checkpoint-500` ->
`run3--checkpoint-500`, so two `checkpoint-500` folders do not collide). `model=auto
model.name_or_path=...` takes the architecture from the checkpoint's config, and its name this way.

Task: `task.name`; a custom task (`task=custom`) without one is refused here, before any folder exists.
"""

from __future__ import annotations

import os
import re

from ptune_exp.errors import PtuneError

CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")
AUTO = "auto"  # conf/model/auto.yaml: any checkpoint, named after its name_or_path
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def derived_name(name_or_path: str) -> str:
    """A run name for a checkpoint: the hub id (`/` as `--`), or a folder's last two components."""
    path = os.path.expanduser(name_or_path)
    if os.path.isdir(path) or path.startswith(("/", "./", "../", "~")) or os.sep + os.sep in path:
        parts = [p for p in os.path.normpath(os.path.abspath(path)).split(os.sep) if p]
        text = "--".join(parts[-2:])
    else:
        text = name_or_path.strip("/").replace("/", "--")
    return _UNSAFE.sub("_", text).lstrip("._+-")[-100:] or "model"


def preset_of(name) -> dict | None:
    """The package's model preset `name` (None: there is no such preset)."""
    from omegaconf import OmegaConf

    path = os.path.join(CONF, "model", f"{name}.yaml")
    return OmegaConf.to_container(OmegaConf.load(path)) if isinstance(name, str) and os.path.isfile(path) else None


def model_name(model, given: list[str] = ()) -> str:
    """The name the run is filed under (see the module's doc); `given`: the command line's overrides."""
    from omegaconf import OmegaConf

    name = None if OmegaConf.is_missing(model, "name") else model.get("name")
    path = model.get("name_or_path")
    if name == AUTO and path is None:
        raise PtuneError("model=auto needs model.name_or_path=HUB_ID_OR_DIR (the checkpoint to load)")
    if path is None:
        if name is None:
            raise PtuneError("model.name is missing: give model.name=NAME, or model.name_or_path=HUB_ID_OR_DIR")
        return name
    if name is not None:
        explicit = any(o.lstrip("+~").split("=", 1)[0] == "model.name" for o in given)
        preset = preset_of(name)
        if explicit or preset is None or preset.get("name_or_path") == path:
            return name  # given, the user's own preset, or the preset's own checkpoint
    return derived_name(str(path))


def _overrides(root) -> list[str]:
    hydra = root.get("hydra") if "hydra" in root else None
    return list(hydra.overrides.task) if hydra is not None and "overrides" in hydra else []


def _model(*, _root_) -> str:
    return model_name(_root_.model, _overrides(_root_))


def _task(*, _root_) -> str:
    from omegaconf import OmegaConf

    if OmegaConf.is_missing(_root_.task, "name"):
        raise PtuneError("task=custom needs task.name=NAME (the name its records, run folders and tables use)")
    return _root_.task.name


def register_resolvers() -> None:
    """`${ptune.model:}` and `${ptune.task:}` for conf/config.yaml's run folders."""
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("ptune.model", _model, replace=True)
    OmegaConf.register_new_resolver("ptune.task", _task, replace=True)
