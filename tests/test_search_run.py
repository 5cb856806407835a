"""Model-in-the-loop search end to end on real TyDi examples, with a constructed model whose answer
flips exactly when two known keywords are broken (`xadv.testing.KeywordOracle`): success,
the answer span never modified, the budget and the max share honoured, determinism, greedy vs random,
loss guidance, beam search, script-correct words and edits in Bengali, and the SQuAD output."""

from __future__ import annotations

import pytest

from attacks.base import check_example
from attacks.text import text_problems, words
from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.qa.engine import EngineConfig, QAEngine

pytestmark = [pytest.mark.needs_data, pytest.mark.usefixtures("torch_threads_restored")]


def _cases(tok, lang, field, n, data_dir, min_words=0, max_words=10**9):
    """The first `n` examples where the oracle finds two keywords in `field` and answers right."""
    from xadv.testing import keyword_case

    rows, cases = [], []
    for r in load_qa(f"tydiqa:{lang}:dev", data_dir=data_dir):
        if not min_words <= len(words(r[field])) <= max_words or len(r["context"]) > 1500:
            continue
        case = keyword_case(tok, r, field)
        if case is not None:
            rows.append(dict(r))
            cases.append(case)
        if len(rows) == n:
            break
    return rows, cases


def _engine(tok, cases):
    from xadv.testing import KeywordOracle

    return QAEngine(KeywordOracle(tok, cases), tok, "keyword-oracle", EngineConfig(num_threads=1))


@pytest.fixture(scope="module")
def context_case(tok, data_dir):
    """sw examples with 40-59 context words: max_share 0.05 allows exactly 2 changed words."""
    rows, cases = _cases(tok, "sw", "context", 5, data_dir, min_words=40, max_words=59)
    engine = _engine(tok, cases)
    clean = engine.predict(rows)
    assert all(clean[r["id"]].text == r["answers"]["text"][0] for r in rows)  # the oracle answers right
    return rows, cases, engine


def _spec_and_args(kw, **defaults):
    """Split keyword settings into the `SearchSpec` (passed whole) and `run_search`'s own arguments."""
    from attacks.search import SearchSpec

    args = {**defaults, **kw}
    spec = {k: args.pop(k) for k in list(args) if k in SearchSpec.__dataclass_fields__}
    return SearchSpec(**spec), args


def _search(engine, rows, **kw):
    from attacks.search import run_search

    spec, args = _spec_and_args(kw, transformation="keyboard", goal="em-flip", search="greedy", budget=150,
                                target="context", max_share=0.05, seed=0)
    return run_search(engine, rows, spec, **args)


def _assert_answers_intact(run, rows):
    clean = {r["id"]: r for r in rows}
    for o in run.outcomes:
        ex = o.example
        check_example(ex)  # answers still at their offsets
        assert ex["answers"]["text"] == clean[o.id]["answers"]["text"]
        assert ex["id"] == o.id
        for t, s in zip(ex["answers"]["text"], ex["answers"]["answer_start"]):
            assert ex["context"][s:s + len(t)] == t


def test_greedy_breaks_the_keywords_and_keeps_every_constraint(context_case):
    from attacks.search.constraints import allowed_changes

    rows, cases, engine = context_case
    run = _search(engine, rows)
    assert [o.status for o in run.outcomes] == ["succeeded"] * len(rows)
    for o, case in zip(run.outcomes, cases):
        assert o.adv_em == 0.0 and o.clean_em == 1.0
        assert o.queries <= 150
        assert o.words_changed == 2 <= allowed_changes(0.05, o.words_total)
        edited = {e["old"] for e in o.edits}
        # exactly the two keywords changed, nothing else (one edit per keyword, inside it)
        touched = [w.text for w in words(next(r for r in rows if r["id"] == o.id)["context"])
                   if any(e["start"] >= w.start and e["end"] <= w.end for e in o.edits)]
        assert sorted(touched) == sorted(case.keywords), (touched, case.keywords, edited)
        assert o.example["question"] == next(r for r in rows if r["id"] == o.id)["question"]
    _assert_answers_intact(run, rows)
    s = run.summary(n_resamples=0)
    assert s["asr"] == 100.0 and s["asr_denominator"] == len(rows) and s["criterion"] == "em"
    assert s["clean_em"] == 100.0 and s["adv_em"] == 0.0 and s["mean_share_changed"] > 0


