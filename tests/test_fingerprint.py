"""The backbone fingerprint exports record and ptune-exp-serve checks, and how served exports are named."""

from ptune_exp.artifacts.fingerprint import differences, fingerprint, tokenizer_sha256
from ptune_exp.model.tiny import tiny_backbone
from ptune_exp.serve.registry import export_name


def test_the_tokenizer_digest_ignores_truncation_state_but_not_the_vocabulary():
    _, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    before = tokenizer_sha256(tok)
    tok(["a long enough sentence"], truncation=True, max_length=4, padding="max_length")  # sets backend state
    assert tokenizer_sha256(tok) == before
    _, other = tiny_backbone("roberta", 32, 2, 4, 64, "eager")
    assert tokenizer_sha256(other) != before


def test_differences_name_what_differs():
    model, tok = tiny_backbone("bert", 32, 2, 4, 64, "eager")
    loaded = fingerprint(model.config, tok, "a" * 64)
    assert differences(dict(loaded), loaded) == []
    assert differences({**loaded, "layers": 3}, loaded) == ["layers 3 vs the loaded 2"]
    assert differences({**loaded, "weights_sha256": "b" * 64}, loaded)[0].startswith("backbone weights differ")
    assert "no digest" in differences({**loaded, "weights_sha256": None}, loaded)[0]


def test_exports_are_named_by_folder_by_run_or_explicitly(tmp_path):
    assert export_name(str(tmp_path / "runs" / "rte" / "export")) == ("rte", str(tmp_path / "runs" / "rte" / "export"))
    assert export_name(str(tmp_path / "sst2-pt")) == ("sst2-pt", str(tmp_path / "sst2-pt"))
    assert export_name(f"ner={tmp_path / 'export'}") == ("ner", str(tmp_path / "export"))
