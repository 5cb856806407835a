"""Training windows on real TyDi QA text: labels point at the gold answer in every script, windows are
the inference engine's windows, and the no-answer policy does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from xadv.train.features import answer_tokens, pair_train_features, qa_train_features


@pytest.fixture(scope="module")
def rows(data_dir):
    from xadv.data import load_qa

    ds = load_qa("tydiqa:en,ko,sw:train", data_dir)
    by_lang = {}
    for row in ds.to_list():
        if len(by_lang.setdefault(row["lang"], [])) < 150:
            by_lang[row["lang"]].append(row)
    return [r for rs in by_lang.values() for r in rs]



@pytest.mark.needs_data
def test_labels_recover_the_gold_answer_in_every_language(rows, tok):
    from xadv.qa.features import FeatureConfig, build_features

    cfg = dict(max_seq_length=128, doc_stride=64, max_query_length=32)
    feats, stats = qa_train_features(rows, tok, no_answer="drop", **cfg)
    windows = build_features([r["question"] for r in rows], [r["context"] for r in rows], tok,
                             FeatureConfig(**cfg))
    assert stats.windows == len(windows) > len(rows)  # short windows: many contexts need several
    assert stats.kept == len(feats) == stats.with_answer and stats.dropped_no_answer == stats.windows - stats.kept
    # map each kept window back to its example through the inference windows (same order, same ids)
    kept = iter(feats)
    f = next(kept)
    exact = contains = total = 0
    for w in windows:
        if f is None or not np.array_equal(w.input_ids, f.input_ids):
            continue
        row = rows[w.example_index]
        gold = row["answers"]["text"][0]
        text = row["context"][w.offsets[f.start, 0]:w.offsets[f.end, 1]].strip()
        total += 1
        exact += text == gold.strip()
        contains += gold.strip() in text
        assert f.ctx_lo <= f.start <= f.end <= f.ctx_hi and f.lang == row["lang"]
        f = next(kept, None)
    assert f is None and total == len(feats)
    assert contains == total  # the labelled span always covers the whole answer
    # and is exactly it, except where one piece runs past the answer ("2007," "김일성이"): ~90% here
    assert exact / total > 0.85, exact / total


@pytest.mark.needs_data
def test_cls_policy_keeps_every_window_and_labels_the_rest_at_cls(rows, tok):
    cfg = dict(max_seq_length=128, doc_stride=64, max_query_length=32)
    drop, sd = qa_train_features(rows, tok, no_answer="drop", **cfg)
    cls, sc = qa_train_features(rows, tok, no_answer="cls", **cfg)
    assert sc.kept == sc.windows == sd.windows and sc.with_answer == sd.kept
    no_answer = [f for f in cls if f.start == 0]
    assert len(no_answer) == sc.windows - sc.with_answer > 0
    assert all(f.end == 0 for f in no_answer)
    assert sd.unlabelled_examples == sc.unlabelled_examples == 0  # every answer fits in some window


def test_answer_tokens_needs_the_whole_answer_inside_the_window():
    # context "ab cd ef": pieces "ab" [0,2), " cd" [2,5) (XLM-R: the space belongs to the next word), " ef" [5,8)
    offsets = np.array([[-1, -1], [0, 2], [2, 5], [5, 8], [-1, -1]])
    assert answer_tokens(offsets, 1, 3, 3, 5) == (2, 2)  # "cd"
    assert answer_tokens(offsets, 1, 3, 3, 8) == (2, 3)  # "cd ef"
    assert answer_tokens(offsets, 1, 2, 3, 8) is None  # "ef" is outside a window ending at " cd"
    assert answer_tokens(offsets, -1, -1, 0, 1) is None


def test_questions_without_an_answer_cannot_train(tok):
    from xadv.errors import DataError

    row = {"id": "q1", "lang": "en", "question": "?", "context": "text", "answers": {"text": [], "answer_start": []}}
    with pytest.raises(DataError, match="example 'q1' has no answer"):
        qa_train_features([row], tok, max_seq_length=64, doc_stride=16, max_query_length=16)


@pytest.mark.needs_data
def test_pair_features(data_dir, tok):
    from xadv.data import load_pairs

    rows = load_pairs("xnli:sw:dev", data_dir).select(range(40)).to_list()
    feats, stats = pair_train_features(rows, tok, max_seq_length=48)
    assert stats.windows == len(feats) == 40
    assert [f.label for f in feats] == [r["label"] for r in rows]
    assert max(len(f) for f in feats) <= 48 and all(f.lang == "sw" for f in feats)
    assert feats[0].input_ids[0] == tok.cls_token_id
