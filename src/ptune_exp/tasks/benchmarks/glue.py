"""GLUE (Wang et al. 2018). Hub: `nyu-mll/glue` (parquet, loads with current `datasets`).
Local: the official GLUE tsv files (`train.tsv`, `dev.tsv`; MNLI `dev_matched.tsv`,
`dev_mismatched.tsv`). GLUE test labels are not public, so dev metrics are the result."""

from ptune_exp.tasks.families.classification import ClassificationSpec
from ptune_exp.tasks.spec import Split, register

HUB = "nyu-mll/glue"
TRAIN_DEV = {"train": Split("train", "train.tsv"), "dev": Split("validation", "dev.tsv")}
BINARY = ("0", "1")
NLI = ("entailment", "not_entailment")


def glue(name, labels, metrics, hub_text, file_columns, file_labels=BINARY, splits=TRAIN_DEV, header=True):
    return register(
        ClassificationSpec(
            name=name,
            family="classification",
            benchmark="glue",
            metrics=metrics,
            main_metric=metrics[0],
            splits=splits,
            hub=(HUB, name),
            source="glue",
            labels=labels,
            hub_text=hub_text,
            file_format="glue_tsv",
            file_header=header,
            file_columns=file_columns,
            file_labels=file_labels,
        )
    )


# label order = the hub's ClassLabel order; file_labels = how the tsv spells each label
glue("cola", ("unacceptable", "acceptable"), ("mcc",), ("sentence", None), (3, None, 1), header=False)
glue("sst2", ("negative", "positive"), ("accuracy",), ("sentence", None), ("sentence", None, "label"))
glue(
    "mrpc",
    ("not_equivalent", "equivalent"),
    ("f1", "accuracy"),
    ("sentence1", "sentence2"),
    ("#1 String", "#2 String", "Quality"),
)
glue(
    "qqp",
    ("not_duplicate", "duplicate"),
    ("f1", "accuracy"),
    ("question1", "question2"),
    ("question1", "question2", "is_duplicate"),
)
glue("stsb", (), ("pearson", "spearman"), ("sentence1", "sentence2"), ("sentence1", "sentence2", "score"))
glue(
    "mnli",
    ("entailment", "neutral", "contradiction"),
    ("accuracy",),
    ("premise", "hypothesis"),
    ("sentence1", "sentence2", "gold_label"),
    file_labels=("entailment", "neutral", "contradiction"),
    splits={
        "train": Split("train", "train.tsv"),
        "dev": Split("validation_matched", "dev_matched.tsv"),
        "dev_mismatched": Split("validation_mismatched", "dev_mismatched.tsv"),
    },
)
glue("qnli", NLI, ("accuracy",), ("question", "sentence"), ("question", "sentence", "label"), file_labels=NLI)
glue("rte", NLI, ("accuracy",), ("sentence1", "sentence2"), ("sentence1", "sentence2", "label"), file_labels=NLI)
glue(
    "wnli",
    ("not_entailment", "entailment"),
    ("accuracy",),
    ("sentence1", "sentence2"),
    ("sentence1", "sentence2", "label"),
)
