"""SuperGLUE (Wang et al. 2019), all eight tasks. Hub: `aps/super_glue` (parquet). Local: the official
SuperGLUE jsonl (`train.jsonl`, `val.jsonl`) in each task's own layout. Test labels are not public, so
dev metrics are the result.

Families and framings (all without a verbalizer: a head on [CLS]/<s>):
- BoolQ, CB, RTE: classification of the given text pair.
- WiC: classification of ("word: sentence1", sentence2). The target word is what the question is
  about, and the same word occurs in both sentences in different forms; leading the first segment
  with it tells the model which word to compare without any span machinery, and it survives any
  truncation (sentences are short anyway).
- WSC: classification of (text with the candidate noun phrase in *...* and the pronoun in #...#,
  "<pronoun> refers to <noun phrase>"). The word indices say *which* "he" or "the man" is meant (a
  text can hold several), so the spans are marked in place; the second segment states the claim
  being judged, so the [CLS] head sees the same (premise, hypothesis) shape as RTE/CB. A span whose
  index does not point at its text is looked up at the nearest place where the text occurs.
- COPA: multiple choice (`families/multiple_choice.py`); per choice the pair ("<premise without its final
  period> because", "<choice>") for question "cause", ("<premise …> so", "<choice>") for "effect",
  e.g. ("My body cast a shadow over the grass because", "The sun was rising."). The connective turns
  the question into the relation a reader checks, and each choice is judged as the continuation.
- MultiRC: every answer option a binary example ("paragraph", "question answer"), decided on its own,
  scored per question (`families/candidates.py`: F1a first, then EM).
- ReCoRD: every entity of the passage filled into the query's @placeholder, a binary example
  ("passage", "filled query"); the best-scored entity is the answer (`families/candidates.py`: F1, then EM).
"""

import re
import string

from ptune_exp.tasks.families.base import UNLABELLED
from ptune_exp.tasks.families.candidates import CandidatesSpec, question_row
from ptune_exp.tasks.families.classification import ClassificationSpec
from ptune_exp.tasks.families.multiple_choice import MultipleChoiceSpec
from ptune_exp.tasks.spec import Split, register
from ptune_exp.tasks.values import field, index

HUB = "aps/super_glue"
TRAIN_DEV = {"train": Split("train", "train.jsonl"), "dev": Split("validation", "val.jsonl")}


def wic_texts(row: dict) -> tuple[str, str]:
    """WiC: the target word must reach the model; it leads the first sentence ("word: sentence1")."""
    return f"{field(row, 'word', str)}: {field(row, 'sentence1', str)}", field(row, "sentence2", str)


def task(spec_class: type, family: str, name: str, metrics: tuple[str, ...], hub_name: str | None = None, **fields):
    """Register a SuperGLUE task: the official train/val files, the hub's config `hub_name` (or `name`),
    the first metric selects."""
    return register(
        spec_class(
            name=name,
            family=family,
            benchmark="superglue",
            metrics=metrics,
            main_metric=metrics[0],
            splits=TRAIN_DEV,
            hub=(HUB, hub_name or name),
            source="superglue",
            **fields,
        )
    )


def superglue(name, labels, metrics, fields, file_labels, compose=None, hub_name=None) -> ClassificationSpec:
    return task(
        ClassificationSpec,
        "classification",
        name,
        metrics,
        hub_name,
        labels=labels,
        hub_text=fields,
        file_format="superglue_jsonl",
        file_columns=(*fields, "label"),
        file_labels=file_labels,
        compose=compose,
    )


superglue("boolq", ("False", "True"), ("accuracy",), ("question", "passage"), (False, True))
superglue(
    "cb",
    ("entailment", "contradiction", "neutral"),
    ("accuracy", "macro_f1"),
    ("premise", "hypothesis"),
    ("entailment", "contradiction", "neutral"),
)
superglue(
    "rte", ("entailment", "not_entailment"), ("accuracy",), ("premise", "hypothesis"), ("entailment", "not_entailment")
)
superglue("wic", ("False", "True"), ("accuracy",), ("sentence1", "sentence2"), (False, True), compose=wic_texts)


# ---------------------------------------------------------------- WSC (classification, marked spans)


