"""Per-row prompts: one forward whose rows carry different tasks' prompts (different methods and prefix
lengths) gives every row what its own task's forward gives it (the training path), on both attention
functions and on DeBERTa's injection."""

import pytest
import torch

from ptune_exp.serve.rows import RowPrompt, mixed_inputs, strip
from tiny_models import batch, build_tiny, hidden

TEXTS = [
    ["the movie was great", "i hated the soup and the service was rude too"],
    ["good"],
    ["the hotel room was lovely but the food was bland", "awful", "the concert was superb"],
    ["boring plot"],
]
# (method, prefix length) of each group; None: no prompt at all (the stock backbone)
GROUPS = [("ptv2", 2), ("ptv2", 5), ("pt", 3), (None, 0)]


def models(arch: str, attn: str):
    out = []
    for seed, (method, length) in enumerate(GROUPS):
        model, tok = build_tiny(arch, method or "fft", attn, seed=0, **({"prefix_len": length} if method else {}))
        if method:  # prompts far from their small initialisation, so that a wrong row shows
            torch.manual_seed(seed + 1)
            for p in model.prompt.parameters():
                p.data.normal_(std=1.0)
        out.append(model)
    return out, tok


def pad_to(ids: torch.Tensor, length: int, value: int) -> torch.Tensor:
    return torch.nn.functional.pad(ids, (0, length - ids.shape[1]), value=value)


@pytest.mark.parametrize(("arch", "attn"), [("bert", "sdpa"), ("bert", "eager"), ("deberta-v2", "eager")])
def test_rows_of_different_tasks_in_one_forward_equal_each_tasks_own_forward(arch, attn):
    built, tok = models(arch, attn)
    encs = [batch(tok, texts) for texts in TEXTS]
    expected = [hidden(model, enc) for model, enc in zip(built, encs)]
    longest = max(e["input_ids"].shape[1] for e in encs)
    cat = lambda key, value: torch.cat([pad_to(e[key], longest, value) for e in encs])
    types = cat("token_type_ids", 0) if "token_type_ids" in encs[0] else None
    prompts = [RowPrompt.of(m.prompt) for m in built]
    counts = [len(texts) for texts in TEXTS]
    backbone = built[0].backbone  # a deep-prompt model's backbone: its attention layers are tagged
    with torch.no_grad():
        inputs, index = mixed_inputs(
            backbone, prompts, counts, cat("input_ids", tok.pad_token_id), cat("attention_mask", 0), types
        )
        mixed = strip(backbone(**inputs).last_hidden_state, index)
    start = 0
    for want, enc, n in zip(expected, encs, counts):
        got = mixed[start : start + n, : want.shape[1]]
        real = enc["attention_mask"].bool()
        torch.testing.assert_close(got[real], want[real], atol=1e-5, rtol=1e-5)
        start += n
    # the check can fail: the same rows with the prompts in the wrong groups differ
    with torch.no_grad():
        swapped, index = mixed_inputs(
            backbone, prompts[::-1], counts, cat("input_ids", tok.pad_token_id), cat("attention_mask", 0), types
        )
        wrong = strip(backbone(**swapped).last_hidden_state, index)
    assert not torch.allclose(wrong[: counts[0], 0], mixed[: counts[0], 0], atol=1e-3)


def test_a_batch_of_one_task_is_the_training_paths_forward():
    (model, *_), tok = models("bert", "sdpa")
    enc = batch(tok, TEXTS[0])
    with torch.no_grad():
        inputs, index = mixed_inputs(
            model.backbone, [RowPrompt.of(model.prompt)], [2], enc["input_ids"], enc["attention_mask"], None
        )
        got = strip(model.backbone(**inputs).last_hidden_state, index)
    real = enc["attention_mask"].bool()
    torch.testing.assert_close(got[real], hidden(model, enc)[real], atol=1e-5, rtol=1e-5)
