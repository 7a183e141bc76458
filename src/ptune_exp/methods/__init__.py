"""Adaptation methods, one module per registry key; each registers itself on import."""

from ptune_exp.methods import fft, ia3, lora, prefix, pt, ptv1, ptv2  # noqa: F401  (registration)
from ptune_exp.methods.base import METHODS, Method, MethodConfig, get_method

__all__ = ["METHODS", "Method", "MethodConfig", "get_method"]
