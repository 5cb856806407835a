"""XQuAD and MLQA by name: each row's language comes from the dataset, ids stay unique, --lang for files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xadv.data import load_qa, parse_name, resolve
from xadv.errors import DataError
from xadv.langs import dataset_langs

MLQA_LANGS = dataset_langs("mlqa")


def squad_json(prefix: str, n: int = 2) -> dict:
    context = f"{prefix} Paris is the capital."
    qas = [{"id": f"id{k}", "question": f"{prefix} q{k}?", "answers": [{"text": "Paris", "answer_start":
                                                                      len(prefix) + 1}]} for k in range(n)]
    return {"data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}], "version": "1.0"}


def write_mlqa(root: Path, split: str, pairs: list[tuple[str, str]]) -> None:
    folder = root / "MLQA_V1" / split
    folder.mkdir(parents=True, exist_ok=True)
    for c, q in pairs:
        (folder / f"{split}-context-{c}-question-{q}.json").write_text(json.dumps(squad_json(f"{c}{q}")),
                                                                        encoding="utf-8")


@pytest.mark.needs_data
def test_xquad_by_name(data_dir):
    de = load_qa("xquad:de", data_dir)  # the default split is XQuAD's only one, test
    assert len(de) == 1190 and set(de["lang"]) == set(de["question_lang"]) == {"de"}
    assert not de[0]["id"].startswith("de/")  # one file: the published ids
    both = load_qa("xquad:en,zh:test", data_dir)
    assert len(both) == 2380 and both[0]["id"] == f"en/{de[0]['id']}" and both[1190]["id"] == f"zh/{de[0]['id']}"
    assert [r.name for r in resolve("xquad:all:test", data_dir)] == [f"xquad:{x}:test" for x in dataset_langs("xquad")]


@pytest.mark.needs_data
def test_a_plain_xquad_file_needs_its_language(data_dir):
    path = data_dir / "xquad" / "xquad.en.json"
    assert set(load_qa(path)["lang"]) == {"und"}  # not guessed from the name
    assert set(load_qa(path, lang="en")["lang"]) == {"en"}
    with pytest.raises(DataError, match=r"^unknown language 'xx' for .*; known: ar bn en"):
        load_qa(path, lang="xx")
    with pytest.raises(DataError, match="--lang applies to a file"):
        load_qa("xquad:en:test", data_dir, lang="en")


def test_mlqa_names_pairs_and_shorthand():
    assert parse_name("mlqa:de:dev")[1] == ["de-de"]
    assert parse_name("mlqa:en-de,de:test")[1] == ["en-de", "de-de"]
    assert parse_name("mlqa:all:test")[1] == [f"{x}-{x}" for x in MLQA_LANGS]
    with pytest.raises(DataError, match=r"unknown language 'en-th' for mlqa .*context-question pairs"):
        parse_name("mlqa:en-th:dev")
    with pytest.raises(DataError, match=r"unknown split 'train' for mlqa"):
        parse_name("mlqa:de:train")


def test_mlqa_rows_carry_context_and_question_language(tmp_path):
    write_mlqa(tmp_path, "dev", [("de", "de"), ("en", "de"), ("de", "en")])
    same = load_qa("mlqa:de:dev", tmp_path)
    assert same["id"] == ["id0", "id1"] and set(same["lang"]) == set(same["question_lang"]) == {"de"}
    cross = load_qa("mlqa:en-de,de-en:dev", tmp_path)
    assert cross["id"] == ["en-de/id0", "en-de/id1", "de-en/id0", "de-en/id1"]  # shared ids qualified
    assert cross["lang"] == ["en", "en", "de", "de"]  # scoring uses the context language, as MLQA
    assert cross["question_lang"] == ["de", "de", "en", "en"]
    assert cross[0]["question"].startswith("ende")
    with pytest.raises(DataError, match=r"no mlqa dev file for zh-zh .*run `xadv data download mlqa`"):
        load_qa("mlqa:zh:dev", tmp_path)
