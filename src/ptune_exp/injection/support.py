"""Which backbone architecture supports which method, and how: the one table that decides.

`ptune_exp.injection.prepare` asks `check_support` before any weights load (a refused pair fails with the
reason and what to do), and the README's support matrix is `render_matrix(methods)` (tests/test_backbones.py
checks both the matrix text and that every cell behaves as it says on a tiny random model of that
architecture). A method enters here only through its `key`, `prompt_site` (none | input | every layer)
and `adapts_weights` (lora, ia3), so this package never imports `ptune_exp.methods`.

Architectures are keyed by transformers' `model_type` (`config.model_type`). One that is not listed
is *untested*: fft and pt run (with a warning), and a deep prompt runs only if the build-time probe in
`injection/attention.py` sees every layer attend to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from ptune_exp.errors import PtuneError

log = logging.getLogger("ptune_exp")

# How a method's prompt reaches the model (the matrix's cell text).
NO_PROMPT = "no prompt"
INPUT_EMBEDS = "input embeddings"
ATTENTION_FUNCTION = "attention function"  # ptune_sdpa / ptune_eager, injection/attention.py
DEBERTA_INJECTION = "DeBERTa injection"  # injection/deberta.py
ADAPTER_LAYERS = "PEFT adapter layers"  # methods/adapters.py
MECHANISMS = {
    NO_PROMPT: "every weight trains, no prompt (`fft`).",
    INPUT_EMBEDS: "prompt vectors inserted after the first token of `inputs_embeds` (`pt`); any encoder that "
    "takes `inputs_embeds`.",
    ATTENTION_FUNCTION: "per-layer prefix keys/values prepended by the registered attention functions "
    "`ptune_sdpa`/`ptune_eager` (`model.attn_implementation=sdpa|eager`).",
    DEBERTA_INJECTION: "DeBERTa's own disentangled attention, patched on the loaded instance: prefix keys/values "
    "prepended with zero relative-position bias (eager only).",
    ADAPTER_LAYERS: "LoRA / (IA)³ layers that PEFT wraps around the linear layers `method.target_modules` names "
    "(null: the architecture's defaults in `methods/adapters.py`); the backbone's own weights stay frozen and "
    "unmerged (`lora`, `ia3`).",
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
        Architecture(
            "bert",
            "BERT",
            ATTENTION_FUNCTION,
            configs=("tiny-bert", "bert-base", "bert-large", "bert-large-uncased", "minilm"),
        ),
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


def support(model_type: str, method) -> Cell:
    """The matrix cell of one architecture and one method (anything with `key` and `prompt_site`)."""
    arch = ARCHITECTURES.get(model_type)
    status = "supported" if arch is not None else "untested"
    if getattr(method, "adapts_weights", False):
        return Cell(status, ADAPTER_LAYERS)
    if method.prompt_site == "none":
        return Cell(status, NO_PROMPT)
    if method.prompt_site == "input":
        return Cell(status, INPUT_EMBEDS)
    if arch is None:
        return Cell(status, ATTENTION_FUNCTION)
    if arch.deep is None:
        return Cell("refused", arch.refusal)
    return Cell(status, arch.deep)


def check_support(model_type: str, method, attn_implementation: str, methods: Iterable = ()) -> Cell:
    """Refuse (PtuneError, saying what to do) a method or attention implementation the architecture lacks;
    `methods` (all registered methods) lets the refusal name the ones that would work."""
    cell = support(model_type, method)
    arch = ARCHITECTURES.get(model_type)
    if not cell.allowed:
        usable = [m.key for m in paper_order(methods) if support(model_type, m).allowed]
        raise PtuneError(
            f"method={method.key} is not supported on {arch.title} ({model_type}): {cell.mechanism}. "
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
            "architecture %r is not in the support matrix (ptune_exp/injection/support.py): method=%s runs untested",
            model_type,
            method.key,
        )
    return cell


def paper_order(methods: Iterable) -> list:
    """Methods in the paper's order (fft, pt, prefix, ptv2), then the references lora, ia3, then any other."""
    order = ["fft", "pt", "prefix", "ptv2", "lora", "ia3"]
    return sorted(methods, key=lambda m: (order.index(m.key) if m.key in order else len(order), m.key))


def render_matrix(methods: Iterable) -> str:
    """The README's support matrix (markdown) for the given methods, generated from the table above."""
    methods = paper_order(methods)
    rows = {a: [support(a, m) for m in methods] for a in ARCHITECTURES}
    refusals = list(dict.fromkeys(c.mechanism for row in rows.values() for c in row if not c.allowed))
    text = lambda c: c.mechanism if c.allowed else f"refused [{refusals.index(c.mechanism) + 1}]"
    lines = [
        "| architecture | model_type | " + " | ".join(f"`{m.key}`" for m in methods) + " | configs (`model=`) |",
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
        "the build-time probe sees every layer attend to the prefix; `lora`/`ia3` need `method.target_modules`."
    )
    return "\n".join(lines) + "\n"
