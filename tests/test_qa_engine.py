"""The engine end to end: a constructed oracle model on real TyDi examples (exact answers through
windowing, length-sorted batching and padding), the prediction cache, determinism and batch-size
invariance with the tiny random model, int8."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xadv.data import load_qa
from xadv.errors import DataError, XadvError
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.qa.features import FeatureConfig
from xadv.testing import SpanOracle, tiny_qa_model

pytestmark = pytest.mark.usefixtures("torch_threads_restored")

LANGS = ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")


@pytest.fixture(scope="module")
def examples(data_dir, tok):
    """Per language: the longest-context example (several 384-token windows) plus 5 ordinary ones."""
    ds = load_qa("tydiqa:all:dev", data_dir=data_dir)
    out = []
    for lang in LANGS:
        rows = [r for r in ds if r["lang"] == lang][:300]
        longest = max(rows, key=lambda r: len(r["context"]))
        out.extend([longest] + [r for r in rows[:6] if r["id"] != longest["id"]][:5])
    return out


def span_targets(rows, tok):
    """Per example a token-aligned target span: the gold answer's own tokens, found via offsets."""
    targets, expected = {}, {}
    for r in rows:
        a = r["answers"]["answer_start"][0]
        b = a + len(r["answers"]["text"][0])
        offs = tok(r["context"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        first = next(x for x, y in offs if y > a)
        last = max(y for x, y in offs if x < b)
        while first < last and r["context"][first].isspace():
            first += 1
        targets[(r["question"], r["context"])] = (first, last)
        expected[r["id"]] = (first, r["context"][first:last])
    return targets, expected


@pytest.fixture(scope="module")
def oracle_case(examples, tok):
    targets, expected = span_targets(examples, tok)
    return targets, expected


def engine_for(model, tok, **kw):
    return QAEngine(model, tok, "test-fingerprint", EngineConfig(**{"max_answer_length": 400, "num_threads": 1, **kw}))


@pytest.mark.needs_data
@pytest.mark.parametrize("batch_size", (1, 7, 32))
def test_oracle_answers_come_back_exactly(examples, tok, oracle_case, batch_size):
    targets, expected = oracle_case
    oracle = SpanOracle(tok, targets)
    preds = engine_for(oracle, tok, batch_size=batch_size).predict(examples)
    assert list(preds) == [r["id"] for r in examples]
    long_ones = 0
    for r in examples:
        start, text = expected[r["id"]]
        p = preds[r["id"]]
        assert (p.start, p.text) == (start, text), r["id"]
        assert p.gold_logprob is not None and p.gold_logprob > -1.0  # the oracle is confident on the gold
        long_ones += len(tok(r["context"])["input_ids"]) > 384
    assert long_ones >= 5  # several answers live in a later window


@pytest.mark.needs_data
def test_small_windows_many_features(examples, tok, oracle_case):
    """Same answers with 96-token windows: most answers are now several windows into the context."""
    targets, expected = oracle_case
    cfg = FeatureConfig(max_seq_length=96, doc_stride=32, max_query_length=32)
    oracle = SpanOracle(tok, targets, cfg)
    engine = engine_for(oracle, tok, max_seq_length=96, doc_stride=32, max_query_length=32, batch_size=16)
    preds = engine.predict(examples)
    assert engine.stats.features > 3 * len(examples)
    for r in examples:
        a, text = expected[r["id"]]
        if len(tok(text, add_special_tokens=False)["input_ids"]) <= 40:  # fits a 96-token window
            assert (preds[r["id"]].start, preds[r["id"]].text) == (a, text), r["id"]


@pytest.mark.needs_data
def test_cache_hits_do_no_forward_pass(examples, tok, oracle_case, tmp_path):
    targets, _ = oracle_case
    oracle = SpanOracle(tok, targets)
    db = tmp_path / "preds.sqlite"
    engine = engine_for(oracle, tok, cache_path=db)
    first = engine.predict(examples)
    calls = oracle.calls
    assert calls > 0 and engine.stats.cache_hits == 0
    assert engine.predict(examples) == first
    assert oracle.calls == calls and engine.stats.cache_hits == len(examples)
    # a fresh engine (new process) with the same on-disk store: still no forward pass
    oracle2 = SpanOracle(tok, targets)
    again = engine_for(oracle2, tok, cache_path=db).predict(examples)
    assert again == first and oracle2.calls == 0
    # another model fingerprint or other decoding settings must not reuse them
    other = QAEngine(oracle2, tok, "another-model", EngineConfig(max_answer_length=400, cache_path=db))
    other.predict(examples[:3])
    assert oracle2.calls > 0
    calls2 = oracle2.calls
    engine_for(oracle2, tok, cache_path=db, max_answer_length=20).predict(examples[:3])
    assert oracle2.calls > calls2


@pytest.mark.needs_data
def test_repeated_inputs_in_one_call_are_computed_once(examples, tok, oracle_case):
    targets, expected = oracle_case
    r = examples[0]
    copies = [dict(r, id=f"copy-{k}") for k in range(5)]
    engine = engine_for(SpanOracle(tok, targets), tok)
    preds = engine.predict(copies)
    assert len({(p.text, p.start) for p in preds.values()}) == 1
    n_windows = len(tok(r["question"], r["context"], truncation="only_second", max_length=384, stride=128,
                        return_overflowing_tokens=True)["input_ids"])
    assert engine.stats.features == n_windows


@pytest.mark.needs_data
def test_gold_logprob_depends_on_the_gold_span(examples, tok, oracle_case):
    targets, expected = oracle_case
    r = examples[0]  # the longest Arabic context: several windows
    assert len(tok(r["context"])["input_ids"]) > 384
    engine = engine_for(SpanOracle(tok, targets), tok)
    good = engine.predict([r])[r["id"]].gold_logprob
    wrong = dict(r, answers={"text": [r["context"][:5]], "answer_start": [0]})
    bad = engine.predict([wrong])[r["id"]].gold_logprob
    assert good > -1.0 and bad < good - 5
    assert engine.predict([r], gold=False)[r["id"]].gold_logprob is None
    nothing = dict(r, answers={"text": [r["context"]], "answer_start": [0]})  # longer than any window
    assert engine.predict([nothing])[r["id"]].gold_logprob == -math.inf


@pytest.fixture(scope="module")
def tiny():
    return tiny_qa_model(seed=0)


@pytest.mark.needs_data
def test_tiny_model_is_deterministic_and_batch_size_invariant(examples, tiny):
    model, tok = tiny
    sub = examples[:24]
    a = QAEngine(model, tok, "tiny-0", EngineConfig(batch_size=1, cache=False, num_threads=1)).predict(sub)
    engine = QAEngine(model, tok, "tiny-0", EngineConfig(batch_size=8, cache=False, num_threads=1))
    b = engine.predict(sub)
    assert engine.predict(sub) == b  # recomputed (no cache): bit-identical
    assert engine.stats.forward_passes == 2 * math.ceil(engine.stats.features / 2 / 8)
    for i in a:
        assert (a[i].text, a[i].start) == (b[i].text, b[i].start)
        assert a[i].score == pytest.approx(b[i].score, abs=1e-4)
        assert a[i].gold_logprob == pytest.approx(b[i].gold_logprob, abs=1e-4)
    rows = {r["id"]: r for r in sub}
    for i, p in a.items():
        assert p.text and rows[i]["context"][p.start:p.start + len(p.text)] == p.text


@pytest.mark.needs_data
def test_padding_and_sorting_do_not_leak_between_examples(examples, tiny):
    """Each example's answer is the same alone as inside a mixed-length batch."""
    model, tok = tiny
    sub = examples[:12]
    engine = QAEngine(model, tok, "tiny-0", EngineConfig(batch_size=12, cache=False, num_threads=1))
    together = engine.predict(sub)
    for r in sub[:4]:
        alone = engine.predict([r])[r["id"]]
        assert (alone.text, alone.start) == (together[r["id"]].text, together[r["id"]].start)
        assert alone.score == pytest.approx(together[r["id"]].score, abs=1e-4)


@pytest.mark.needs_data
def test_int8_runs_and_keeps_exact_substrings(examples, tiny):
    model, tok = tiny
    sub = examples[:8]
    engine = QAEngine(model, tok, "tiny-0", EngineConfig(int8=True, num_threads=1))
    preds = engine.predict(sub)
    assert "DynamicQuantizedLinear" in repr(engine.model) and "DynamicQuantizedLinear" not in repr(model)
    for r in sub:
        p = preds[r["id"]]
        assert r["context"][p.start:p.start + len(p.text)] == p.text
    assert EngineConfig(int8=True, num_threads=1).settings_key() != EngineConfig(precision="fp32").settings_key()


def test_int8_keeps_the_feed_forward_down_projections_fp32(tiny):
    """Their GELU inputs have outliers that per-batch int8 activations cannot hold: quantising them cost
    the default model 9 F1 on 360 TyDi dev questions (49.8 -> 40.7); keeping them fp32 cost nothing."""
    import torch

    from xadv.qa.engine import INT8_SCHEME, int8_linear_names, quantize_int8

    model, _tok = tiny
    linear = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    chosen = int8_linear_names(model)
    ffn_down = {n for n in linear if n.endswith(".output.dense") and ".attention." not in n}
    assert ffn_down and len(ffn_down) == model.config.num_hidden_layers
    assert chosen == linear - ffn_down
    assert any(n.endswith("attention.output.dense") for n in chosen)
    assert any(n.endswith("intermediate.dense") for n in chosen) and "qa_outputs" in chosen
    q = quantize_int8(model)
    mods = dict(q.named_modules())
    assert all(type(mods[n]) is torch.nn.Linear for n in ffn_down)
    assert all(type(mods[n]).__module__.startswith("torch.ao.nn.quantized.dynamic") for n in chosen)
    assert INT8_SCHEME in EngineConfig(int8=True).settings_key()


def test_bad_examples_are_refused_in_one_line(tiny):
    model, tok = tiny
    engine = QAEngine(model, tok, "tiny-0")
    with pytest.raises(DataError, match="duplicate example id 'x'"):
        engine.predict([{"id": "x", "question": "a", "context": "b"}] * 2)
    with pytest.raises(DataError, match="'y' needs string 'question' and 'context'"):
        engine.predict([{"id": "y", "question": "a"}])
    with pytest.raises(XadvError, match="batch size"):
        QAEngine(model, tok, "tiny-0", EngineConfig(batch_size=0))


def test_empty_context_predicts_nothing(tiny):
    model, tok = tiny
    p = QAEngine(model, tok, "tiny-0").predict_one("Mikä?", "")
    assert (p.text, p.start, p.gold_logprob) == ("", -1, None)
    assert np.isneginf(p.score)


def test_windows_longer_than_the_model_takes_are_refused(tiny):
    model, tok = tiny
    with pytest.raises(XadvError, match="exceeds what this model can take"):
        QAEngine(model, tok, "tiny-0", EngineConfig(max_seq_length=1024))


def test_unusable_cache_file_is_set_aside_or_one_clear_error(tiny, tmp_path):
    """A garbage cache file is only a cache: moved aside (kept) with a warning, and a new one started;
    something at the cache path that is not a regular file is one clear error (tests/fuzz has more)."""
    from xadv.errors import XadvWarning

    model, tok = tiny
    bad = tmp_path / "preds.sqlite"
    bad.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.warns(XadvWarning, match="moved it to preds.sqlite.corrupt-"):
        engine = QAEngine(model, tok, "tiny-0", EngineConfig(cache_path=bad))
    assert engine.cache is not None and len(list(tmp_path.glob("preds.sqlite.corrupt-*"))) == 1
    engine.cache.close()
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(XadvError, match=f"prediction cache {folder} is unusable: it is a directory"):
        QAEngine(model, tok, "tiny-0", EngineConfig(cache_path=folder))
