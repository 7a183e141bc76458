"""Task family `srl`: semantic role labelling as the P-Tuning v2 paper frames it, one example per
(sentence, predicate), BIO argument tags on every word, scored as the CoNLL-2005 scorer counts.

Rows are `{idx, tokens, tags, predicate}` (`srl_files.py`: props and BIO files; the hub: CoNLL-2012
documents). Datasets are in `benchmarks/srl.py`. Everything else is the tagging family's
(`tagging.py`), which this family extends:

- Predicate marking: the predicate's word is the tokenizer's SECOND segment, after the sentence:
  `[CLS] words [SEP] predicate [SEP]` (RoBERTa: `<s> words </s></s> predicate </s>`), as the
  official P-Tuning v2 code appends `[SEP] predicate` to the words, but with the tokenizer's own
  pair template (its real separator, and token type 1 where the model has token types). It needs
  no new embedding, so it works on every backbone (RoBERTa has a single token type, so a
  token-type indicator could not mark the predicate there) and every method: the frozen encoder
  reads the predicate as text. The segment's tokens carry no tag and no word id. A predicate word
  that occurs twice in the sentence is marked by its text, not its position (as in the official code).
- Tags: BIO over the sentence's words through the tagging family's alignment (first sub-word) and
  windows of whole words (a long sentence's windows each get the predicate segment), stitched back
  into one tag per word. `pt`'s virtual tokens never reach the head, so tags stay aligned.
- Labels: "O" + B-/I- of every argument label in the loaded splits (V, A0, AM-TMP, C-A1, R-A0, ...),
  or `task.labels`.
- Metrics (`srl_eval.py`): micro precision/recall/F1 over arguments, the predicate's `V` span
  excluded, `C-` pieces joined to their argument, as srl-eval.pl counts; plus `perfect_props`.
- Predictions: CoNLL text, `word gold predicted` per line, one block per (sentence, predicate);
  `score_file` scores such a file again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from datasets import Dataset

from ptune_exp.config.tasks import SRLConfig
from ptune_exp.errors import PtuneError
from ptune_exp.tasks.families.base import input_at
from ptune_exp.tasks.families.srl_eval import srl_scores
from ptune_exp.tasks.families.srl_files import VERB, proposition_rows, read_srl
from ptune_exp.tasks.families.tagging import Tagging, TaggingScorer, TaggingSpec, label_list
from ptune_exp.tasks.families.tagging_features import tokenize_windows, word_tokenizer
from ptune_exp.tasks.families.tagging_files import read_predictions, to_iob2
from ptune_exp.tasks.files import hub_split

log = logging.getLogger("ptune_exp")


@dataclass(frozen=True)
class SRLSpec(TaggingSpec):
    hub_data_dir: str | None = None  # the folder of one configuration in a multi-configuration parquet copy


def score_file(path: str) -> dict[str, float]:
    """SRL scores of a predictions file (`word ... gold predicted`, one block per proposition)."""
    return srl_scores(*read_predictions(path))


def hub_rows(documents) -> tuple[list[dict], int]:
    """Rows of CoNLL-2012 documents as the hub stores them (`sentences` of `words` and `srl_frames`,
    each frame a BIO tag list of one predicate), and how many frames had no `B-V` (skipped)."""
    rows, skipped = [], 0
    for document in documents:
        for sentence in document["sentences"]:
            for frame in sentence["srl_frames"]:
                tags = to_iob2(list(frame["frames"]))[0]
                if "B-" + VERB not in tags:
                    skipped += 1
                    continue
                words = list(sentence["words"])
                rows.append({"idx": len(rows), "tokens": words, "tags": tags, "predicate": tags.index("B-" + VERB)})
    return rows, skipped


class SRLScorer(TaggingScorer):
    """The tagging scorer with the SRL metric; predictions also name their predicate."""

    measure = staticmethod(srl_scores)

    def __init__(self, spec: SRLSpec, raw: Dataset, features: Dataset):
        super().__init__(spec, raw, features)
        self.predicates = raw["predicate"]

    def score(self, logits, label_ids) -> dict[str, float]:
        scores = super().score(logits, label_ids)
        for row, predicate in zip(self.predictions, self.predicates):
            row["predicate"] = predicate
        return scores


class SRL(Tagging):
    key = "srl"
    Scorer = SRLScorer
    inputs_noun = "propositions"

    def read_examples(self, spec: SRLSpec, examples, where=input_at, labelled=False) -> list[dict]:
        """Propositions as dicts: `tokens` (words), `predicate` (its word's index), optional `tags` (BIO)."""
        return proposition_rows(examples, where, labelled)

    def schema(self, spec: SRLSpec) -> type:
        return SRLConfig  # BIO argument tags from the data: task.labels may fix them

    def read_file(self, spec: SRLSpec, path: str, labelled: bool = False) -> list[dict]:
        """Rows of a props or BIO file; argument columns are always required (inputs without: `input_rows`)."""
        return read_srl(path)

    def read_hub(self, spec: SRLSpec, split: str) -> list[dict]:
        if spec.hub is None:
            raise PtuneError(
                f"task={spec.name} has no copy on the dataset hub that loads with current `datasets`; "
                f"pass task.data_dir=DIR with its CoNLL files (see README, Tasks: task={spec.name})"
            )
        rows, skipped = hub_rows(hub_split(spec, split, spec.hub_revision, data_dir=spec.hub_data_dir))
        if skipped:
            log.warning("%s %s: %d SRL frames without a B-V predicate skipped", spec.hub[0], split, skipped)
        return rows

    def input_rows(self, spec: SRLSpec, path: str) -> list[dict]:
        """Propositions to label: a props file (arguments optional) or BIO blocks with the predicate B-V."""
        return read_srl(path, inputs=True)

    def tokenize(self, split: Dataset, spec: SRLSpec, tokenizer, max_len: int, train: bool) -> Dataset:
        predicate = [[words[p]] for words, p in zip(split["tokens"], split["predicate"])]
        label_ids = {tag: i for i, tag in enumerate(label_list(spec))}
        return tokenize_windows(split, spec, word_tokenizer(tokenizer), max_len, label_ids, second=predicate)
