"""Span decoding returns exactly the intended substring of real TyDi contexts, in every script.

Logits are constructed (no model): for a chosen character span, the window(s) holding it get a high
start logit on its first token and a high end logit on its last, found from the tokenizer's offsets.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.qa.decode import Window, best_spans, gold_logprob, log_softmax, trim_whitespace, window_spans
from xadv.qa.features import Feature, FeatureConfig, build_features, truncate_questions

LANGS = ("en", "sw", "fi", "id", "ru", "ar", "ko", "bn", "te")
SMALL = FeatureConfig(max_seq_length=64, doc_stride=24, max_query_length=16)  # many windows per context


@pytest.fixture(scope="module")
def rows(data_dir):
    ds = load_qa("tydiqa:all:dev", data_dir=data_dir)
    out: dict[str, list[dict]] = {lang: [] for lang in LANGS}
    for row in ds:
        out[row["lang"]].append(row)
    return out


def windows_for(feats: list[Feature], target: tuple[int, int] | None = None, high: float = 10.0,
                rng: np.random.Generator | None = None) -> list[Window]:
    """Windows with zero (or small random) logits, plus `high` on the target span's end tokens where whole."""
    out = []
    for f in feats:
        n = len(f)
        s = rng.normal(0, 1, n) if rng is not None else np.zeros(n)
        e = rng.normal(0, 1, n) if rng is not None else np.zeros(n)
        if target is not None:
            a, b = target
            ctx = range(f.ctx_lo, f.ctx_hi + 1)
            firsts = [t for t in ctx if f.offsets[t, 0] <= a < f.offsets[t, 1]]
            lasts = [t for t in ctx if f.offsets[t, 0] < b <= f.offsets[t, 1]]
            if firsts and lasts:
                s[firsts[0]] += high
                e[lasts[-1]] += high
        out.append(Window(s, e, f.offsets, f.ctx_lo, f.ctx_hi))
    return out


def token_aligned(tok, context: str, a: int, b: int) -> bool:
    """Whether [a, b) starts and ends on token boundaries (after the usual whitespace trim)."""
    offs = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    starts = {trim_whitespace(context, x, y)[0] for x, y in offs if x < y}
    ends = {y for x, y in offs if x < y}
    return a in starts and b in ends


def decode(tok, question, context, target, config=FeatureConfig(), **kw):
    feats = build_features([question], [context], tok, config)
    return best_spans(windows_for(feats, target), context, **kw), feats


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", LANGS)
def test_gold_answers_decode_exactly(tok, rows, lang):
    picked = [r for r in rows[lang][:60]
              if token_aligned(tok, r["context"], r["answers"]["answer_start"][0],
                               r["answers"]["answer_start"][0] + len(r["answers"]["text"][0]))][:8]
    assert len(picked) >= 5, f"too few token-aligned answers for {lang}"
    for r in picked:
        gold, start = r["answers"]["text"][0], r["answers"]["answer_start"][0]
        spans, _ = decode(tok, r["question"], r["context"], (start, start + len(gold)), max_answer_length=400)
        assert spans[0].text == gold, r["id"]
        assert spans[0].start == start
        assert r["context"][spans[0].start:spans[0].start + len(spans[0].text)] == spans[0].text


@pytest.mark.needs_data
def test_finnish_umlauts_and_cyrillic(tok, rows):
    for lang, chars in (("fi", "äö"), ("ru", "абвгдежзиклмнопрст")):
        r = next(r for r in rows[lang] if any(c in r["answers"]["text"][0] for c in chars)
                 and token_aligned(tok, r["context"], r["answers"]["answer_start"][0],
                                   r["answers"]["answer_start"][0] + len(r["answers"]["text"][0])))
        gold, start = r["answers"]["text"][0], r["answers"]["answer_start"][0]
        spans, _ = decode(tok, r["question"], r["context"], (start, start + len(gold)), max_answer_length=400)
        assert spans[0].text == gold


def test_unaligned_target_gives_the_smallest_covering_token_span(tok):
    """A span cannot begin or end inside a piece: it widens to whole pieces, never to the next word."""
    context = "Hän asuu Helsingissä ja käy töissä Espoossa."  # pieces: ▁Helsingissä | ▁Espoo ssa
    a = context.index("Helsingissä")
    assert decode(tok, "Missä?", context, (a, a + 4))[0][0].text == "Helsingissä"
    a = context.index("Espoossa")
    assert decode(tok, "Missä?", context, (a, a + 6))[0][0].text == "Espoossa"
    assert decode(tok, "Missä?", context, (a, a + 5))[0][0].text == "Espoo"


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", ("bn", "te"))
def test_span_starting_inside_a_word_keeps_combining_mark(tok, rows, lang):
    """Indic pieces often start with a vowel sign; a span starting there must keep it."""
    checked = 0
    for r in rows[lang][:40]:
        context = r["context"]
        enc = tok(context, add_special_tokens=False, return_offsets_mapping=True)
        offs = enc["offset_mapping"]
        for t in range(len(offs) - 3):
            a = offs[t][0]
            if a < offs[t][1] and unicodedata.category(context[a]).startswith("M") and offs[t + 2][1] > a:
                target = (a, offs[t + 2][1])
                spans, _ = decode(tok, r["question"], context, target)
                assert spans[0].start == a
                assert spans[0].text == context[a:offs[t + 2][1]].rstrip()
                assert unicodedata.category(spans[0].text[0]).startswith("M")
                checked += 1
                break
        if checked >= 5:
            break
    assert checked >= 5


