"""The tiny random QA model and the genuine me5 tokenizer it carries, on real TyDi text."""

from __future__ import annotations

import json

import pytest
import torch

from xadv.langs import TYDI_LANGS
from xadv.models.tokenizer import TOKENIZER_SHA256, load_me5_tokenizer, me5_tokenizer_file, sha256_file
from xadv.testing import tiny_qa_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_qa_model(seed=0)


@pytest.fixture(scope="module")
def tydi_pairs(data_dir):
    """(question, context) of the first example of each language's dev file."""
    pairs = {}
    for lang in TYDI_LANGS:
        data = json.loads((data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json").read_text(encoding="utf-8"))
        para = data["data"][0]["paragraphs"][0]
        pairs[lang] = (para["qas"][0]["question"], para["context"])
    return pairs


def test_tokenizer_is_the_pinned_me5_one():
    tok = load_me5_tokenizer()
    assert sha256_file(me5_tokenizer_file()) == TOKENIZER_SHA256
    assert tok.is_fast and len(tok) == 250002 and tok.model_max_length == 512
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.unk_token, tok.mask_token) == \
        ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id, tok.mask_token_id) == \
        (0, 1, 2, 3, 250001)
    # XLM-R pair template: <s> A </s></s> B </s>
    ids = tok("a", "b").input_ids
    assert ids[0] == 0 and ids[-1] == 2 and ids.count(2) == 3


@pytest.mark.needs_data
def test_tokenizer_offsets_point_into_real_text_in_every_language(tiny, tydi_pairs):
    _, tok = tiny
    for lang, (question, context) in tydi_pairs.items():
        enc = tok(question, context, truncation="only_second", max_length=384, return_offsets_mapping=True)
        seq = enc.sequence_ids()
        spans = [(s, e) for (s, e), sid in zip(enc["offset_mapping"], seq) if sid == 1]
        assert len(spans) > 20, lang
        assert all(0 <= s < e <= len(context) for s, e in spans), lang
        assert [s for s, _ in spans] == sorted(s for s, _ in spans), lang
        assert sum(tok.unk_token_id == i for i in enc.input_ids) <= 1, lang  # real vocab, not <unk> soup
        pieces = "".join(context[s:e] for s, e in spans[:10]).replace(" ", "")
        assert pieces and pieces in context.replace(" ", ""), lang


def test_same_seed_same_weights_other_seed_other_weights(tiny):
    model, tok = tiny
    again, same_tok = tiny_qa_model(seed=0, tokenizer=tok)
    other, _ = tiny_qa_model(seed=1, tokenizer=tok)
    assert same_tok is tok
    a, b, c = model.state_dict(), again.state_dict(), other.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["qa_outputs.weight"], c["qa_outputs.weight"])


def test_tiny_model_leaves_the_global_rng_alone(tiny):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_qa_model(seed=5, hidden=16, layers=1, heads=2, tokenizer=tiny[1])
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.needs_data
def test_tiny_model_shape_and_forward_on_real_text(tiny, tydi_pairs):
    model, tok = tiny
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.vocab_size, cfg.pad_token_id) == \
        (32, 2, 2, 250002, 1)
    assert not model.training
    questions, contexts = zip(*tydi_pairs.values())
    enc = tok(list(questions), list(contexts), truncation="only_second", max_length=128, padding=True,
              return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    assert out.start_logits.shape == enc["input_ids"].shape == out.end_logits.shape
    assert torch.isfinite(out.start_logits).all()
    assert out.start_logits.std() > 0  # random, but not constant


def test_hidden_must_divide_by_heads(tiny):
    with pytest.raises(ValueError, match="divisible"):
        tiny_qa_model(hidden=30, heads=4, tokenizer=tiny[1])
