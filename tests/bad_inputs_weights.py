"""Corpus: weights, records and exports read back by ptune-exp-eval, ptune-exp-export and ptune-exp-predict,
and the inputs and outputs of ptune-exp-predict."""

import json
import struct

from corpus import Case

TRAINED = "trainable.safetensors"
EXPORTED = "weights.safetensors"


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def record(change):
    return lambda p: _edit(p.run / "metrics.json", change)


def export(change):
    return lambda p: _edit(p.export / "export.json", change)


def no_digest(then=None):
    """An older record (no weights_sha256), then `then(paths)`."""

    def setup(p):
        _edit(p.run / "metrics.json", lambda r: r.pop("weights_sha256"))
        if then:
            then(p)

    return setup


def write(where, name, content):
    """Write `content` (bytes or text) to `<where>/name`; `where` is run, export or tmp."""

    def setup(p):
        path = getattr(p, where) / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return setup


def garble(where, name):
    def setup(p):
        path = getattr(p, where) / name
        data = bytearray(path.read_bytes())
        data[-16:] = bytes(b ^ 0xFF for b in data[-16:])
        path.write_bytes(bytes(data))

    return setup


def truncate(where, name):
    def setup(p):
        path = getattr(p, where) / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return setup


def remove(where, name):
    return lambda p: (getattr(p, where) / name).unlink()


