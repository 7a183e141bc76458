"""Split one official SQuAD json file by article into a train file and a dev file.

Only the SQuAD 1.1 dev set is on this machine, so an offline check trains on some of its articles
and evaluates on the others. Articles are never shared between the two files (a question's context
never appears on both sides). The output names are the official ones, so the folder works as
`task.data_dir`.

Usage:
    python scripts/split_squad.py SOURCE OUT_DIR [--train-articles N] [--version 1.1|2.0]

    SOURCE            an official json file (dev-v1.1.json), or a .zip that holds one
    OUT_DIR           receives train-v<version>.json (the first N articles) and dev-v<version>.json (the rest)
    --train-articles  N, default 38 (of the 48 articles of dev-v1.1.json: 8,582 train / 1,988 dev questions)

Example (the split the QA real-data check uses):
    python scripts/split_squad.py /data/squad/dev-v1.1.json outputs/squad_split
    ptune-exp task=squad task.data_dir=outputs/squad_split method=ptv2 model=minilm
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile


def read_source(path: str) -> dict:
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(".json")]
            if len(names) != 1:
                sys.exit(f"{path}: expected exactly one .json file inside, found {names}")
            return json.loads(z.read(names[0]))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def split(data: dict, n_train: int) -> tuple[dict, dict]:
    articles = data.get("data")
    if not isinstance(articles, list) or not 0 < n_train < len(articles):
        sys.exit(f"need 0 < --train-articles < the number of articles ({len(articles or [])})")
    version = data.get("version")
    return ({"version": version, "data": articles[:n_train]}, {"version": version, "data": articles[n_train:]})


def count_questions(part: dict) -> int:
    return sum(len(p["qas"]) for a in part["data"] for p in a["paragraphs"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("out_dir")
    parser.add_argument("--train-articles", type=int, default=38)
    parser.add_argument("--version", choices=["1.1", "2.0"], default="1.1")
    args = parser.parse_args(argv)
    train, dev = split(read_source(args.source), args.train_articles)
    os.makedirs(args.out_dir, exist_ok=True)
    for role, part in (("train", train), ("dev", dev)):
        path = os.path.join(args.out_dir, f"{role}-v{args.version}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(part, f, ensure_ascii=False)
        print(f"{path}: {len(part['data'])} articles, {count_questions(part)} questions")


if __name__ == "__main__":
    main()
