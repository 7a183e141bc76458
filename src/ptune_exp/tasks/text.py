"""What the texts of Python and HTTP inputs may hold, checked before they are written, read or tokenized.

`bad_text`: a string that is not valid Unicode (a lone surrogate such as "\\ud800", which JSON and Python
strings allow but UTF-8 and the tokenizers do not), named as `inputs[i]`. `cut_texts`: every text of an
input cut to at most `limit` characters (a list of words to `limit` characters in all), so the cost of an
input is bounded before tokenizing; the inputs that were cut are returned, to be marked `truncated`.
"""

from __future__ import annotations


def _strings(value):
    """Every string in a JSON-like value (keys included), depth-first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _not_utf8(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return text[e.start : e.end]
    return None


def bad_text(inputs: list) -> str | None:
    """A one-line problem for the first input holding a string that is not valid Unicode; None when all are."""
    for i, x in enumerate(inputs):
        for text in _strings(x):
            bad = _not_utf8(text)
            if bad is not None:
                return (
                    f"inputs[{i}] holds {bad!r}, a lone surrogate, which is not valid Unicode text; "
                    "send text that encodes as UTF-8"
                )
    return None


def _cut(value, limit: int):
    """(value with its strings cut to `limit` characters and its word lists to `limit` characters in all, cut?)."""
    if isinstance(value, str):
        return (value[:limit], True) if len(value) > limit else (value, False)
    if isinstance(value, dict):
        pairs = {key: _cut(item, limit) for key, item in value.items()}
        return {key: v for key, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    if isinstance(value, list) and value and all(isinstance(w, str) for w in value):
        kept, total = [], 0
        for word in value:
            total += len(word)
            if total > limit and kept:
                return kept, True
            kept.append(word[:limit])
        return kept, len(value[0]) > limit
    if isinstance(value, list):
        items = [_cut(item, limit) for item in value]
        return [v for v, _ in items], any(c for _, c in items)
    return value, False


def cut_texts(inputs: list, limit: int) -> tuple[list, list[int]]:
    """The inputs with every text cut to `limit` characters (module docstring), and the indices of those cut."""
    out, cut = [], []
    for i, x in enumerate(inputs):
        value, was_cut = _cut(x, limit)
        out.append(value)
        if was_cut:
            cut.append(i)
    return out, cut
