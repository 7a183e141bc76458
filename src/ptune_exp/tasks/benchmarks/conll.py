"""NER datasets of the paper (CoNLL-2003, CoNLL-2004 entities, OntoNotes 5.0), family `tagging`.

Local (`task.data_dir=DIR`): CoNLL column files, one word per line with the tag in the LAST column
(any number of columns in between: `word POS chunk NER`, `word NER`, CoNLL-X's ten columns...),
a blank line between sentences, `-DOCSTART-` lines skipped. Tags are IOB: IOB2 files are read as
they are, IOB1 files (the original CoNLL-2003 layout, where an entity starts with I- unless it
directly follows one of the same type) are converted to IOB2. Other schemes (BIOES, BILOU) are
refused with the line that shows them. The readers are the tagging family's
(`families/tagging_files.py`). File names per task:

  conll03    train.txt valid.txt test.txt   (the names of the CoNLL-2003 distribution)
  conll04    train.txt dev.txt   test.txt
  ontonotes  train.txt dev.txt   test.txt

Hub (no `task.data_dir`), datasets that load with current `datasets` (no loading scripts):
  conll03    eriktks/conll2003, the Hub's parquet conversion (refs/convert/parquet); tags by ClassLabel
  conll04    DFKI-SLT/conll04 (parquet; the SpERT split 922/231/288; entity spans -> IOB2)
  ontonotes  tner/ontonotes5, the Hub's parquet conversion; integer tags in T-NER's label order
"""

from ptune_exp.tasks.families.tagging import TaggingSpec
from ptune_exp.tasks.families.tagging_files import iob_labels
from ptune_exp.tasks.spec import Split, register

_PARQUET = "refs/convert/parquet"  # the Hub's automatic parquet copy of a script-based dataset


def _splits(dev_file: str) -> dict[str, Split]:
    return {
        "train": Split("train", "train.txt"),
        "dev": Split("validation", dev_file),
        "test": Split("test", "test.txt"),
    }


def ner(name: str, labels: tuple[str, ...], dev_file: str, hub: tuple[str, str | None], **hub_options) -> TaggingSpec:
    return register(
        TaggingSpec(
            name=name,
            family="tagging",
            benchmark="ner",
            metrics=("f1", "precision", "recall"),
            main_metric="f1",
            splits=_splits(dev_file),
            hub=hub,
            labels=labels,
            **hub_options,
        )
    )


# label order = the hub's order (ClassLabel, or T-NER's label.json), so hub ids map directly
ner(
    "conll03",
    iob_labels(("PER", "ORG", "LOC", "MISC")),
    "valid.txt",
    ("eriktks/conll2003", None),
    hub_revision=_PARQUET,
    hub_columns=("tokens", "ner_tags"),
)
# CoNLL04 copies spell the types differently (Peop/Loc/Org/Other, or PER/LOC/...): labels come from the data
ner("conll04", (), "dev.txt", ("DFKI-SLT/conll04", None), hub_format="spans", hub_columns=("tokens", "entities"))
ner(
    "ontonotes",
    (
        "O",
        "B-CARDINAL",
        "B-DATE",
        "I-DATE",
        "B-PERSON",
        "I-PERSON",
        "B-NORP",
        "B-GPE",
        "I-GPE",
        "B-LAW",
        "I-LAW",
        "B-ORG",
        "I-ORG",
        "B-PERCENT",
        "I-PERCENT",
        "B-ORDINAL",
        "B-MONEY",
        "I-MONEY",
        "B-WORK_OF_ART",
        "I-WORK_OF_ART",
        "B-FAC",
        "B-TIME",
        "I-CARDINAL",
        "B-LOC",
        "B-QUANTITY",
        "I-QUANTITY",
        "I-NORP",
        "I-LOC",
        "B-PRODUCT",
        "I-TIME",
        "B-EVENT",
        "I-EVENT",
        "I-FAC",
        "B-LANGUAGE",
        "I-PRODUCT",
        "I-ORDINAL",
        "I-LANGUAGE",
    ),
    "dev.txt",
    ("tner/ontonotes5", None),
    hub_revision=_PARQUET,
    hub_columns=("tokens", "tags"),
)
