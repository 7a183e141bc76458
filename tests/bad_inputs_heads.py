"""Corpus: method=ptv1 and the heads (docs/heads.md): a prompt encoder, head, template or label words that
cannot work, and a backbone without the part a head reads, on the command line and in an export."""

import json

from corpus import SMOKE, Case

OUT = "hydra.run.dir={tmp}/out"


def cli(id, *args, message):
    return Case(f"heads-{id}", "ptune-exp", (*SMOKE, OUT, *args), 2, message)


def bare_checkpoint(paths):
    """A tiny BERT saved as a plain encoder: no masked-LM head weights in its checkpoint."""
    from ptune_exp.model.tiny import tiny_backbone

    model, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    model.save_pretrained(paths.tmp / "bare")
    tok.save_pretrained(paths.tmp / "bare")


def export(change):
    def setup(paths):
        meta_path = paths.export / "export.json"
        meta = json.loads(meta_path.read_text())
        change(meta)
        meta_path.write_text(json.dumps(meta))

    return setup


def predict(id, change, message):
    args = ("{export}", "{tmp}/in.jsonl", "-o", "{tmp}/out")
    write = lambda p: (p.tmp / "in.jsonl").write_text('{"sentence": "the movie was great"}\n')
    setup = export(change)
    return Case(f"heads-predict-{id}", "ptune-exp-predict", args, 2, message, lambda p: (write(p), setup(p)))


CASES = [
    cli("prompt-encoder-on-pt", "method=pt", "method.prompt_encoder=lstm", message=r"applies to method=ptv1 only"),
    cli("prompt-encoder-on-ptv2", "method=ptv2", "method.prompt_encoder=mlp", message=r"applies to method=ptv1 only"),
    cli("prompt-encoder-unknown", "method=ptv1", "method.prompt_encoder=gru", message=r"takes lstm .* or mlp"),
    cli("ptv1-without-reparam", "method=ptv1", "method.reparam=false", message=r"always reparameterises"),
    cli("head-unknown", "method=ptv2", "method.head=cls", message=r"choose one of linear, pooler, verbalizer"),
    cli(
        "verbalizer-on-tagging",
        "method=pt",
        "method.head=verbalizer",
        "task=conll03",
        "task.data_dir=null",
        message=r"method.head=verbalizer applies to classification tasks; task=conll03 is a tagging task",
    ),
    cli(
        "ptv1-on-qa",
        "method=ptv1",
        "method.head=linear",
        "task=squad",
        "task.data_dir=null",
        message=r"method=ptv1 \(a template places its virtual tokens\) applies to classification tasks; task=squad is a qa task",
    ),
    cli(
        "verbalizer-on-regression",
        "method=ptv1",
        "task=stsb",
        "task.data_dir=null",
        message=r"task=stsb is a regression: method.head=verbalizer needs labels",
    ),
    cli("label-word-splits", "method=ptv1", "task.label_words=[awful,nice]", message=r"must be one token"),
    cli("label-words-too-few", "method=ptv1", "task.label_words=[great]", message=r"give one word per label"),
    cli("label-words-same-token", "method=ptv1", "task.label_words=[great,great]", message=r"the same token"),
    cli("template-without-mask", "method=ptv1", "task.template='{{text_a}} it was .'", message=r"holds \[MASK\] once"),
    cli("template-without-slot", "method=ptv1", "task.template='{{text_a}} it was [MASK] .'", message=r"write \[P\]"),
    cli("pooler-on-distilbert", "method=pt", "method.head=pooler", "model=tiny-distilbert", message=r"has none"),
    cli("verbalizer-on-electra", "method=ptv1", "model=tiny-electra", message=r"reads a masked-LM head"),
    Case(
        "heads-checkpoint-without-mlm-head",
        "ptune-exp",
        (*SMOKE, OUT, "method=ptv1", "model=auto", "model.name_or_path={tmp}/bare"),
        2,
        r"method.head=verbalizer: .*bare has no masked-LM head weights",
        bare_checkpoint,
    ),
    predict(
        "prompt-encoder-on-ptv2",
        lambda m: m["method_config"].update(prompt_encoder="lstm"),
        r"export.json: method.prompt_encoder=lstm applies to method=ptv1 only",
    ),
    predict(
        "label-word-splits",
        lambda m: (m["method_config"].update(head="verbalizer"), m["task"].update(label_words=["awful", "nice"])),
        r"task.label_words: 'nice' is \d tokens",
    ),
    predict(
        "template-without-mask",
        lambda m: (m["method_config"].update(head="verbalizer"), m["task"].update(template="{text_a} it was .")),
        r"export.json: task.template=.*holds \[MASK\] once",
    ),
]
