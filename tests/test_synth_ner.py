"""synth_ner: generated the same on every machine, and built so that only context decides an ambiguous word's tag."""

from collections import defaultdict

from ptune_exp.tasks import family_of, get_task
from ptune_exp.tasks.benchmarks.synth_ner import LABELS, NAMES, NOUNS, SIZES, generate


def test_the_splits_are_fixed_and_differ():
    assert generate("train") == generate("train")
    assert generate("dev") != generate("test")
    assert {role: len(generate(role)) for role in SIZES} == SIZES


def test_tags_are_iob2_over_the_declared_labels():
    for row in generate("train"):
        assert len(row["tokens"]) == len(row["tags"])
        for prev, tag in zip(["O", *row["tags"]], row["tags"]):
            assert tag in LABELS
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], row  # an I- tag continues an entity of its own type


def test_every_ambiguous_word_takes_more_than_one_tag():
    seen = defaultdict(set)
    for row in generate("train"):
        for word, tag in zip(row["tokens"], row["tags"]):
            seen[word].add(tag)
    for word in NAMES:
        assert seen[word] >= {"B-PER", "B-LOC"}, (word, seen[word])
    for word in NOUNS:
        assert seen[word] >= {"B-ORG", "O"}, (word, seen[word])


def test_the_tagging_family_loads_it_without_files():
    spec = get_task("synth_ner")
    split = family_of(spec).load_split(spec, "dev", None)
    assert len(split) == SIZES["dev"] and split[0]["tags"] == generate("dev")[0]["tags"]
