"""Dataset names resolved against the real data directory; `load_qa` / `load_pairs` entry points."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from xadv.data import load_pairs, load_qa, parse_name, resolve
from xadv.data.names import looks_like_path
from xadv.errors import DataError
from xadv.langs import TYDI_LANGS

DEV_COUNTS = {"ar": 921, "bn": 113, "en": 440, "fi": 782, "id": 565, "ko": 276, "ru": 812, "sw": 499, "te": 669}


@pytest.mark.needs_data
def test_tydiqa_all_dev_concatenates_nine_languages_with_lang_column(data_dir):
    ds = load_qa("tydiqa:all:dev", data_dir=data_dir)
    assert len(ds) == 5077
    assert Counter(ds["lang"]) == DEV_COUNTS
    langs = list(ds["lang"])
    assert langs == sorted(langs, key=TYDI_LANGS.index)  # files joined in language order
    assert all(i.startswith(("arabic-", "bengali-")) for i in ds.select(range(1034))["id"])


@pytest.mark.needs_data
def test_single_language_and_comma_list(data_dir):
    assert len(load_qa("tydiqa:sw:dev", data_dir=data_dir)) == 499
    train = load_qa("tydiqa:en,ko,sw:train", data_dir=data_dir)
    assert Counter(train["lang"]) == {"en": 3696, "ko": 1625, "sw": 2755}


@pytest.mark.needs_data
def test_split_defaults_to_dev_and_aliases(data_dir):
    assert [f.name for f in resolve("tydi:bn", data_dir)] == ["tydiqa:bn:dev"]
    assert [f.name for f in resolve("TyDiQA:bn:validation", data_dir)] == ["tydiqa:bn:dev"]


@pytest.mark.needs_data
def test_squad_name_reads_the_zip(data_dir):
    (rf,) = resolve("squad:en:dev", data_dir)
    assert rf.path.name == "dev-v1.1.json.zip"
    ds = load_qa("squad:en:dev", data_dir=data_dir)
    assert len(ds) == 10570 and set(ds["lang"]) == {"en"}


@pytest.mark.needs_data
def test_pair_names(data_dir):
    assert len(load_pairs("xnli:ar:dev", data_dir=data_dir)) == 2490
    paws = load_pairs("pawsx:all:dev", data_dir=data_dir)
    assert Counter(paws["lang"]) == {lang: 2000 for lang in ("de", "en", "es", "fr", "ja", "ko", "zh")}


@pytest.mark.needs_data
def test_plain_path_works(data_dir):
    path = data_dir / "tydiqa_goldp" / "tydiqa.goldp.bn.dev.json"
    assert looks_like_path(str(path)) and looks_like_path(path)
    assert not looks_like_path("tydiqa:bn:dev")
    assert load_qa(str(path)).to_list() == load_qa("tydiqa:bn:dev", data_dir=data_dir).to_list()
    assert len(load_pairs(data_dir / "pawsx" / "dev-ja.tsv")) == 2000


@pytest.mark.needs_data
def test_data_dir_from_env(data_dir, monkeypatch):
    monkeypatch.setenv("XADV_DATA_DIR", str(data_dir))
    assert resolve("tydiqa:ko:dev")[0].path == data_dir / "tydiqa_goldp" / "tydiqa.goldp.ko.dev.json"


@pytest.mark.needs_data
def test_default_data_dir_is_the_user_cache(tmp_path, monkeypatch, data_dir):
    monkeypatch.delenv("XADV_DATA_DIR", raising=False)
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path))
    target = tmp_path / "data" / "tydiqa_goldp"
    target.mkdir(parents=True)
    shutil.copy(data_dir / "tydiqa_goldp" / "tydiqa.goldp.bn.dev.json", target)
    assert len(load_qa("tydiqa:bn:dev")) == 113


@pytest.mark.needs_data
@pytest.mark.parametrize(("name", "expected"), [
    ("foo:sw:dev", "unknown dataset 'foo' in 'foo:sw:dev'; known: tydiqa, squad, xquad, mlqa, xnli, pawsx"),
    ("tydiqa:xx:dev", "unknown language 'xx' for tydiqa in 'tydiqa:xx:dev'; known: ar bn en fi id ko ru sw te"),
    ("tydiqa:sw:test", "unknown split 'test' for tydiqa in 'tydiqa:sw:test'; known: dev, train"),
    ("xnli:ko:dev", "unknown language 'ko' for xnli"),
    ("tydiqa", "bad dataset name 'tydiqa': expected dataset:lang:split"),
    ("tydiqa::dev", "bad dataset name"),
])
def test_unknown_parts_are_one_line_errors(data_dir, name, expected):
    with pytest.raises(DataError) as info:
        load_qa(name, data_dir=data_dir)
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.needs_data
def test_known_name_with_absent_file_says_what_exists(data_dir):
    with pytest.raises(DataError) as info:
        load_qa("tydiqa:ar:train", data_dir=data_dir)
    msg = str(info.value)
    assert msg.startswith("tydiqa:ar:train: no tydiqa train file for ar")
    assert "tydiqa.goldp.ar.train.json" in msg
    assert "has: en, ko, sw" in msg and "xadv data download tydiqa" in msg


@pytest.mark.needs_data
def test_all_requires_every_language(data_dir):
    with pytest.raises(DataError, match=r"no tydiqa train file for ar, bn, fi, id, ru, te .*"
                                        r"\(name them: tydiqa:en,ko,sw:train\)"):
        resolve("tydiqa:all:train", data_dir)


def test_empty_data_dir_says_none(tmp_path):
    with pytest.raises(DataError, match=r"tydiqa dev in .* has: none; run `xadv data download tydiqa`"):
        load_qa("tydiqa:sw:dev", data_dir=tmp_path)


@pytest.mark.needs_data
def test_kind_mismatch(data_dir):
    with pytest.raises(DataError, match="xnli is a sentence-pair dataset; use load_pairs"):
        load_qa("xnli:ar:dev", data_dir=data_dir)
    with pytest.raises(DataError, match="tydiqa is a QA dataset; use load_qa"):
        load_pairs("tydiqa:ar:dev", data_dir=data_dir)


def test_parse_name_dedupes_languages():
    spec, langs, split = parse_name("tydiqa:sw,sw,en:train")
    assert (spec.name, langs, split) == ("tydiqa", ["sw", "en"], "train")