def safetensors(tensors: dict) -> bytes:
    """A valid safetensors file of float32 tensors {name: shape}."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 4 * (shape[0] * (shape[1] if len(shape) > 1 else 1))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def both(*setups):
    def setup(p):
        for s in setups:
            s(p)

    return setup


def ev(id, *args, setup=None, message="", exit=2):
    return Case(f"weights-eval-{id}", "ptune-exp-eval", ("{run}", *args), exit, message, setup)


def ex(id, *args, setup=None, message="", exit=2):
    return Case(f"weights-export-{id}", "ptune-exp-export", ("{run}", "{tmp}/out", *args), exit, message, setup)


def pr(id, *args, setup=None, message="", exit=2, input="{tmp}/in.jsonl"):
    ok = write("tmp", "in.jsonl", '{"sentence": "the movie was great", "idx": 3}\n')
    setup = both(ok, setup) if setup else ok
    return Case(f"weights-predict-{id}", "ptune-exp-predict", ("{export}", input, *args), exit, message, setup)


TRUST = {"name": "x", "name_or_path": "/nonexistent/model", "trust_remote_code": True}
DAMAGED = r"has sha256 .* but .* records .*damaged or was replaced"
WRONG_NAMES = safetensors({"head.out.weight": (2, 32), "prompt.nonsense": (4, 4)})
WRONG_SHAPES = safetensors({"head.out.weight": (3, 32), "head.out.bias": (3,), "prompt.encoder.rows": (16, 128)})

EVAL = [
    ev("trainable-garbled", setup=garble("run", TRAINED), message=TRAINED + " " + DAMAGED),
    ev("trainable-truncated", setup=truncate("run", TRAINED), message=DAMAGED),
    ev("trainable-empty", setup=write("run", TRAINED, b""), message=DAMAGED),
    ev("trainable-missing", setup=remove("run", TRAINED), message=f"{TRAINED} is missing; restore"),
    ev("no-digest-empty", setup=no_digest(write("run", TRAINED, b"")), message="not a readable safetensors file"),
    ev("no-digest-text", setup=no_digest(write("run", TRAINED, "hello")), message="not a readable safetensors file"),
    ev("no-digest-wrong-names", setup=no_digest(write("run", TRAINED, WRONG_NAMES)), message="does not fit"),
    ev("no-digest-wrong-shapes", setup=no_digest(write("run", TRAINED, WRONG_SHAPES)), message="size mismatch"),
    ev("no-digest-warns", setup=no_digest(), exit=0, message=r"warning: .*records no sha256 of " + TRAINED),
    ev("digest-not-hex", setup=record(lambda r: r.update(weights_sha256="xyz")), message="is not a sha256"),
    ev("digest-other", setup=record(lambda r: r.update(weights_sha256="0" * 64)), message=DAMAGED),
    ev("record-garbage", setup=write("run", "metrics.json", "{status: done"), message="metrics.json is not valid JSON"),
    ev("record-empty", setup=write("run", "metrics.json", ""), message="metrics.json is not valid JSON"),
    ev("record-null", setup=write("run", "metrics.json", "null"), message="metrics.json holds null"),
    ev("record-array", setup=write("run", "metrics.json", "[1, 2, 3]"), message="holds an array"),
    ev("record-binary", setup=write("run", "metrics.json", b"\xff\xfe\x00"), message="metrics.json cannot be read"),
    ev("record-failed", setup=record(lambda r: r.update(status="failed", error="boom")), message="failed run"),
    ev("record-running", setup=record(lambda r: r.update(status="running")), message="is a running run"),
    ev("record-no-status", setup=record(lambda r: r.pop("status")), message="has no 'status' field"),
    ev("record-no-config", setup=record(lambda r: r.pop("config")), message="has no 'config' field"),
    ev("record-config-list", setup=record(lambda r: r.update(config=[])), message="config=.* must be an object"),
    ev("record-seed-text", setup=record(lambda r: r["config"].update(seed="x")), message="seed='x' must be"),
    ev("record-weights-path", setup=record(lambda r: r.update(weights="../x")), message="must be a file name"),
    ev("record-trust", setup=record(lambda r: r["config"].update(model=TRUST)), message="pass --trust-remote-code"),
    ev(
        "record-interpolation",
        setup=record(lambda r: r["config"]["task"].update(max_seq_len="${nope}")),
        message="metrics.json: config:",
    ),
    ev("not-a-run", setup=remove("run", "metrics.json"), message="has no metrics.json"),
    ev("unwritable", setup=lambda p: (p.run / "eval.json").mkdir(), message="could not write .*eval.json.*--out"),
    ev("out-missing-folder", "--out", "{tmp}/no/such/eval.json", message="--out .* does not exist"),
    ev("out-elsewhere", "--out", "{tmp}/eval.json", exit=0, message=r"wrote .*/work/eval\.json"),
]

EXPORT = [
    ex("trainable-garbled", setup=garble("run", TRAINED), message=DAMAGED),
    ex("trainable-missing", setup=remove("run", TRAINED), message="is missing"),
    ex("no-digest-garbage", setup=no_digest(write("run", TRAINED, "x" * 64)), message="not a readable safetensors"),
    ex("record-array", setup=write("run", "metrics.json", "[1, 2, 3]"), message="holds an array"),
    ex("record-failed", setup=record(lambda r: r.update(status="failed")), message="is a failed run"),
    ex("record-no-method", setup=record(lambda r: r.pop("method")), message="has no 'method' field"),
    ex("out-under-a-file", setup=write("tmp", "out", "a file"), message="could not write the export to"),
    ex("no-digest-warns", setup=no_digest(), exit=0, message="records no sha256"),
]

PREDICT = [
    pr("weights-garbled", setup=garble("export", EXPORTED), message=EXPORTED + " " + DAMAGED),
    pr("weights-truncated", setup=truncate("export", EXPORTED), message=DAMAGED),
    pr("weights-missing", setup=remove("export", EXPORTED), message=f"{EXPORTED} is missing; export the run again"),
    pr("weights-wrong-names", setup=write("export", EXPORTED, WRONG_NAMES), message=DAMAGED),
    pr(
        "no-digest-wrong-shapes",
        setup=both(export(lambda m: m.pop("weights_sha256")), write("export", EXPORTED, WRONG_SHAPES)),
        message="does not fit the rebuilt model",
    ),
    pr("no-digest-warns", setup=export(lambda m: m.pop("weights_sha256")), exit=0, message="records no sha256"),
    pr("json-garbage", setup=write("export", "export.json", "{"), message="export.json is not valid JSON"),
    pr("json-empty", setup=write("export", "export.json", ""), message="export.json is not valid JSON"),
    pr("json-null", setup=write("export", "export.json", "null"), message="export.json holds null"),
    pr("json-array", setup=write("export", "export.json", "[1,2,3]"), message="export.json holds an array"),
    pr("json-missing", setup=remove("export", "export.json"), message="has no export.json"),
    pr("format-version", setup=export(lambda m: m.update(format="ptune-exp-export/9")), message="has format"),
    pr("no-method", setup=export(lambda m: m.pop("method")), message="has no 'method' field"),
    pr("unknown-method", setup=export(lambda m: m.update(method="bitfit")), message="unknown method 'bitfit'"),
    pr("unknown-task", setup=export(lambda m: m["task"].update(name="nope")), message="unknown task 'nope'"),
    pr("task-list", setup=export(lambda m: m.update(task=[])), message="task=.* must be an object"),
    pr("family-other", setup=export(lambda m: m.update(family="qa")), message="is a classification task"),
    pr("labels-text", setup=export(lambda m: m.update(labels="positive")), message="list of label names"),
    pr("labels-other", setup=export(lambda m: m.update(labels=["a", "b"])), message="are not task=synth_sentiment's"),
    pr(
        "model-unknown-key",
        setup=export(lambda m: m["model"].update(evil=1)),
        message="model.evil: no such key in the model config",
    ),
    pr("trust", setup=export(lambda m: m.update(model=TRUST)), message="pass --trust-remote-code only if you trust"),
    pr("trust-text", setup=export(lambda m: m["model"].update(trust_remote_code="no")), message="--trust-remote-code"),
    pr("input-missing", input="{tmp}/none.jsonl", message="input file .*none.jsonl does not exist"),
    pr("input-empty", input="{tmp}/e.jsonl", setup=write("tmp", "e.jsonl", ""), message="holds no inputs"),
    pr("input-extension", input="{tmp}/in.txt", setup=write("tmp", "in.txt", "hi"), message="'sentence' field"),
    pr("input-bad-line", setup=write("tmp", "in.jsonl", '{"sentence": "a"}\n{oops\n'), message=":2: not valid JSON"),
    pr("input-array-line", setup=write("tmp", "in.jsonl", "[1]\n"), message=":1: expected a JSON object"),
    pr("input-no-field", setup=write("tmp", "in.jsonl", '{"text": "a"}\n'), message="missing field 'sentence'"),
    pr(
        "input-number",
        setup=write("tmp", "in.jsonl", '{"sentence": 5}\n'),
        message=r"in\.jsonl:1: field 'sentence' should be a string, got a number",
    ),
    pr("input-label", setup=write("tmp", "in.jsonl", '{"sentence": "a", "label": "meh"}\n'), message="label 'meh'"),
    pr("input-binary", setup=write("tmp", "in.jsonl", b"\xff\xfe\xfa\n"), message="in.jsonl.*save it as UTF-8"),
    pr("input-tsv-columns", input="{tmp}/in.tsv", setup=write("tmp", "in.tsv", "sentence\n1\t2\n"), message="fields"),
    pr("out-missing-folder", "-o", "{tmp}/no/such/x", message="output .* does not exist"),
    pr("out-under-a-file", "-o", "{run}/metrics.json/x", message="metrics.json is not a folder"),
    pr("ok-jsonl", exit=0, message=r"wrote .*in\.jsonl\.predictions\.jsonl"),
    pr("ok-tsv", input="{tmp}/in.tsv", setup=write("tmp", "in.tsv", "sentence\nthe film was dull\n"), exit=0),
]

CASES = EVAL + EXPORT + PREDICT
