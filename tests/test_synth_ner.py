"""synth_ner: generated the same on every machine, and built so that only context decides a made-up word's tag."""

from collections import defaultdict

from ptune_exp.tasks import family_of, get_task
from ptune_exp.tasks.benchmarks.synth_ner import LABELS, SIZES, generate, made_up_words


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


def test_no_entity_word_of_dev_or_test_is_seen_in_training():
    train_tokens = {w for row in generate("train") for w in row["tokens"]}
    for role in ("dev", "test"):
        assert not set(made_up_words(role)) & train_tokens
        assert not set(made_up_words(role)) & set(made_up_words("train"))
    assert not set(made_up_words("dev")) & set(made_up_words("test"))


def test_a_made_up_word_form_says_nothing_its_context_decides():
    tags_of = defaultdict(set)  # every made-up word in training takes more than one tag over the split
    for row in generate("train"):
        for word, tag in zip(row["tokens"], row["tags"]):
            tags_of[word].add(tag[2:] if tag != "O" else "O")
    words = made_up_words("train")
    ambiguous = [w for w in words if len(tags_of[w]) > 1]
    assert len(ambiguous) > 0.8 * len(words)
    assert set().union(*(tags_of[w] for w in words)) == {"PER", "LOC", "ORG", "O"}


def test_the_tagging_family_loads_it_without_files():
    spec = get_task("synth_ner")
    split = family_of(spec).load_split(spec, "dev", None)
    assert len(split) == SIZES["dev"] and split[0]["tags"] == generate("dev")[0]["tags"]
