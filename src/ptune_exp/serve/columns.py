"""A request's rows in memory, column by column, for the families' tokenizers and scorers.

Training reads its splits into `datasets.Dataset`s, and the families tokenize them with a batched `map`.
For a request of a few inputs that machinery costs more than the forward: building the Arrow table and
fingerprinting it (about 6 ms) and the `map` (about 7 ms), against about 0.4 ms for the tokenizer itself
(measured on all-MiniLM-L6-v2, one sentence pair, 2 CPU cores). `Columns` holds the same rows as plain
Python lists and offers the part of the `Dataset` interface the families use, so a request goes through the
very same reader, `tokenize`, collator and `Scorer` code as `ptune-exp-predict`, without the table:
`len`, a column (`columns["text_a"]`), a row (`columns[0]`), `column_names`, a batched `map` (one call over
all rows, with their indices when asked), `add_column`, `select_columns`, `iter(batch_size)`,
`with_format("numpy")[:]` and `to_list`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


class Columns:
    """Rows as a dict of equally long lists (see the module docstring)."""

    def __init__(self, data: dict[str, list]):
        lengths = {len(values) for values in data.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: { {k: len(v) for k, v in data.items()} }")
        self.data = data
        self._length = lengths.pop() if lengths else 0

    @classmethod
    def from_rows(cls, rows: list[dict]) -> Columns:
        """The rows' fields, as `Dataset.from_list` takes them: the first row's keys, None where a row has none."""
        keys = list(rows[0]) if rows else []
        return cls({key: [row.get(key) for row in rows] for key in keys})

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: str | int):
        if isinstance(key, str):
            return self.data[key]
        return {name: values[key] for name, values in self.data.items()}

    @property
    def column_names(self) -> list[str]:
        return list(self.data)

    def map(self, function: Callable, batched: bool = True, with_indices: bool = False, remove_columns=(), desc=None):
        """`function` over all rows in one batch (the families' maps are batched); its columns replace
        `remove_columns`."""
        if not batched:
            raise ValueError("Columns.map runs batched functions only")
        batch = {name: list(values) for name, values in self.data.items()}
        out = function(batch, list(range(len(self)))) if with_indices else function(batch)
        removed = set(remove_columns)
        kept = {name: values for name, values in self.data.items() if name not in removed}
        return Columns({**kept, **{name: list(values) for name, values in out.items()}})

    def add_column(self, name: str, values: list) -> Columns:
        return Columns({**self.data, name: list(values)})

    def select_columns(self, names: list[str]) -> Columns:
        return Columns({name: self.data[name] for name in names})

    def iter(self, batch_size: int) -> Iterator[dict[str, list]]:
        for start in range(0, len(self), batch_size):
            yield {name: values[start : start + batch_size] for name, values in self.data.items()}

    def with_format(self, kind: str) -> _Numpy:
        if kind != "numpy":
            raise ValueError(f"Columns.with_format supports 'numpy' only, not {kind!r}")
        return _Numpy(self)

    def to_list(self) -> list[dict]:
        return [self[i] for i in range(len(self))]


class _Numpy:
    """`columns.with_format("numpy")[:]`: every column as an array."""

    def __init__(self, columns: Columns):
        self.columns = columns

    def __getitem__(self, key):
        if key != slice(None):
            raise ValueError("Columns.with_format('numpy') supports [:] only")
        return {name: np.asarray(values) for name, values in self.columns.data.items()}