def test_greedy_beats_random_and_loss_guidance_is_what_finds_the_keywords(context_case):
    rows, _, engine = context_case
    greedy = _search(engine, rows).summary(n_resamples=0)
    random_ = _search(engine, rows, search="random").summary(n_resamples=0)
    unguided = _search(engine, rows, guided=False).summary(n_resamples=0)
    assert greedy["asr"] == 100.0
    assert random_["asr"] < greedy["asr"]
    assert random_["mean_queries"] > greedy["mean_queries"]  # random spends its budget failing
    # F1/EM are flat until both keywords break: without the gold log-prob drop greedy has no signal
    assert unguided["asr"] < greedy["asr"]


def test_budget_is_honoured(context_case):
    rows, _, engine = context_case
    for search in ("greedy", "random", "beam"):
        run = _search(engine, rows, search=search, budget=12)
        assert all(o.queries <= 12 for o in run.outcomes)
        assert all(o.status == "failed" for o in run.outcomes)  # ranking alone needs 40+ queries


def test_same_seed_same_run_even_without_cache(tok, context_case):
    rows, cases, engine = context_case
    a = _search(engine, rows, search="random", budget=40, transformation="keyboard+char-noise")
    b = _search(_engine(tok, cases), rows, search="random", budget=40, transformation="keyboard+char-noise")
    def strip(run):
        return [{k: v for k, v in o.to_dict().items() if k != "seconds"} for o in run.outcomes]
    assert strip(a) == strip(b)
    c = _search(engine, rows, search="random", budget=40, transformation="keyboard+char-noise", seed=1)
    assert strip(c) != strip(a)


def test_cache_makes_a_repeated_search_free(context_case):
    rows, _, engine = context_case
    _search(engine, rows)
    again = _search(engine, rows)
    assert again.engine["forward_passes"] == 0 and again.engine["cache_hits"] > 0


def test_every_transformation_keeps_the_answer_span(context_case):
    rows, _, engine = context_case
    run = _search(engine, rows, transformation="word-delete+invisible+char-noise+homoglyph", max_share=0.2,
                  goal="f1-zero", budget=100)
    assert any(o.edits for o in run.outcomes)
    _assert_answers_intact(run, rows)


def test_beam_search_on_the_question_leaves_the_context_untouched(tok, data_dir):
    rows, cases = _cases(tok, "sw", "question", 3, data_dir, min_words=7)
    engine = _engine(tok, cases)
    run = _search(engine, rows, search="beam", target="question", max_share=0.3, budget=300, beam_width=3,
                  goal="f1-zero")
    assert [o.status for o in run.outcomes] == ["succeeded"] * len(rows)
    for o, r in zip(run.outcomes, rows):
        assert o.example["context"] == r["context"] and o.example["answers"] == r["answers"]
        assert o.adv_f1 == 0.0 and o.queries <= 300
        assert all(e["field"] == "question" for e in o.edits)


def test_bengali_words_and_edits_stay_whole(tok, data_dir):
    from textattack.shared.utils import words_from_text

    from attacks.search.qatext import QAText

    rows, cases = _cases(tok, "bn", "question", 3, data_dir)
    q = rows[0]["question"]
    text = QAText(rows[0])
    assert text.words_per_input[0] == [w.text for w in words(q)]
    assert words_from_text(q) != text.words_per_input[0]  # TextAttack's own splitter breaks Bengali words
    run = _search(_engine(tok, cases), rows, transformation="char-noise", target="question", max_share=0.5,
                  goal="f1-zero", budget=120)
    assert any(o.success for o in run.outcomes)
    for o, r in zip(run.outcomes, rows):
        assert text_problems(r["question"], o.example["question"]) == []


