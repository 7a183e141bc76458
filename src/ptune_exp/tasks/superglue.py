"""SuperGLUE classification tasks (Wang et al. 2019). Hub: `aps/super_glue` (parquet).
Local: the official SuperGLUE jsonl (`train.jsonl`, `val.jsonl`) with its label spellings.
Test labels are not public, so dev metrics are the result."""

from ptune_exp.tasks.base import Split, register
from ptune_exp.tasks.classification import ClassificationSpec

HUB = "aps/super_glue"
TRAIN_DEV = {"train": Split("train", "train.jsonl"), "dev": Split("validation", "val.jsonl")}


def wic_texts(row: dict) -> tuple[str, str]:
    """WiC: the target word must reach the model; it leads the first sentence ("word: sentence1")."""
    return f"{row['word']}: {row['sentence1']}", row["sentence2"]


def superglue(name, labels, metrics, fields, file_labels, compose=None):
    return register(ClassificationSpec(
        name=name, family="classification", benchmark="superglue", metrics=metrics, main_metric=metrics[0],
        splits=TRAIN_DEV, hub=(HUB, name), source="superglue", labels=labels, hub_text=fields,
        file_format="superglue_jsonl", file_columns=(*fields, "label"), file_labels=file_labels, compose=compose,
    ))


superglue("boolq", ("False", "True"), ("accuracy",), ("question", "passage"), (False, True))
superglue("cb", ("entailment", "contradiction", "neutral"), ("accuracy", "macro_f1"), ("premise", "hypothesis"),
          ("entailment", "contradiction", "neutral"))
superglue("rte", ("entailment", "not_entailment"), ("accuracy",), ("premise", "hypothesis"),
          ("entailment", "not_entailment"))
superglue("wic", ("False", "True"), ("accuracy",), ("sentence1", "sentence2"), (False, True), compose=wic_texts)
