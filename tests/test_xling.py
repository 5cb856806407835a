"""Issue #18 items 4 and 5: attack parameters in the attack grammar (`codemix:partner=sw`), and
cross-lingual pairs (MLQA `en-de`: each field attacked in its own language, both languages in records)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attacks import get_attack
from attacks.codemix import load_lexicon
from attacks.keyboard import key_candidates
from attacks.layouts import layout_for
from attacks.spec import AttackSpec
from cli import app
from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.runs.record import CellKey, ModelInfo, pair_label, stable_hash
from xadv.types import Target

runner = CliRunner()
pytestmark = pytest.mark.needs_data


# --------------------------------------------------------------------------- item 4: the grammar


@pytest.mark.parametrize("text, name, target, params", [
    ("codemix:partner=sw", "codemix", None, (("partner", "sw"),)),
    ("codemix:partner=de:question", "codemix", Target.QUESTION, (("partner", "de"),)),
    ("codemix:question:partner=de", "codemix", Target.QUESTION, (("partner", "de"),)),
    ("typo:insert_prob=0.5", "keyboard", None, (("insert_prob", 0.5),)),
    ("keyboard+codemix:partner=sw:context", "keyboard+codemix", Target.CONTEXT, (("partner", "sw"),)),
    ("homoglyph:edits_answers=true", "homoglyph", None, (("edits_answers", True),)),
    ("keyboard:question", "keyboard", Target.QUESTION, ()),
])
def test_attack_items_take_parameters(text, name, target, params):
    spec = AttackSpec.parse(text)
    assert (spec.name, spec.target, spec.params) == (name, target, params)
    assert AttackSpec.parse(str(spec)) == spec  # the canonical spelling parses back to the same spec


@pytest.mark.parametrize("text, message", [
    ("codemix:partner=xx", "partner 'xx' is not one of"),
    ("codemix:colour=red", "no parameter 'colour' (parameters: partner)"),
    ("keyboard:insert_prob=lots", "insert_prob='lots' must be a number"),
    ("keyboard:insert_prob=2", "insert_prob must be a number in [0, 1]"),
    ("codemix:partner=", "is empty"),
    ("codemix:=sw", "no parameter name"),
    ("codemix:partner=sw:partner=de", "given twice"),
    ("keyboard:question:context", "two targets"),
    ("codemix:data_dir=/tmp", "is a path"),
    ("char-noise:ops=swap", "cannot be set in an attack name"),
    ("word-swap:partner=sw", "no parameter 'partner'"),
])
def test_bad_parameters_fail_when_parsed_in_one_line(text, message):
    with pytest.raises(XadvError, match=None) as exc:
        AttackSpec.parse(text)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_parameters_are_part_of_the_cell_and_plain_specs_hash_as_before():
    sw, de = AttackSpec.parse("codemix:partner=sw"), AttackSpec.parse("codemix:partner=de")
    given = {"data_dir": "/somewhere"}
    assert sw.cell_params(given) == {"partner": "sw", "attack_version": "codemix/2"}
    assert sw.cell_params(given) != de.cell_params(given)
    assert len(AttackSpec.parse_list("codemix:partner=sw,codemix:partner=de,codemix:partner=sw")) == 2
    # parameterless specs: exactly the params (and so the keys) they had before parameters existed
    assert AttackSpec.parse("keyboard").cell_params(given) == {}
    assert AttackSpec.parse("codemix").cell_params(given) == {"attack_version": "codemix/2"}
    assert AttackSpec.parse("typo:question").params == ()


def test_english_codemix_refusal_names_the_cli_form():
    why = get_attack("codemix").refusal("en")
    assert why and "--attack codemix:partner=sw" in why


def test_attack_cli_rejects_a_bad_parameter_before_loading(tmp_path):
    result = runner.invoke(app, ["attack", "--model", str(tmp_path / "no-model"), "--lang", "en",
                                 "--attack", "codemix:partner=xx", "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "codemix partner 'xx'" in result.output


def test_suite_files_take_parameterised_attacks(tmp_path):
    from xadv.runs.suite import EvalSuite

    path = tmp_path / "suite.toml"
    path.write_text('attacks = ["codemix:partner=sw", "codemix:partner=de:question"]\nlangs = ["en"]\n')
    suite = EvalSuite.build(EvalSuite.from_toml(path))
    assert [str(a) for a in suite.attacks] == ["codemix:partner=sw", "codemix:partner=de:question"]


def test_perturb_cli_code_mixes_english_questions_with_swahili(data_dir, tmp_path):
    out = tmp_path / "en-sw.json"
    result = runner.invoke(app, ["perturb", "--data", "tydiqa:en:dev", "--attack", "codemix:partner=sw",
                                 "--target", "question", "--strength", "0.5", "--n", "6",
                                 "--data-dir", str(data_dir), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    swahili = {v.casefold() for v in load_lexicon(str(data_dir / "dictionaries"), "sw", False).values()}
    log = [json.loads(line) for line in out.with_suffix(".edits.jsonl").read_text().splitlines()] \
        if out.with_suffix(".edits.jsonl").exists() else None
    written = json.loads(out.read_text(encoding="utf-8"))
    questions = [qa["question"] for art in written["data"] for p in art["paragraphs"] for qa in p["qas"]]
    originals = [r["question"] for r in load_qa("tydiqa:en:dev", data_dir)][:6]
    changed = [(a, b) for a, b in zip(originals, questions) if a != b]
    assert len(changed) >= 3, (log, changed)
    new_words = {w.strip("?,.").casefold() for a, b in changed for w in b.split()} - \
        {w.strip("?,.").casefold() for a, _ in changed for w in a.split()}
    assert new_words and new_words <= {w for v in swahili for w in v.split()} | {v for v in swahili}


def test_search_families_take_the_items_parameters():
    from attacks.search.families import searchable_attacks

    [family] = searchable_attacks(AttackSpec.parse("codemix:partner=sw"), {"data_dir": "/d"})
    assert (family.partner, family.data_dir) == ("sw", "/d")


# --------------------------------------------------------------------------- item 5: cross-lingual pairs


def _mlqa_en_de(data_dir: Path, root: Path, n: int = 4) -> list[str]:
    """An MLQA_V1-layout `dev-context-en-question-de.json` from XQuAD rows of the same ids (XQuAD is
    content-matched across languages): English contexts and answers, German questions."""
    en = [dict(r) for r in load_qa("xquad:en:test", data_dir)]
    de = {r["id"]: r["question"] for r in load_qa("xquad:de:test", data_dir)}
    rows = [r for r in en if r["id"] in de][:n]
    paragraphs = [{"context": r["context"], "qas": [{"id": r["id"], "question": de[r["id"]], "answers": [
        {"text": t, "answer_start": s} for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]}]}
        for r in rows]
    folder = root / "MLQA_V1" / "dev"
    folder.mkdir(parents=True)
    (folder / "dev-context-en-question-de.json").write_text(
        json.dumps({"version": "1.0", "data": [{"title": "t", "paragraphs": paragraphs}]}, ensure_ascii=False),
        encoding="utf-8")
    return [de[r["id"]] for r in rows]


def test_question_edits_use_the_question_language_and_context_edits_the_context_language(data_dir, tmp_path):
    """A German question gets German QWERTZ typos (z next to t/u/g/h), the English context QWERTY ones."""
    german = _mlqa_en_de(data_dir, tmp_path, n=40)
    rows = [dict(r) for r in load_qa("mlqa:en-de:dev", tmp_path)]
    assert [r["question"] for r in rows] == german and {(r["lang"], r["question_lang"]) for r in rows} == {("en", "de")}
    qwertz, qwerty = layout_for("Latin", "de").name, layout_for("Latin", "en").name
    assert (qwertz, qwerty) == ("qwertz", "qwerty")
    seen = {"question": 0, "context": 0}
    kb = get_attack("keyboard")
    for r in rows:
        for e in kb.perturb(r, "both", 1.0, 0).edits:
            old, new = e.old.lower(), e.new.lower()
            if e.kind == "keyboard:substitute" and old in "zy":
                layout = qwertz if e.field == "question" else qwerty
                assert new in key_candidates(layout, old), (e, layout)
                seen[e.field] += 1
    assert seen["question"] and seen["context"]
    with pytest.raises(XadvError, match="en-de"):  # a sentence restating a German question in English text
        get_attack("distractor").perturb(rows[0], "context", 0.5, 0)


def test_zero_shot_covers_both_languages():
    class Loaded:
        name, fingerprint = "m", "f" * 64
        zero_shot = {"seen_qa_languages": ["en"]}

    assert ModelInfo.of(Loaded(), "en").zero_shot is False
    assert ModelInfo.of(Loaded(), "en", "de").zero_shot is True
    Loaded.zero_shot = {"seen_qa_languages": ["en", "de"]}
    assert ModelInfo.of(Loaded(), "en", "de").zero_shot is False


def test_same_language_cells_hash_as_before_question_lang_existed():
    key = CellKey("f" * 64, "sw", "keyboard", {}, "question", 0.2, 0, "0" * 64, "squad", "em")
    before = {k: v for k, v in asdict(key).items() if k != "question_lang"}  # the fields a cell had before
    assert key.key == stable_hash(before) and "question_lang" not in key.to_dict()
    pair = CellKey(**{**before, "question_lang": "de"})
    assert pair.key != key.key and pair.to_dict()["question_lang"] == "de"
    assert (pair_label("en", "de"), pair_label("en", "en"), pair_label("en", "")) == ("en-de", "en", "en")


def test_attack_cli_end_to_end_on_a_cross_lingual_pair(data_dir, tmp_path):
    from xadv.testing import tiny_checkpoint

    _mlqa_en_de(data_dir, tmp_path / "data", n=3)
    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=1)
    out, res = tmp_path / "run.json", tmp_path / "res"
    args = ["attack", "--model", str(ckpt), "--data", "mlqa:en-de:dev", "--attack",
            "keyboard:question,keyboard:context,distractor", "--n", "3", "--data-dir", str(tmp_path / "data"),
            "--results", str(res), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "en-de" in result.output and "distractor" in result.output  # refused for the pair, with its reason
    run = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["attack"]["name"], r["attack"]["target"]) for r in run["records"]] == [
        ("keyboard", "question"), ("keyboard", "context")]
    for r in run["records"]:
        assert (r["cell"]["lang"], r["cell"]["question_lang"]) == ("en", "de")
        assert (r["data"]["lang"], r["data"]["question_lang"], r["data"]["n"]) == ("en", "de", 3)
    from xadv.runs import read_record

    assert all(".en-de.keyboard." in p.name and read_record(p) for p in res.glob("*.json"))
    board = runner.invoke(app, ["leaderboard", "--results", str(res), "--bootstrap", "0", "--json"])
    assert board.exit_code == 0, board.output
    assert {row["lang"] for row in json.loads(board.output)["rows"]} == {"en-de"}
    for lang in ("de", "en", "en-de"):  # a language matches the pairs it is part of; a pair matches itself
        one = runner.invoke(app, ["leaderboard", "--results", str(res), "--bootstrap", "0", "--json", "--lang", lang])
        assert one.exit_code == 0, one.output
        assert {row["lang"] for row in json.loads(one.output)["rows"]} == {"en-de"}
    for lang in ("de-en", "fr"):
        none = runner.invoke(app, ["leaderboard", "--results", str(res), "--bootstrap", "0", "--lang", lang])
        assert none.exit_code == 2 and f"no results for language '{lang}'" in none.output
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 0
    assert [c["status"] for c in json.loads(again.output)["cells"] if c["status"] != "skipped"] == ["cached"] * 2
