"""Behaviour check for moves that should change nothing: four tiny-model runs, their records compared.

    python scripts/same_records.py run OUT_DIR        # ptv2 classification, pt tagging, prefix QA, fft classification
    python scripts/same_records.py compare BEFORE AFTER

Run `run` on the commit before a refactor and on the one after, then `compare`: the records must be equal but
for what varies between any two runs (timestamps, wall times, versions, the commit, paths of the output dir).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SENTENCES = [
    "Mary/B-PER and/O John/B-PER were/O in/O London/B-LOC with/O the/O team/B-ORG ./O",
    "the/O concert/O in/O Paris/B-LOC was/O very/O good/O ./O",
    "a/O British/B-MISC book/O by/O Anna/B-PER ./O",
    "Berlin/B-LOC and/O Rome/B-LOC are/O far/O ./O",
]
RUNS = {
    "ptv2_classification": ["method=ptv2"],
    "pt_tagging": ["method=pt", "task=conll03", "task.data_dir={conll}", "task.max_seq_len=24"],
    "prefix_qa": ["method=prefix", "task=squad", "task.data_dir={squad}", "task.max_seq_len=64", "task.doc_stride=16"],
    "fft_classification": ["method=fft"],
}
SMOKE = ["model=tiny-bert", "train=smoke", "task.max_train_samples=16", "task.max_eval_samples=16"]
VARYING = {"started_at", "finished_at", "wall_time_s", "versions", "git_commit", "runtime_s", "owner", "cost"}


def conll_files(folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    lines = ["-DOCSTART- -X- -X- O", ""]
    for sentence in SENTENCES:
        lines += [f"{w} NN I-NP {t}" for w, t in (item.rsplit("/", 1) for item in sentence.split())] + [""]
    for name in ("train.txt", "valid.txt", "test.txt"):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return folder


def squad_files(folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    words = [f"word{i}" for i in range(60)]
    context = " ".join(words)
    qas = []
    for i in range(0, 60, 7):
        start = context.index(words[i] + " ") if i < 59 else context.index(words[i])
        qas.append(
            {"id": f"q{i}", "question": f"where is {words[i]}?", "answers": [{"text": words[i], "answer_start": start}]}
        )
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(data, f)
    return folder


def run_all(out: str) -> None:
    from ptune_exp.api import run_experiment

    data = {
        "conll": conll_files(os.path.join(out, "data", "conll03")),
        "squad": squad_files(os.path.join(out, "data", "squad")),
    }
    for name, overrides in RUNS.items():
        run_experiment(
            *SMOKE, "overwrite=true", *(o.format(**data) for o in overrides), output_dir=os.path.join(out, name)
        )
        print(f"{name}: done")


def normalised(value, out: str):
    if isinstance(value, dict):
        return {k: normalised(v, out) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [normalised(v, out) for v in value]
    if isinstance(value, str):
        return value.replace(out, "<out>")
    return value


def differences(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in one" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def read(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def compare(before: str, after: str) -> int:
    bad = 0
    for name in RUNS:
        a, b = (normalised(read(os.path.join(d, name, "metrics.json")), d) for d in (before, after))
        diff = differences(a, b)
        print(f"{name}: {'equal' if not diff else f'{len(diff)} differences'}")
        for line in diff[:20]:
            print("   ", line)
        bad += bool(diff)
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run_all(os.path.abspath(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])))
    else:
        sys.exit(__doc__)
