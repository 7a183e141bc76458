"""Which backbone architecture supports which method, and how: the one table that decides.

The build path asks `check_support` before any weights load (a refused pair fails with the reason and
what to do), `prepare_prefix_attention` installs an architecture's own prefix injection where it needs
one, and the README's support matrix is `render_matrix()` (tests/test_backbones.py checks both the
matrix text and that every cell behaves as it says on a tiny random model of that architecture).

Architectures are keyed by transformers' `model_type` (`config.model_type`). One that is not listed
is *untested*: fft and pt run (with a warning), and a deep prompt runs only if the build-time probe in
`methods/attention.py` sees every layer attend to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ptune_exp.errors import PtuneError

log = logging.getLogger("ptune_exp")

# How a method's prompt reaches the model (the matrix's cell text).
NO_PROMPT = "no prompt"
INPUT_EMBEDS = "input embeddings"
ATTENTION_FUNCTION = "attention function"  # ptune_sdpa / ptune_eager, methods/attention.py
DEBERTA_INJECTION = "DeBERTa injection"  # methods/deberta.py
MECHANISMS = {
    NO_PROMPT: "every weight trains, no prompt (`fft`).",
    INPUT_EMBEDS: "prompt vectors inserted after the first token of `inputs_embeds` (`pt`); any encoder that "
    "takes `inputs_embeds`.",
    ATTENTION_FUNCTION: "per-layer prefix keys/values prepended by the registered attention functions "
    "`ptune_sdpa`/`ptune_eager` (`model.attn_implementation=sdpa|eager`).",
    DEBERTA_INJECTION: "DeBERTa's own disentangled attention, patched on the loaded instance: prefix keys/values "
    "prepended with zero relative-position bias (eager only).",
}


@dataclass(frozen=True)
class Architecture:
    model_type: str
    title: str
    deep: str | None  # how prefix/ptv2 reach the attention; None: refused
    refusal: str = ""  # why deep prompts are refused there
    attn_implementations: tuple[str, ...] = ("sdpa", "eager")
    configs: tuple[str, ...] = ()  # conf/model/<name>.yaml of this architecture


ARCHITECTURES: dict[str, Architecture] = {
    a.model_type: a
    for a in (
        Architecture("bert", "BERT", ATTENTION_FUNCTION, configs=("tiny-bert", "bert-base", "bert-large", "minilm")),
        Architecture(
            "roberta", "RoBERTa", ATTENTION_FUNCTION, configs=("tiny-roberta", "roberta-base", "roberta-large")
        ),
        Architecture(
            "xlm-roberta", "XLM-RoBERTa", ATTENTION_FUNCTION, configs=("tiny-xlm-roberta", "xlm-roberta-large")
        ),
        Architecture("electra", "ELECTRA", ATTENTION_FUNCTION, configs=("tiny-electra", "electra-large")),
        Architecture("distilbert", "DistilBERT", ATTENTION_FUNCTION, configs=("tiny-distilbert",)),
        Architecture("modernbert", "ModernBERT", ATTENTION_FUNCTION, configs=("tiny-modernbert",)),
        Architecture(
            "deberta-v2",
            "DeBERTa-v2/v3",
            DEBERTA_INJECTION,
            attn_implementations=("eager",),
            configs=("tiny-deberta", "deberta-v3-base", "deberta-v3-large", "deberta-v2-xlarge"),
        ),
        Architecture(
            "deberta",
            "DeBERTa v1",
            None,
            attn_implementations=("eager",),
            refusal="its attention bypasses the attention-function registry and has no prefix injection "
            "(DeBERTa-v2/v3 has one)",
        ),
        Architecture(
            "albert",
            "ALBERT",
            None,
            refusal="all layers share one attention module, so there are no per-layer prefixes",
        ),
    )
}


@dataclass(frozen=True)
class Cell:
    status: str  # supported | refused | untested
    mechanism: str  # how the prompt reaches the model, or why the method is refused

    @property
    def allowed(self) -> bool:
        return self.status != "refused"


def support(model_type: str, method_key: str) -> Cell:
    """The matrix cell of one architecture and one method."""
    from ptune_exp.methods import get_method  # late: methods import this module

    site = get_method(method_key).prompt_site
    arch = ARCHITECTURES.get(model_type)
    status = "supported" if arch is not None else "untested"
    if site == "none":
        return Cell(status, NO_PROMPT)
    if site == "input":
        return Cell(status, INPUT_EMBEDS)
    if arch is None:
        return Cell(status, ATTENTION_FUNCTION)
    if arch.deep is None:
        return Cell("refused", arch.refusal)
    return Cell(status, arch.deep)


def check_support(model_type: str, method_key: str, attn_implementation: str) -> Cell:
    """Refuse (PtuneError, saying what to do) a method or attention implementation the architecture lacks."""
    cell = support(model_type, method_key)
    arch = ARCHITECTURES.get(model_type)
    if not cell.allowed:
        usable = [m for m in _method_keys() if support(model_type, m).allowed]
        raise PtuneError(
            f"method={method_key} is not supported on {arch.title} ({model_type}): {cell.mechanism}. "
            f"Use method={' or method='.join(usable)} with this backbone, or another backbone "
            "(README: Support matrix)."
        )
    if arch is not None and attn_implementation not in arch.attn_implementations:
        supported = arch.attn_implementations
        raise PtuneError(
            f"model.attn_implementation={attn_implementation}: {arch.title} supports "
            f"{' or '.join(supported)} only; set model.attn_implementation={supported[0]}"
        )
    if cell.status == "untested":
        log.warning(
            "architecture %r is not in the support matrix (ptune_exp/support.py): method=%s runs untested",
            model_type,
            method_key,
        )
    return cell


def load_implementation(model_type: str, method_key: str, attn_implementation: str) -> str:
    """The attention implementation to load the backbone with: the prefix-aware registered function
    (`ptune_sdpa`/`ptune_eager`) where the method's prompt goes through it, else the stock one."""
    if support(model_type, method_key).mechanism != ATTENTION_FUNCTION:
        return attn_implementation
    from ptune_exp.methods.attention import prefix_implementation

    return prefix_implementation(attn_implementation)


