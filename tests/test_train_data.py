"""Data mixes on the real reference data: which examples of which languages each mix trains on."""

from __future__ import annotations

import pytest

from xadv.train.config import ConfigError
from xadv.train.data import allocate, check_no_leak, load_target, load_task, mix_counts, read_source


def test_allocate_spreads_evenly_and_respects_what_exists():
    assert allocate({"ar": 100, "ru": 100, "sw": 100}, 90) == {"ar": 30, "ru": 30, "sw": 30}
    assert allocate({"ar": 5, "ru": 100, "sw": 100}, 90) == {"ar": 5, "ru": 43, "sw": 42}
    assert sum(allocate({"ar": 5, "ru": 7}, 90).values()) == 12
    assert allocate({"ko": 10}, 0) == {"ko": 0}


def test_mix_counts_follow_the_mix_and_the_english_share():
    avail = {"en": 1000, "ko": 300, "sw": 500}
    assert mix_counts(avail, "en", 0.5, 0) == {"en": 1000}
    assert mix_counts(avail, "multi", 0.5, 0) == {"ko": 300, "sw": 500}
    assert mix_counts(avail, "multi", 0.5, 400) == {"ko": 200, "sw": 200}
    assert mix_counts(avail, "mixed", 0.25, 400) == {"en": 100, "ko": 150, "sw": 150}
    # without a budget, mixed takes as much as keeps the share exact (here limited by the 800 non-English)
    assert mix_counts(avail, "mixed", 0.5, 0) == {"en": 800, "ko": 300, "sw": 500}
    assert mix_counts({"en": 10}, "multi", 0.5, 0) == {}


@pytest.mark.needs_data
def test_xnli_under_each_mix(data_dir):
    kw = dict(en_share=0.25, max_examples=300, seed=1, data_dir=data_dir)
    sources = ["xnli:ar,en,ru,sw:dev"]
    en = load_task("xnli", sources, mix="en", **kw)
    multi = load_task("xnli", sources, mix="multi", **kw)
    mixed = load_task("xnli", sources, mix="mixed", **kw)
    assert en.counts == {"en": 300} and {r["lang"] for r in en.rows} == {"en"}
    assert multi.counts == {"ar": 100, "ru": 100, "sw": 100} and len(multi.rows) == 300
    assert mixed.counts == {"en": 75, "ar": 75, "ru": 75, "sw": 75}
    assert en.available == {"ar": 2490, "en": 2490, "ru": 2490, "sw": 2490} and en.n_labels == 3
    assert {f.path for f in multi.files} == {"xnli/dev-ar.tsv", "xnli/dev-ru.tsv", "xnli/dev-sw.tsv"}
    assert all(len(f.sha256) == 64 and f.examples == 2490 for f in multi.files)
    # seeded: the same rows again, other rows with another seed
    again = load_task("xnli", sources, mix="multi", **kw)
    other = load_task("xnli", sources, mix="multi", **{**kw, "seed": 2})
    assert again.rows == multi.rows and other.rows != multi.rows


@pytest.mark.needs_data
def test_qa_task_and_target_on_real_files(data_dir):
    qa = load_task("qa", ["squad:en:dev", "tydiqa:ko,sw:train"], mix="multi", en_share=0.5, max_examples=0,
                   seed=0, data_dir=data_dir)
    assert qa.counts == {"ko": 1625, "sw": 2755} and qa.kind == "qa"
    target = load_target("tydiqa:en:train", max_examples=0, seed=0, data_dir=data_dir)
    assert target.counts == {"en": 3696}
    (f,) = target.files
    assert f.path == "tydiqa_goldp/tydiqa.goldp.en.train.json"
    assert f.sha256 == "ab4317b6f2fcf3367e8890226631deaf3af283ffb5a878fc54ebb0d6b2afe377"  # MANIFEST.tsv


@pytest.mark.needs_data
def test_bad_sources_and_leaks_are_refused(data_dir):
    with pytest.raises(ConfigError, match="have no English data for mix 'en'"):
        load_task("xnli", ["xnli:sw:dev"], mix="en", en_share=0.5, max_examples=0, seed=0, data_dir=data_dir)
    with pytest.raises(ConfigError, match="is not a SQuAD-format QA dataset"):
        read_source("xnli:sw:dev", "qa", data_dir)
    with pytest.raises(ConfigError, match="is xnli data, not pawsx"):
        read_source("xnli:en:dev", "pairs", data_dir, task="pawsx")
    dev = load_target("tydiqa:sw:dev", max_examples=5, seed=0, data_dir=data_dir)
    with pytest.raises(ConfigError, match="also the evaluation data"):
        check_no_leak(dev.files, "tydiqa:all:dev", data_dir)
    check_no_leak(dev.files, "tydiqa:en:dev", data_dir)  # a different file is fine