def wsc_texts(row: dict) -> tuple[str, str]:
    """WSC: the text with the candidate noun phrase (span1) in *...* and the pronoun (span2) in #...#,
    paired with the claim "<pronoun> refers to <noun phrase>". The official jsonl nests the spans under
    `target`; the hub has them flat."""
    target = field(row, "target", dict, default=row)
    at = "target." if target is not row else ""
    words = field(row, "text", str).split()
    noun_text, pronoun_text = field(target, "span1_text", str, at=at), field(target, "span2_text", str, at=at)
    noun = span_words(words, target.get("span1_index"), noun_text, "span1")
    pronoun = span_words(words, target.get("span2_index"), pronoun_text, "span2")
    if noun[0] < pronoun[1] and pronoun[0] < noun[1]:
        raise ValueError(f"span1 {noun_text!r} and span2 {pronoun_text!r} overlap")
    marked = mark(mark(words, noun, "*"), pronoun, "#")
    return " ".join(marked), f"{pronoun_text} refers to {noun_text}"


def _norm(word: str) -> str:
    return word.strip(string.punctuation).lower()


def span_words(words: list[str], index, text: str, name: str) -> tuple[int, int]:
    """(first, end) word positions of a span: at its word index when the words there are its text
    (case and surrounding punctuation aside; the last word may go on, as in "Pete's"), else where the
    text occurs, exactly before loosely, nearest first (some official indices are off by a word or two)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"{name}_index={index!r} is not a word index")
    want = [_norm(w) for w in text.split()]
    if not want:
        raise ValueError(f"{name}_text is empty")
    n = len(want)

    def fit(i: int) -> int | None:  # 0: the span's words, 1: its last word goes on, None: no match
        got = [_norm(w) for w in words[i : i + n]]
        if got[:-1] != want[:-1] or not got[-1].startswith(want[-1]):
            return None
        return 0 if got[-1] == want[-1] else 1

    found = [(i != index, loose, abs(i - index), i) for i in range(len(words) - n + 1) if (loose := fit(i)) is not None]
    if not found:
        raise ValueError(f"{name}_text {text!r} does not occur in the text (at {name}_index={index} or elsewhere)")
    start = min(found)[-1]
    return start, start + n


def mark(words: list[str], span: tuple[int, int], marker: str) -> list[str]:
    """The words with `marker` before the span and after it (inside trailing punctuation: "*Pete*.")."""
    out = list(words)
    first, end = span
    out[first] = marker + out[first]
    last = out[end - 1]
    core = last.rstrip(string.punctuation)
    out[end - 1] = core + marker + last[len(core) :]
    return out


superglue(
    "wsc", ("False", "True"), ("accuracy",), ("text", None), (False, True), compose=wsc_texts, hub_name="wsc.fixed"
)


# ---------------------------------------------------------------- COPA (multiple choice)

CONNECTIVES = {"cause": "because", "effect": "so"}


def copa_choices(row: dict) -> list[tuple[str, str]]:
    """COPA: per choice the pair ("<premise without its final period> because|so", "<choice>")."""
    question = field(row, "question", str)
    if question not in CONNECTIVES:
        raise ValueError(f"question {question!r} is not 'cause' or 'effect'")
    stem = f"{field(row, 'premise', str).rstrip().rstrip('.!')} {CONNECTIVES[question]}"
    return [(stem, field(row, "choice1", str)), (stem, field(row, "choice2", str))]


# ---------------------------------------------------------------- MultiRC, ReCoRD (candidates)


def multirc_passage(text: str) -> str:
    """The paragraph without the official files' sentence tags ("<b>Sent 1: </b>...<br>")."""
    text = re.sub(r"<b>Sent \d+: </b>", "", text)
    return " ".join(re.sub(r"<br\s*/?>", " ", text).split())


def binary_label(value) -> int:
    """An answer option's 0/1 (or false/true) label; -1 when absent (test files, hub test split)."""
    if value is None:
        return UNLABELLED
    if isinstance(value, int) and value in (0, 1, UNLABELLED):  # bool is an int: false/true are 0/1
        return int(value)
    raise ValueError(f"answer label {value!r} is not 0 or 1")