def prepare_prefix_attention(model) -> None:
    """Install the architecture's own prefix injection, where it needs one (DeBERTa-v2/v3)."""
    arch = ARCHITECTURES.get(model.config.model_type)
    if arch is not None and arch.deep == DEBERTA_INJECTION:
        from ptune_exp.methods.deberta import install_deberta_prefix

        install_deberta_prefix(model)


def _method_keys() -> list[str]:
    from ptune_exp.methods import METHODS

    order = ["fft", "pt", "prefix", "ptv2"]  # the paper's order; any later method after them
    return sorted(METHODS, key=lambda k: (order.index(k) if k in order else len(order), k))


def render_matrix() -> str:
    """The README's support matrix (markdown), generated from the table above."""
    methods = _method_keys()
    rows = {a: [support(a, m) for m in methods] for a in ARCHITECTURES}
    refusals = list(dict.fromkeys(c.mechanism for row in rows.values() for c in row if not c.allowed))
    text = lambda c: c.mechanism if c.allowed else f"refused [{refusals.index(c.mechanism) + 1}]"
    lines = [
        "| architecture | model_type | " + " | ".join(f"`{m}`" for m in methods) + " | configs (`model=`) |",
        "|---|---|" + "---|" * len(methods) + "---|",
    ]
    for arch in ARCHITECTURES.values():
        attn = arch.attn_implementations
        only = "" if attn == ("sdpa", "eager") else f" ({'/'.join(attn)} only)"
        cells = " | ".join(text(c) for c in rows[arch.model_type])
        lines.append(f"| {arch.title}{only} | `{arch.model_type}` | {cells} | {', '.join(arch.configs) or '—'} |")
    lines.append("")
    lines += [f"- **{name}**: {meaning}" for name, meaning in MECHANISMS.items()]
    lines += [f"- **refused [{i}]**: {reason}." for i, reason in enumerate(refusals, 1)]
    lines.append(
        "- **any other model_type**: untested; `fft`/`pt` run with a warning, `prefix`/`ptv2` run only if "
        "the build-time probe sees every layer attend to the prefix."
    )
    return "\n".join(lines) + "\n"
