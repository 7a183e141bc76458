"""The server's in-memory rows (`serve/columns.py`) give every family the rows, features and coverage counts
that its `datasets` path gives for the same inputs: reader, tokenize and scorer code run unchanged on both."""

from __future__ import annotations

import numpy as np
import pytest

from ptune_exp.model.tiny import tiny_tokenizer
from ptune_exp.serve.columns import Columns
from ptune_exp.tasks import family_of, get_task
from ptune_exp.tasks.families.candidates import coverage
from ptune_exp.tasks.inputs import input_dataset, input_rows
from test_superglue import copa_rows, multirc_lines, record_lines, wsc_rows

LONG = " ".join(["John met Mary in Paris"] * 12)  # over the 32 tokens: truncated, or windowed
INPUTS = {
    ("rte", "superglue"): [
        {"premise": LONG, "hypothesis": "Someone rests.", "idx": 4},
        {"premise": "a", "hypothesis": "b"},
    ],
    ("rte", "glue"): [{"sentence1": "A man sleeps.", "sentence2": "Someone rests.", "label": "entailment"}],
    ("sst2", None): ["a fine film", LONG],
    ("copa", None): copa_rows(3),
    ("wsc", None): wsc_rows(2),
    ("multirc", None): multirc_lines(2),
    ("record", None): record_lines(2),
    ("squad", None): [{"question": "who won?", "context": LONG}, {"question": "who?", "context": "Mary.", "id": "q7"}],
    ("conll03", None): [{"tokens": LONG.split()}, ["IBM", "hired"], "Mary left ."],
    ("conll05", None): [{"tokens": LONG.split(), "predicate": 1}, {"tokens": ["John", "saw", "Rome"], "predicate": 1}],
}
OPTIONS = {"squad": {"doc_stride": 8}, "conll05": {"labels": ["O", "B-V", "I-V", "B-ARG0", "I-ARG0"]}}


def plain(value):
    """Arrow gives lists where Python code made tuples (e.g. offset pairs): compare them as lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("name, source", list(INPUTS), ids=[f"{n}-{s}" for n, s in INPUTS])
def test_columns_give_each_family_what_its_datasets_path_gives(name, source):
    spec = get_task(name, source)
    family = family_of(spec)
    spec = family.configure(spec, OPTIONS.get(name, {}))
    table, columns = (
        input_dataset(spec, INPUTS[name, source]),
        Columns.from_rows(input_rows(spec, INPUTS[name, source])),
    )
    assert len(columns) == len(table) > 0 and columns.column_names == table.column_names
    assert plain(columns.to_list()) == plain(table.to_list())
    tok = tiny_tokenizer("bert")
    want, got = (family.tokenize(rows, spec, tok, 32, False) for rows in (table, columns))
    assert len(got) > len(INPUTS[name, source]) or name not in ("squad", "conll03", "conll05")  # windows
    assert plain(got.to_list()) == plain(want.to_list())
    if name in ("multirc", "record"):
        assert coverage(spec, columns, got) == coverage(spec, table, want)


def test_columns_refuse_what_they_do_not_do():
    columns = Columns({"a": [1, 2, 3]})
    assert columns[1] == {"a": 2} and list(columns.iter(2)) == [{"a": [1, 2]}, {"a": [3]}]
    assert np.array_equal(columns.with_format("numpy")[:]["a"], np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="different lengths"):
        Columns({"a": [1], "b": []})
    with pytest.raises(ValueError, match="batched"):
        columns.map(lambda row: row, batched=False)