def multirc_questions(line: dict) -> list[dict]:
    """One line of the official MultiRC jsonl (a paragraph with its questions) -> one row per question."""
    paragraph = field(line, "passage", dict)
    passage = multirc_passage(field(paragraph, "text", str, at="passage."))
    rows = []
    for i, q in enumerate(field(paragraph, "questions", list, at="passage.")):
        at = f"passage.questions[{i}]."
        idx = {"paragraph": index(line, "idx"), "question": index(q, "idx", at=at)}
        answers = [_multirc_answer(a, f"{at}answers[{j}].") for j, a in enumerate(field(q, "answers", list, at=at))]
        texts, ids, labels = zip(*answers) if answers else ((), (), ())
        rows.append(question_row(idx, passage, field(q, "question", str, at=at), texts, ids, labels))
    return rows


def _multirc_answer(answer: dict, at: str) -> tuple[str, int, int]:
    """(text, idx, label) of one official answer option."""
    return field(answer, "text", str, at=at), index(answer, "idx", at=at), binary_label(answer.get("label"))


def multirc_hub(data) -> list[dict]:
    """The hub's MultiRC (one row per answer option) grouped into one row per question."""
    rows: dict[tuple, dict] = {}
    for r in data:
        key = (r["idx"]["paragraph"], r["idx"]["question"])
        if key not in rows:
            rows[key] = question_row(
                {"paragraph": key[0], "question": key[1]}, multirc_passage(r["paragraph"]), r["question"], [], [], []
            )
        rows[key]["candidates"].append(r["answer"])
        rows[key]["candidate_ids"].append(r["idx"]["answer"])
        rows[key]["labels"].append(binary_label(r["label"]))
    return list(rows.values())


def multirc_pair(question: str, answer: str) -> str:
    return f"{question} {answer}"


def entity_text(passage: str, span: dict) -> str:
    """The text of an official ReCoRD entity span (`end` is inclusive)."""
    start, end = field(span, "start", int, at="entity."), field(span, "end", int, at="entity.")
    if not 0 <= start <= end < len(passage):
        raise ValueError(f"entity span {start}..{end} is not inside the passage ({len(passage)} characters)")
    return passage[start : end + 1]


def record_row(idx: dict, passage: str, query: str, entities: list[str], answers: list[str]) -> dict:
    if "@placeholder" not in query:
        raise ValueError(f"query {idx} has no @placeholder: {query!r}")
    labels = [int(e in answers) for e in entities] if answers else [UNLABELLED] * len(entities)
    return question_row(idx, passage, query, entities, list(range(len(entities))), labels, answers)


def record_queries(line: dict) -> list[dict]:
    """One line of the official ReCoRD jsonl (a passage with its queries) -> one row per query. The
    candidates are the passage's distinct entity texts (sorted); "@highlight" lines become "- " lines."""
    paragraph = field(line, "passage", dict)
    text = field(paragraph, "text", str, at="passage.")
    entities = sorted({entity_text(text, span) for span in field(paragraph, "entities", list, at="passage.")})
    passage = text.replace("@highlight\n", "- ")
    rows = []
    for i, qa in enumerate(field(line, "qas", list)):
        at = f"qas[{i}]."
        answers = field(qa, "answers", list, default=[], at=at)
        texts = [field(a, "text", str, at=f"{at}answers[{j}].") for j, a in enumerate(answers)]
        idx = {"passage": index(line, "idx"), "query": index(qa, "idx", at=at)}
        rows.append(record_row(idx, passage, field(qa, "query", str, at=at), entities, list(dict.fromkeys(texts))))
    return rows


def record_hub(data) -> list[dict]:
    return [
        record_row(
            {"passage": r["idx"]["passage"], "query": r["idx"]["query"]},
            r["passage"],
            r["query"],
            sorted(set(r["entities"])),
            list(dict.fromkeys(r["answers"])),
        )
        for r in data
    ]


def record_pair(query: str, entity: str) -> str:
    return query.replace("@placeholder", entity)


task(MultipleChoiceSpec, "multiple_choice", "copa", ("accuracy",), num_choices=2, compose=copa_choices)


def candidates_task(name: str, metrics: tuple[str, ...], decide: str, read_line, read_hub, pair) -> CandidatesSpec:
    return task(
        CandidatesSpec, "candidates", name, metrics, decide=decide, read_line=read_line, read_hub=read_hub, pair=pair
    )


candidates_task("multirc", ("f1a", "exact_match"), "each", multirc_questions, multirc_hub, multirc_pair)
candidates_task("record", ("f1", "exact_match"), "top", record_queries, record_hub, record_pair)
