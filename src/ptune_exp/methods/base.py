"""What a method is: a validated config, a few facts for the results table, and a prompt builder."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from ptune_exp.errors import PtuneError


@dataclass(frozen=True)
class MethodConfig:
    """The validated form of `conf/method/<key>.yaml` (`method.*` on the command line)."""

    name: str
    lr: float
    prefix_len: int = 0
    prefix_dropout: float = 0.0
    reparam: bool = False
    reparam_hidden: int = 512
    head_dropout: float = 0.1

    @classmethod
    def from_cfg(cls, cfg) -> MethodConfig:
        """From a DictConfig or a plain dict (omegaconf is imported only when needed: the benchmark
        runs on machines without Hydra)."""
        if not isinstance(cfg, dict):
            from omegaconf import OmegaConf

            cfg = OmegaConf.to_container(cfg, resolve=True)
        data = dict(cfg)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise PtuneError(f"unknown key(s) in the method config: {unknown}; valid keys: {sorted(fields)}")
        if "name" not in data or "lr" not in data:
            raise PtuneError("a method config needs at least `name` and `lr`")
        for key, value in data.items():
            want = fields[key].type
            ok = {
                "int": isinstance(value, int) and not isinstance(value, bool),
                "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                "bool": isinstance(value, bool),
                "str": isinstance(value, str),
            }[want]
            if not ok:
                raise PtuneError(f"method.{key}={value!r} must be of type {want}")
        return cls(**data)


class Method:
    """One adaptation method. Subclasses set the class attributes and build the prompt."""

    key: str = ""
    title: str = ""  # as the paper's tables name it
    trains_backbone: bool = False
    prompt_site: str = "none"  # none | input | every layer
    uses_prefix_attention: bool = False

    def validate(self, cfg: MethodConfig) -> None:
        if not cfg.lr > 0:
            raise PtuneError(f"method.lr={cfg.lr} must be > 0")
        if not 0.0 <= cfg.head_dropout < 1.0:
            raise PtuneError(f"method.head_dropout={cfg.head_dropout} must be in [0, 1)")
        if self.prompt_site == "none":
            if cfg.prefix_len or cfg.reparam:
                raise PtuneError(
                    f"method={self.key} has no prompt, so method.prefix_len/method.reparam do not apply; "
                    "choose method=pt, prefix or ptv2 to tune a prompt."
                )
            return
        if cfg.prefix_len <= 0:
            raise PtuneError(
                f"method.prefix_len={cfg.prefix_len} must be a positive number of virtual tokens (e.g. 16)"
            )
        if not 0.0 <= cfg.prefix_dropout < 1.0:
            raise PtuneError(f"method.prefix_dropout={cfg.prefix_dropout} must be in [0, 1)")
        if cfg.reparam and cfg.reparam_hidden <= 0:
            raise PtuneError(f"method.reparam_hidden={cfg.reparam_hidden} must be > 0")

    def build_prompt(self, cfg: MethodConfig, backbone) -> nn.Module:
        raise NotImplementedError


METHODS: dict[str, Method] = {}


def register(method_cls: type[Method]) -> type[Method]:
    METHODS[method_cls.key] = method_cls()
    return method_cls


def get_method(key: str) -> Method:
    if key not in METHODS:
        raise PtuneError(f"unknown method {key!r}; choose one of {sorted(METHODS)} (method=<key>)")
    return METHODS[key]
