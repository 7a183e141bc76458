"""Fixture files of a three-member multi-task run: two tagging tasks (CoNLL-2003, CoNLL-2004 layouts)
and one classification task (GLUE RTE tsv), each in its own folder."""

SENTENCES = [
    "John/B-PER lives/O in/O Paris/B-LOC ./O",
    "Mary/B-PER won/O the/O game/O ./O",
    "the/O company/B-ORG lost/O in/O London/B-LOC ./O",
    "Berlin/B-LOC is/O a/O city/O ./O",
    "the/O German/B-MISC film/O was/O great/O ./O",
    "who/O won/O ?/O",
]
CONLL04 = ["John/B-Peop saw/O Rome/B-Loc ./O", "IBM/B-Org hired/O Mary/B-Peop ./O", "it/O rained/O ./O"]
PAIRS = [
    ("A man sleeps.", "A person rests.", "entailment"),
    ("It rained.", "It was dry.", "not_entailment"),
    ("The cat sat.", "A cat sat.", "entailment"),
    ("Nobody came.", "Everyone came.", "not_entailment"),
]


def conll(sentences, docstart: bool) -> str:
    lines = ["-DOCSTART- -X- -X- O", ""] if docstart else []
    for sentence in sentences:
        lines += [f"{w} NN I-NP {t}" for w, t in (item.rsplit("/", 1) for item in sentence.split())] + [""]
    return "\n".join(lines) + "\n"


def rte(pairs) -> str:
    rows = [f"{i}\t{a}\t{b}\t{label}" for i, (a, b, label) in enumerate(pairs)]
    return "index\tsentence1\tsentence2\tlabel\n" + "\n".join(rows) + "\n"


def write_members(root, scale: int = 1) -> dict[str, str]:
    """Folders for conll03, conll04 and rte (training files repeated `scale` times); name -> folder."""
    files = {
        "conll03": {"train.txt": conll(SENTENCES * scale, True), "valid.txt": conll(SENTENCES[:3], True),
                    "test.txt": conll(SENTENCES[3:], True)},
        "conll04": {name: conll(CONLL04 * (scale if name == "train.txt" else 1), False)
                    for name in ("train.txt", "dev.txt", "test.txt")},
        "rte": {"train.tsv": rte(PAIRS * 2 * scale), "dev.tsv": rte(PAIRS)},
    }  # fmt: skip
    out = {}
    for name, contents in files.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in contents.items():
            (folder / file).write_text(text, encoding="utf-8")
        out[name] = str(folder)
    return out


def multi_overrides(dirs: dict[str, str]) -> list[str]:
    """The overrides of a multi-task run over the members in `dirs`."""
    return [
        "task=multi",
        f"task.tasks=[{','.join(dirs)}]",
        *(f"+task.members.{name}.data_dir={folder}" for name, folder in dirs.items()),
    ]