@pytest.mark.needs_data
def test_hangul_particles_and_arabic_mid_word_pieces(tok, rows):
    for lang in ("ko", "ar"):
        checked = 0
        for r in rows[lang][:30]:
            context = r["context"]
            offs = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
            pieces = tok.convert_ids_to_tokens(tok(context, add_special_tokens=False)["input_ids"])
            mids = [t for t, p in enumerate(pieces[:-1]) if not p.startswith("▁") and offs[t][0] < offs[t][1]]
            if not mids:
                continue
            t = mids[len(mids) // 2]  # a piece inside a word: e.g. a Korean particle or Arabic suffix
            spans, _ = decode(tok, r["question"], context, (offs[t][0], offs[t][1]))
            assert spans[0].text == context[offs[t][0]:offs[t][1]]
            checked += 1
        assert checked >= 10, lang


def test_whitespace_only_piece_is_never_an_answer(tok):
    # XLM-R makes a lone "▁" piece before some Arabic words; it covers exactly one space
    context = "هي عاصمة مصر القاهرة"
    feats = build_features(["?"], [context], tok)
    offsets = feats[0].offsets
    lone = [t for t in range(feats[0].ctx_lo, feats[0].ctx_hi + 1)
            if context[offsets[t, 0]:offsets[t, 1]].isspace()]
    assert lone, "expected a whitespace-only piece in this context"
    wins = windows_for(feats)
    wins[0].start_logits[lone[0]] = wins[0].end_logits[lone[0]] = 50.0
    spans = best_spans(wins, context)
    assert spans and all(sp.text and not sp.text[0].isspace() and not sp.text[-1].isspace() for sp in spans)


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", ("en", "ru", "ar", "te", "ko"))
def test_random_logits_always_give_exact_trimmed_substrings(tok, rows, lang):
    rng = np.random.default_rng(0)
    for r in rows[lang][:10]:
        feats = build_features([r["question"]], [r["context"]], tok, SMALL)
        spans = best_spans(windows_for(feats, rng=rng), r["context"], n_best=20, max_answer_length=7)
        assert len(spans) == 20
        assert [sp.score for sp in spans] == sorted((sp.score for sp in spans), reverse=True)
        for sp in spans:
            assert r["context"][sp.start:sp.start + len(sp.text)] == sp.text
            assert sp.text and not sp.text[0].isspace() and not sp.text[-1].isspace()


def long_rows(tok, rows, min_tokens: int):
    for lang in LANGS:
        for r in rows[lang]:
            if len(tok(r["context"], add_special_tokens=False)["input_ids"]) >= min_tokens:
                yield r


@pytest.mark.needs_data
def test_answers_in_second_and_third_window_of_long_contexts(tok, rows):
    """384/128 windows on real contexts of 700+ tokens: a target deep inside each later window."""
    checked = 0
    for r in long_rows(tok, rows, 700):
        context = r["context"]
        feats = build_features([r["question"]], [context], tok)
        assert len(feats) >= 3
        for w in (1, 2):
            f = feats[w]
            mid = (f.ctx_lo + f.ctx_hi) // 2
            a, b = f.offsets[mid, 0], f.offsets[mid + 2, 1]
            a, b = trim_whitespace(context, a, b)
            spans = best_spans(windows_for(feats, (a, b)), context)
            assert (spans[0].start, spans[0].text) == (a, context[a:b]), (r["id"], w)
            checked += 1
        if checked >= 8:
            break
    assert checked >= 8


@pytest.mark.needs_data
def test_answer_straddling_a_window_edge(tok, rows):
    """The span crosses the end of window k: only window k+1 holds it whole; window k has partial evidence."""
    checked = 0
    for r in rows["ru"][:40] + rows["bn"][:40] + rows["fi"][:40]:
        context = r["context"]
        feats = build_features([r["question"]], [context], tok, SMALL)
        if len(feats) < 3 or feats[2].ctx_hi < feats[2].ctx_lo + 26:
            continue
        f, g = feats[1], feats[2]
        a = trim_whitespace(context, f.offsets[f.ctx_hi - 1, 0], f.offsets[f.ctx_hi - 1, 1])[0]
        b = g.offsets[g.ctx_lo + 24 + 1, 1]  # beyond window 1's last token
        assert b > f.offsets[f.ctx_hi, 1]
        wins = windows_for(feats, (a, b))
        # window 1 sees the start and votes (weaker) for its own last token as the end
        wins[1].start_logits[f.ctx_hi - 1] += 4.0
        wins[1].end_logits[f.ctx_hi] += 4.0
        spans = best_spans(wins, context, max_answer_length=64)
        assert (spans[0].start, spans[0].text) == (a, context[a:b].rstrip()), r["id"]
        checked += 1
    assert checked >= 10


@pytest.mark.needs_data
def test_max_answer_length_is_respected(tok, rows):
    r = rows["en"][0]
    feats = build_features([r["question"]], [r["context"]], tok)
    f = feats[0]
    wins = windows_for(feats)
    wins[0].start_logits[f.ctx_lo] = 10.0
    wins[0].end_logits[f.ctx_lo + 40] = 10.0  # 41 tokens: too long
    spans = window_spans(wins[0], r["context"], n_best=5, max_answer_length=30)
    assert spans[0].score == pytest.approx(10.0)  # start token with any end within 30 tokens
    end_char = spans[0].start + len(spans[0].text)
    assert end_char <= f.offsets[f.ctx_lo + 29, 1]


@pytest.mark.needs_data
def test_gold_logprob_is_log_softmax_of_the_holding_window(tok, rows):
    r = next(r for r in long_rows(tok, rows, 700))
    context = r["context"]
    feats = build_features([r["question"]], [context], tok)
    f = feats[2]
    t = f.ctx_hi - 5
    a, b = trim_whitespace(context, f.offsets[t, 0], f.offsets[t + 1, 1])
    rng = np.random.default_rng(1)
    wins = windows_for(feats, (a, b), rng=rng)
    holding = [k for k, w in enumerate(wins) if w.offsets[w.ctx_lo, 0] <= a and w.offsets[w.ctx_hi, 1] >= b]
    assert 2 in holding
    expected = max(log_softmax(wins[k].start_logits)[np.flatnonzero(wins[k].offsets[:, 1] > a)[0]]
                   + log_softmax(wins[k].end_logits)[np.flatnonzero((wins[k].offsets[:, 0] < b)
                                                                    & (wins[k].offsets[:, 0] >= 0))[-1]]
                   for k in holding)
    assert gold_logprob(wins, [(a, context[a:b])]) == pytest.approx(expected)
    # best of several gold answers; -inf when no window holds any
    assert gold_logprob(wins, [(a, context[a:b]), (0, context[:len(context)])]) == pytest.approx(expected)
    assert gold_logprob(wins, [(0, context)]) == -math.inf


@pytest.mark.needs_data
def test_long_questions_are_cut_at_a_token_boundary(tok, rows):
    r = rows["fi"][0]
    question = " ".join([r["question"]] * 30)
    (cut,) = truncate_questions([question], tok, 64)
    assert question.startswith(cut) and len(tok(cut, add_special_tokens=False)["input_ids"]) <= 64
    feats = build_features([question], [r["context"]], tok)
    for f in feats:
        assert f.ctx_lo <= 64 + 3  # <s> q </s></s> then context


@pytest.mark.needs_data
def test_windows_cover_the_context_with_the_configured_overlap(tok, rows):
    r = next(r for r in long_rows(tok, rows, 700))
    context = r["context"]
    feats = build_features([r["question"]], [context], tok, FeatureConfig(max_seq_length=256, doc_stride=64))
    all_ctx = tok(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    seen = []
    for k, f in enumerate(feats):
        assert len(f) <= 256
        assert (f.offsets[: f.ctx_lo] == -1).all() and (f.offsets[f.ctx_hi + 1:] == -1).all()
        pieces = [tuple(o) for o in f.offsets[f.ctx_lo:f.ctx_hi + 1].tolist()]
        if k:
            assert pieces[:64] == seen[-64:]  # doc_stride = overlap in tokens
        seen.extend(pieces if not k else pieces[64:])
    assert seen == [tuple(o) for o in all_ctx]


def test_impossible_window_settings_are_refused(tok):
    with pytest.raises(XadvError, match="doc_stride"):
        build_features(["q"], ["c"], tok, FeatureConfig(max_seq_length=100, doc_stride=40, max_query_length=64))


def test_empty_context_gives_no_span(tok):
    feats = build_features(["Kuka?"], [""], tok)
    assert best_spans(windows_for(feats), "") == []


def test_flat_logits_decode_to_the_first_spans_whatever_numpy_partitions():
    """All spans tie (an untrained head, a constructed model that knows nothing): the n-best are the
    earliest, shortest spans, in order, not whichever tied spans `argpartition` happens to return."""
    context = " ".join(f"w{i}" for i in range(200))
    n = 200
    starts = [context.index(f"w{i} ") if i < n - 1 else context.index(f"w{i}") for i in range(n)]
    offsets = np.array([[a, a + len(f"w{i}")] for i, a in enumerate(starts)])
    window = Window(np.zeros(n), np.zeros(n), offsets, 0, n - 1)
    spans = best_spans([window], context, n_best=5, max_answer_length=30)
    assert [s.text for s in spans] == ["w0", "w0 w1", "w0 w1 w2", "w0 w1 w2 w3", "w0 w1 w2 w3 w4"]
