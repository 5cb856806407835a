"""SQuAD JSON <-> flat Dataset, on the real TyDi QA GoldP and SQuAD files, plus bad-input cases."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path

import pytest

from xadv.data import QA_COLUMNS, gold_answers, read_squad, to_squad, write_squad
from xadv.errors import DataError
from xadv.langs import TYDI_LANGS

DEV_COUNTS = {"ar": 921, "bn": 113, "en": 440, "fi": 782, "id": 565, "ko": 276, "ru": 812, "sw": 499, "te": 669}
TYDI_FILES = [(lang, "dev") for lang in TYDI_LANGS] + [("en", "train"), ("ko", "train"), ("sw", "train")]


def flatten(obj: dict) -> list[tuple]:
    """Independent reference flattening: (id, title, context, question, [(text, start), ...])."""
    return [(qa["id"], art["title"], para["context"], qa["question"],
             [(a["text"], a["answer_start"]) for a in qa["answers"]])
            for art in obj["data"] for para in art["paragraphs"] for qa in para["qas"]]


def tydi_path(data_dir: Path, lang: str, split: str) -> Path:
    return data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.{split}.json"


@pytest.mark.needs_data
@pytest.mark.parametrize(("lang", "split"), TYDI_FILES, ids=[f"{lg}-{sp}" for lg, sp in TYDI_FILES])
def test_tydi_round_trip_reproduces_questions_answers_offsets(data_dir, lang, split):
    path = tydi_path(data_dir, lang, split)
    original = json.loads(path.read_text(encoding="utf-8"))
    ds = read_squad(path)
    assert ds.column_names == list(QA_COLUMNS)
    assert set(ds["lang"]) == {lang}  # from the TyDi id prefix
    back = to_squad(ds)
    assert flatten(back) == flatten(original)
    if split == "dev":
        assert len(ds) == DEV_COUNTS[lang]
    # re-reading the written JSON gives the identical dataset
    assert read_squad_obj(back, path.name).to_list() == ds.to_list()


def read_squad_obj(obj: dict, name: str):
    from xadv.data.squad import parse_squad, qa_dataset

    return qa_dataset(parse_squad(obj, name))


@pytest.mark.needs_data
def test_round_trip_keeps_structure_when_titles_do_not_repeat(data_dir):
    # ar dev has no two adjacent articles with one title, so the JSON comes back identical
    original = json.loads(tydi_path(data_dir, "ar", "dev").read_text(encoding="utf-8"))
    assert to_squad(read_squad(tydi_path(data_dir, "ar", "dev")), version=None) == original


@pytest.mark.needs_data
def test_squad_dev_zip_reads_and_round_trips_exactly(data_dir):
    path = data_dir / "squad_v1.1" / "dev-v1.1.json.zip"
    with zipfile.ZipFile(path) as zf:
        original = json.loads(zf.read("dev-v1.1.json"))
    ds = read_squad(path, lang="en")
    assert len(ds) == 10570
    assert set(ds["lang"]) == {"en"}
    assert to_squad(ds) == original  # many paragraphs per article, many questions per paragraph


@pytest.mark.needs_data
def test_multiple_gold_answers_survive(data_dir):
    ds = read_squad(tydi_path(data_dir, "te", "dev"))
    n_multi = sum(len(a["text"]) > 1 for a in ds["answers"])
    assert n_multi == 604  # te dev: 604 of 669 questions carry two annotator answers
    gold = gold_answers(ds)
    rows = ds.to_list()
    assert list(gold) == [r["id"] for r in rows]
    assert all(gold[r["id"]] == r["answers"]["text"] for r in rows)


@pytest.mark.needs_data
def test_write_squad_writes_readable_utf8(data_dir, tmp_path):
    ds = read_squad(tydi_path(data_dir, "ko", "dev"))
    out = write_squad(ds, tmp_path / "sub" / "ko.json")
    text = out.read_text(encoding="utf-8")
    assert "\\u" not in text[:2000]  # Hangul written as is, not escaped
    assert read_squad(out).to_list() == ds.to_list()
    assert not list(out.parent.glob("*.part"))


def test_to_squad_gives_a_perturbed_context_its_own_paragraph():
    rows = [
        {"id": "a", "lang": "en", "title": "T", "context": "x Paris y", "question": "q1",
         "answers": {"text": ["Paris"], "answer_start": [2]}},
        {"id": "b", "lang": "en", "title": "T", "context": "x  Paris y", "question": "q2",
         "answers": {"text": ["Paris"], "answer_start": [3]}},
        {"id": "c", "lang": "en", "title": "T", "context": "x  Paris y", "question": "q3",
         "answers": {"text": [], "answer_start": []}},
    ]
    out = to_squad(rows)
    assert [len(p["qas"]) for p in out["data"][0]["paragraphs"]] == [1, 2]
    assert out["version"] == "1.1"


def test_to_squad_refuses_an_offset_that_misses_the_answer():
    row = {"id": "q7", "lang": "en", "title": "T", "context": "x Paris y", "question": "q",
           "answers": {"text": ["Paris"], "answer_start": [3]}}
    with pytest.raises(DataError, match=r"example q7: answer_start 3 does not point at the answer 'Paris'"):
        to_squad([row])


@pytest.mark.needs_data
def test_lang_is_explicit_or_a_tydi_prefix_never_a_file_name(data_dir, tmp_path):
    sw = json.loads(tydi_path(data_dir, "sw", "dev").read_text(encoding="utf-8"))
    (tmp_path / "english_dev.json").write_text(json.dumps(sw), encoding="utf-8")
    assert set(read_squad(tmp_path / "english_dev.json")["lang"]) == {"sw"}  # the id prefix, not the name
    # ids without a TyDi prefix: the language is the one given, else "und" (a file name says nothing:
    # `xquad-id-en.json` is English, not Indonesian)
    for art in sw["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                qa["id"] = qa["id"].replace("swahili-", "q-")
    for name in ("xquad.sw.json", "xquad-id-en.json", "mine.json"):
        (tmp_path / name).write_text(json.dumps(sw), encoding="utf-8")
        assert set(read_squad(tmp_path / name)["lang"]) == {"und"}
    ds = read_squad(tmp_path / "mine.json", lang="fi")
    assert set(ds["lang"]) == set(ds["question_lang"]) == {"fi"}


@pytest.mark.needs_data
def test_explicit_lang_contradicting_tydi_prefix_is_an_error(data_dir):
    path = tydi_path(data_dir, "sw", "dev")
    with pytest.raises(DataError, match=r"example swahili-\S+: TyDi id prefix 'swahili' says sw, "
                                        r"but the language given is ar"):
        read_squad(path, lang="ar")


# --- bad input: one line naming the file and the example ---------------------------------------

@pytest.fixture()
def sw_obj(data_dir) -> dict:
    return json.loads(tydi_path(data_dir, "sw", "dev").read_text(encoding="utf-8"))


def _write(tmp_path: Path, obj) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def _error(path: Path, **kw) -> str:
    with pytest.raises(DataError) as info:
        read_squad(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def test_missing_file(tmp_path):
    assert _error(tmp_path / "nope.json").endswith("nope.json: file not found")


def test_malformed_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [ {"title": "x",\n "paragraphs": [} ]}', encoding="utf-8")
    assert "malformed JSON at line 2" in _error(path)


def test_not_squad_format(tmp_path):
    assert "no top-level 'data' list" in _error(_write(tmp_path, [1, 2]))


@pytest.mark.needs_data
def test_missing_key_names_the_example(sw_obj, tmp_path):
    qa = sw_obj["data"][5]["paragraphs"][0]["qas"][0]
    del qa["question"]
    msg = _error(_write(tmp_path, sw_obj))
    assert msg.endswith(f"example {qa['id']}: missing key 'question'")


@pytest.mark.needs_data
def test_missing_id_names_the_position(sw_obj, tmp_path):
    del sw_obj["data"][3]["paragraphs"][0]["qas"][0]["id"]
    assert _error(_write(tmp_path, sw_obj)).endswith("data[3].paragraphs[0].qas[0]: missing key 'id'")


@pytest.mark.needs_data
def test_missing_context_names_the_paragraph(sw_obj, tmp_path):
    del sw_obj["data"][2]["paragraphs"][0]["context"]
    assert _error(_write(tmp_path, sw_obj)).endswith("data[2].paragraphs[0]: missing key 'context'")


@pytest.mark.needs_data
def test_wrong_type_answer_start(sw_obj, tmp_path):
    qa = sw_obj["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"][0]["answer_start"] = "365"
    assert _error(_write(tmp_path, sw_obj)).endswith(f"example {qa['id']}: 'answer_start' must be int, got str")


@pytest.mark.needs_data
def test_bad_answer_start(sw_obj, tmp_path):
    qa = sw_obj["data"][0]["paragraphs"][0]["qas"][0]  # "1999" at 365
    qa["answers"][0]["answer_start"] = 366
    msg = _error(_write(tmp_path, sw_obj))
    assert f"example {qa['id']}: answer_start 366 does not point at the answer '1999'" in msg


@pytest.mark.needs_data
def test_duplicate_id(sw_obj, tmp_path):
    first = sw_obj["data"][0]["paragraphs"][0]["qas"][0]["id"]
    sw_obj["data"].append(copy.deepcopy(sw_obj["data"][0]))
    assert _error(_write(tmp_path, sw_obj)).endswith(f"example {first}: duplicate id")


def test_zip_without_a_json_member(tmp_path):
    path = tmp_path / "dev.json.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    assert "expected exactly one .json file inside the zip, found 0" in _error(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes('{"data": [{"title": "caf\u00e9"}]}'.encode("latin-1"))
    assert "not UTF-8" in _error(path)