def test_adversarial_examples_are_written_as_squad(context_case, tmp_path):
    rows, _, engine = context_case
    run = _search(engine, rows)
    path = run.write_squad(tmp_path / "adv.json")
    back = {r["id"]: r for r in load_qa(path)}
    assert set(back) == {r["id"] for r in rows}
    for o in run.outcomes:
        assert back[o.id]["context"] == o.example["context"] != next(r for r in rows if r["id"] == o.id)["context"]
    d = run.to_dict(n_resamples=10)
    assert d["summary"]["asr_successes"] == len(rows) and len(d["outcomes"]) == len(rows)
    import json

    assert json.loads(json.dumps(d, allow_nan=False))["config"]["search"] == "greedy"


@pytest.mark.parametrize("kw, message", [
    ({"transformation": "distractor"}, "edits sentences"),
    ({"transformation": "word-swap"}, "not one word at a time"),
    ({"transformation": "keyboard,homoglyph"}, "',' separates cells"),
    ({"transformation": "nope"}, "unknown attack"),
    ({"transformation": "diacritics"}, "does not support language 'sw'"),
    ({"goal": "flip"}, "unknown search goal"),
    ({"search": "genetic"}, "unknown search"),
    ({"budget": 1}, "budget"),
    ({"target": "answer"}, "unknown target"),
    ({"max_share": 0.0}, "max share"),
])
def test_bad_settings_are_one_line_errors(context_case, kw, message):
    rows, _, engine = context_case
    with pytest.raises(XadvError) as exc:
        _search(engine, rows[:1], **kw)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_qatext_word_bookkeeping_matches_a_fresh_segmentation(tok, data_dir):
    """Candidates count their words incrementally; a fresh segmentation must agree, in every script."""
    from attacks.registry import get_attack
    from attacks.search.qatext import QAText
    from attacks.search.transformation import XadvWordSwap

    ds = load_qa("tydiqa:ar,bn,ko,ru,te:dev", data_dir=data_dir)
    seen_langs, checked = set(), 0
    for r in ds:
        if r["lang"] in seen_langs:
            continue
        seen_langs.add(r["lang"])
        text = QAText(dict(r))
        fams = [get_attack(n) for n in ("word-delete", "invisible", "char-noise")]
        fams.append(get_attack("codemix", data_dir=str(data_dir)))
        swap = XadvWordSwap(fams, candidates=2, seed=3)
        for i in range(0, text.num_words, 3):
            for cand in swap.word_candidates(text, i):
                fresh = QAText(cand.row)
                assert cand.num_words == fresh.num_words, (r["id"], i, cand.edits[-1])
                assert cand.words == fresh.words
                check_example(cand.row)
                checked += 1
    assert checked > 200 and seen_langs == {"ar", "bn", "ko", "ru", "te"}


