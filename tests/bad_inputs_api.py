"""Corpus: the Python API (`api.load_export`, `Predictor.predict`) called with wrong argument types and
invalid text: a one-line PtuneError, never a raw TypeError or UnicodeEncodeError. `{export}` predicts
synth_sentiment (one field, `sentence`); braces in a value are doubled (the args are format strings)."""

from corpus import Case


def api(id, call, value, *rest, message="", exit=2):
    return Case(f"api-{id}", "python-api", (call, value, *rest), exit, message)


LOAD = r"load_export takes the path of an export folder \(a str or os.PathLike\), not "
LIST = r"predict takes a list of inputs"
SURROGATE = r"inputs\[{i}\] holds '\\ud800', a lone surrogate, which is not valid Unicode text"
CASES = [
    api("load-none", "load_export", "None", message=LOAD + "NoneType$"),
    api("load-int", "load_export", "42", message=LOAD + "int$"),
    api("load-bytes", "load_export", "b'/tmp/export'", message=LOAD + r"bytes \(decode it to a str\)$"),
    api("load-list", "load_export", "['a']", message=LOAD + "list$"),
    api("load-empty", "load_export", "''", message=r"'' is not a usable folder path"),
    api("load-nul", "load_export", "'a\\x00b'", message=r"is not a usable folder path"),
    api("load-surrogate", "load_export", "'\\ud800'", message=r"is not a usable folder path"),
    api("trust-text", "trust", "'yes'", "{export}", message=r"trust_remote_code must be True or False, not 'yes'"),
    api("trust-none", "trust", "None", "{export}", message=r"trust_remote_code must be True or False, not None"),
    api("predict-none", "predict", "None", "{export}", message=LIST + r", not NoneType$"),
    api("predict-int", "predict", "42", "{export}", message=LIST + r", not int$"),
    api("predict-bytes", "predict", "b'great'", "{export}", message=LIST + "; wrap a single input in a list"),
    api("predict-surrogate-field", "predict", "[{{'sentence': '\\ud800'}}]", "{export}", message=SURROGATE.format(i=0)),
    api("predict-surrogate-string", "predict", "['fine', 'x\\ud800y']", "{export}", message=SURROGATE.format(i=1)),
    api("predict-surrogate-key", "predict", "[{{'\\ud800': 'x'}}]", "{export}", message=SURROGATE.format(i=0)),
    api("predict-none-item", "predict", "[None]", "{export}", message=r"inputs\[0\] is NoneType"),
    api("predict-good", "predict", "[{{'sentence': 'fine'}}]", "{export}", exit=0, message=r'"prediction": '),
]
