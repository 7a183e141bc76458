"""SRL datasets of the paper (CoNLL-2005, CoNLL-2012), family `srl`: one example per (sentence,
predicate), BIO argument tags, scored as srl-eval.pl counts (the predicate's V span excluded).

Local (`task.data_dir=DIR`): props files (`word ... predicate args...`, bracketed argument columns,
e.g. the CoNLL-2005 `words` and `props` columns pasted side by side) or BIO blocks (`word ... tag`,
one block per predicate, the predicate tagged B-V); the readers are `families/srl_files.py`.
File names per task:

  conll05    train.txt dev.txt test_wsj.txt test_brown.txt   (test = WSJ section 23; test_brown
             is reported as the extra split `test_brown`)
  conll12    train.txt dev.txt test.txt

Hub (no `task.data_dir`):
  conll05    none: no hub copy loads with current `datasets` (the WSJ text is LDC-licensed); local only
  conll12    ontonotes/conll2012_ontonotesv5, configuration english_v4 (the CoNLL-2012 shared task
             split): the folder english_v4/ of the Hub's parquet conversion (refs/convert/parquet);
             its documents' `srl_frames` are BIO tags per predicate
"""

from ptune_exp.tasks.families.srl import SRLSpec
from ptune_exp.tasks.spec import Split, register

_PARQUET = "refs/convert/parquet"  # the Hub's automatic parquet copy of a script-based dataset


def srl(name: str, splits: dict[str, Split], hub=None, **hub_options) -> SRLSpec:
    """Register an SRL dataset: span F1 (srl-eval.pl's counting) selects, precision and recall reported."""
    return register(SRLSpec(name, "srl", "srl", ("f1", "precision", "recall"), "f1", splits, hub, **hub_options))


srl(
    "conll05",
    {
        "train": Split(None, "train.txt"),
        "dev": Split(None, "dev.txt"),
        "test": Split(None, "test_wsj.txt"),
        "test_brown": Split(None, "test_brown.txt"),
    },
)
srl(
    "conll12",
    {"train": Split("train", "train.txt"), "dev": Split("validation", "dev.txt"), "test": Split("test", "test.txt")},
    hub=("ontonotes/conll2012_ontonotesv5", None),
    hub_revision=_PARQUET,
    hub_data_dir="english_v4",  # the parquet copy holds one folder per configuration
)