def test_asr_at_a_smaller_budget_is_what_that_budget_gives(context_case):
    rows, _, engine = context_case
    full = _search(engine, rows, budget=150)
    assert all(o.success_query is not None and o.success_query <= o.queries for o in full.outcomes)
    firsts = sorted(o.success_query for o in full.outcomes)
    for b in (firsts[0] - 1, firsts[len(firsts) // 2], firsts[-1]):
        small = _search(engine, rows, budget=b)
        assert full.asr_at(b) == small.summary(n_resamples=0)["asr"], b


def test_edit_distance_and_context_window_constraints(context_case):
    from rapidfuzz.distance import Levenshtein

    from attacks.base import answer_spans, overlaps_any
    from attacks.search import build_attack
    from attacks.search.constraints import TargetWords
    from attacks.search.qatext import QAText

    rows, _, engine = context_case
    text = QAText(rows[0])

    def candidates(**kw):
        spec, args = _spec_and_args(kw, transformation="word-delete+keyboard", target="context", max_share=0.2)
        attack = build_attack(engine, spec, **args)
        out = [c for i in range(text.num_words) for c in
               attack.get_transformations(text, original_text=text, indices_to_modify=[i])]
        return [e for c in out for e in c.attack_attrs["xadv_last"]]

    loose, tight = candidates(), candidates(max_edit_distance=1)
    assert any(e.new == "" for e in loose) and any(Levenshtein.distance(e.old, e.new) > 1 for e in loose)
    assert tight and all(Levenshtein.distance(e.old, e.new) <= 1 for e in tight)

    ctx = [(i, s) for i, (f, s) in enumerate(text.word_spans) if f == "context"]
    at = [k for k, (_, s) in enumerate(ctx) if overlaps_any(s, answer_spans(rows[0]))]
    near = TargetWords("context", context_window=3)(text, None)
    assert near == {i for k, (i, _) in enumerate(ctx) if k not in at and min(abs(k - a) for a in at) <= 3}
    assert len(TargetWords("both")(text, None)) == text.num_words - len(at)


def test_a_word_importance_probe_is_not_counted_as_the_success(tok, data_dir):
    """With one keyword, deleting it while ranking words (`wir="delete"`) already flips the answer; the
    search's success (and `asr_at`) must come from a candidate of the transformation, after the ranking."""
    from xadv.testing import keyword_case

    rows, cases = [], []
    for r in load_qa("tydiqa:sw:dev", data_dir=data_dir):
        case = keyword_case(tok, r, "question", k=1)
        if case is not None and len(words(r["question"])) >= 6:
            rows.append(dict(r))
            cases.append(case)
        if len(rows) == 3:
            break
    engine = _engine(tok, cases)
    run = _search(engine, rows, target="question", max_share=0.2, budget=60, wir="delete")
    for o in run.outcomes:
        assert o.success and o.success_query > o.words_total + 1  # clean query + one probe per word
    ranking_only = min(o.words_total for o in run.outcomes) + 1
    assert run.asr_at(ranking_only) == 0.0
    assert _search(engine, rows, target="question", max_share=0.2, budget=ranking_only, wir="delete").summary(
        n_resamples=0)["asr"] == 0.0
    # ranking by each word's first candidate: the ranking queries are real attempts, one of them wins
    run = _search(engine, rows, target="question", max_share=0.2, budget=60, wir="transform")
    assert all(o.success and o.success_query <= o.words_total + 1 for o in run.outcomes)


def test_a_similarity_floor_keeps_every_searched_question_close_to_the_original(tok, data_dir):
    """`min_similarity` as a search constraint (me5-small, offline): with a floor every candidate under it is
    dropped before the model sees it, so each adversarial question keeps that similarity; a floor near 1
    leaves fewer successes than no floor; the setting enters the search's cell only when set."""
    from attacks.search import SearchSpec
    from xadv.models.similarity import ENCODER_ID, shared_encoder

    rows, cases = _cases(tok, "sw", "question", 6, data_dir)
    engine = _engine(tok, cases)
    runs = {floor: _search(engine, rows, target="question", max_share=0.5, min_similarity=floor)
            for floor in (None, 0.97)}
    enc = shared_encoder()
    kept = [(r["question"], o.example["question"]) for r, o in zip(rows, runs[0.97].outcomes)
            if o.example["question"] != r["question"]]
    assert kept and min(enc.similarities([b for b, _ in kept], [a for _, a in kept])) >= 0.97
    wins = {f: sum(o.status == "succeeded" for o in run.outcomes) for f, run in runs.items()}
    assert wins[0.97] <= wins[None] and wins[None] > 0
    assert "min_similarity" not in SearchSpec().cell()
    assert SearchSpec(min_similarity=0.9).cell()["similarity_encoder"] == ENCODER_ID
    _assert_answers_intact(runs[0.97], rows)
