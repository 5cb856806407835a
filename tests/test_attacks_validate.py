"""Attack validity measured: `xadv attacks validate`, the me5 similarity, and `--min-similarity`."""

from __future__ import annotations

import json
import unicodedata

import pytest
from typer.testing import CliRunner

from attacks import get_attack
from attacks.base import EditRecord, PerturbedExample
from attacks.spec import AttackSpec
from attacks.validity import field_validity, foreign_letters
from cli import app
from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.models.similarity import ENCODER_ID, SentenceEncoder, check_threshold
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.runs import ResultsStore
from xadv.runs.attack import MAX_REDRAWS, CellSettings, run_attacks
from xadv.runs.changed import changed_stats
from xadv.runs.record import AttackRecord
from xadv.runs.validate import validate_attacks
from xadv.runs.verify import check_record
from xadv.testing import SpanOracle, StubModel
from xadv.types import Target

runner = CliRunner()


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder.load()


def _rows(data_dir, lang, n):
    return [dict(r) for r in list(load_qa(f"tydiqa:{lang}:dev", data_dir))[:n]]


# --- model-free measures -----------------------------------------------------------------------------------

def test_foreign_letters_counts_only_scripts_new_to_the_text():
    assert foreign_letters("Paris is big", "Pаris is big", "en") == 1  # Cyrillic а
    assert foreign_letters("Москва и Paris", "Москва и Pаris", "ru") == 0  # Cyrillic is the language's script
    assert foreign_letters("నగరం ఏది", "city ఏది", "te") == 4  # codemix's Latin in Telugu
    assert foreign_letters("Seoul 서울", "Seoul 서울", "ko") == 0


def test_field_validity_sees_an_inserted_sentence_that_spells_out_the_gold_answer():
    row = {"id": "x", "lang": "en", "title": "", "question": "When was it built?",
           "context": "It is old. It was built in 1889. It is tall.",
           "answers": {"text": ["1889"], "answer_start": [27]}}
    bad = PerturbedExample(dict(row, context="It is old. It was built in 1889. In 1889 it was built. It is tall."),
                           "distractor", "context", 0.3, 0.3, "sentences",
                           [EditRecord("context", 33, 33, "", "In 1889 it was built. ", "distractor", "distractor")])
    v = field_validity(row, bad, "context")
    assert (v.inserted_sentences, v.inserted_with_gold, v.answer_sentence_touched) == (1, 1, False)
    inside = PerturbedExample(dict(row, context="It is old. It was built nearly in 1889. It is tall."),
                              "x", "context", 0.3, 0.3, "words",
                              [EditRecord("context", 18, 18, "", "nearly ", "insert", "x")])
    assert field_validity(row, inside, "context").answer_sentence_touched is True


# --- the similarity encoder ----------------------------------------------------------------------------------

def test_similarity_orders_paraphrase_typo_and_another_question(encoder):
    import torch

    assert torch.is_grad_enabled()  # loading the encoder never switches gradients off for the process
    q = "When was the Eiffel Tower built?"
    same, typo, other = encoder.similarities([q, q, q], [q, "When was the Eifel Tower built?",
                                                          "How many people live in Nairobi?"])
    assert same == 1.0 and 0.85 < typo < 1.0 and other < typo - 0.1


def test_thresholds_are_checked():
    assert check_threshold(None) is None and check_threshold(0.9) == 0.9
    for bad in (0, -0.1, 1.5, "0.9", True, float("nan")):
        with pytest.raises(XadvError, match="min-similarity"):
            check_threshold(bad)


# --- validate on real data ------------------------------------------------------------------------------------

@pytest.mark.needs_data
def test_validate_on_real_questions(data_dir, encoder):
    rows = _rows(data_dir, "ru", 40) + _rows(data_dir, "en", 40)
    specs = AttackSpec.parse_list("diacritics,keyboard,homoglyph,distractor,distractor-conflict")
    cells = validate_attacks(rows, specs, "all",
                             strength=0.2, seed=0, encoder=encoder, encoder_id=ENCODER_ID)
    by = {(c.attack, c.lang, c.target): c for c in cells}
    # diacritics can only change the Russian questions that carry a stress mark or ё
    marked = sum("\u0301" in unicodedata.normalize("NFD", r["question"]) or "ё" in r["question"].lower()
                 for r in rows[:40]) / 40
    assert 0 < by[("diacritics", "ru", "question")].changed <= marked < 0.9
    kb = by[("keyboard", "en", "question")]
    assert kb.changed > 0.8 and kb.similarity.n > 30 and 0.8 < kb.similarity.mean < 1.0
    assert kb.foreign_script == 0.0 and kb.malformed == 0 and kb.langid_reliable
    assert by[("homoglyph", "en", "question")].foreign_script > 0.9  # Cyrillic look-alikes in English
    d = by[("distractor", "en", "context")]
    # AddSent leaves an example alone when its question offers nothing to mutate
    assert d.changed > 0.6 and d.inserted >= d.changed * 40
    assert d.inserted_with_gold == 0 and d.answer_sentence_touched == 0.0
    # AddSent swaps a slot before stating the question; the conflict probe restates it (a rival answer)
    assert d.inserted_restating == 0
    conflict = by[("distractor-conflict", "en", "context")]
    assert conflict.inserted_restating >= 0.8 * conflict.inserted > 0
    assert d.similarity is None  # the question is not edited
    assert ("distractor", "en", "question") not in by  # a context-only attack has no question cell


@pytest.mark.needs_data
def test_validate_cli_json_and_out_file(data_dir, tmp_path):
    out = tmp_path / "validity.json"
    res = runner.invoke(app, ["attacks", "validate", "--data", "tydiqa:ru:dev", "--n", "15", "--attack",
                              "diacritics,keyboard", "--target", "question", "--no-similarity", "--json",
                              "--out", str(out), "--data-dir", str(data_dir)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc == json.loads(out.read_text(encoding="utf-8"))
    assert doc["command"].startswith("xadv attacks validate --data tydiqa:ru:dev --attack diacritics,keyboard")
    assert [(c["attack"], c["n"]) for c in doc["cells"]] == [("diacritics", 15), ("keyboard", 15)]
    assert all(c["similarity"] is None for c in doc["cells"])
    for args, msg in ((["--target", "title"], "unknown target"), (["--attack", "nope"], "unknown attack")):
        bad = runner.invoke(app, ["attacks", "validate", "--data", "tydiqa:ru:dev", "--n", "3", "--no-similarity",
                                  "--data-dir", str(data_dir), *args])
        assert bad.exit_code == 2 and msg in bad.output and "Traceback" not in bad.output


# --- --min-similarity in a cell --------------------------------------------------------------------------------

@pytest.mark.needs_data
def test_min_similarity_redraws_then_reverts_and_is_part_of_the_cell(data_dir, tok, tmp_path, encoder):
    rows = _rows(data_dir, "sw", 30)
    targets = {(r["question"], r["context"]): (r["answers"]["answer_start"][0],
                                               r["answers"]["answer_start"][0] + len(r["answers"]["text"][0]))
               for r in rows}
    engine = QAEngine(SpanOracle(tok, targets), tok, "oracle-sw", EngineConfig(num_threads=1))
    loaded = StubModel("oracle", "oracle-sw")
    store = ResultsStore(tmp_path)

    def cell(min_sim):
        s = CellSettings(attacks=AttackSpec.parse_list("keyboard"), targets=(Target.parse("question"),),
                         strength=0.5, seed=1, n_resamples=100, min_similarity=min_sim)
        [out] = run_attacks(loaded, rows, s, engine=engine, store=store)
        return out.record

    free, strict = cell(None), cell(0.95)
    assert strict.cell.params == {"min_similarity": 0.95, "similarity_encoder": ENCODER_ID}
    assert free.cell.params == {} and strict.cell.key != free.cell.key
    sims = [e.similarity for e in strict.examples if e.similarity is not None]
    reverted = [e for e in strict.examples if e.reverted]
    assert sims and min(sims) >= 0.95
    assert reverted and all(e.adv_question is None and e.n_edits == 0 for e in reverted)
    # re-drawn examples differ from the first draw: more questions kept than the first draw alone allows
    first = encoder.similarities([e.question for e in free.examples if e.question],
                                 [e.adv_question for e in free.examples if e.adv_question])
    assert sum(s >= 0.95 for s in first) < len(sims)
    stats = changed_stats(strict)
    assert stats.reverted == len(reverted) and stats.similarity_mean >= 0.95
    again = AttackRecord.from_dict(json.loads(json.dumps(strict.to_dict())))
    assert again.to_dict() == strict.to_dict() and check_record(strict.to_dict(), key=None) == []
    assert "similarity" not in free.to_dict()["examples"][0]  # absent measures keep old records' bytes
    assert MAX_REDRAWS >= 1


def test_min_similarity_is_refused_with_a_search_and_outside_0_1():
    from attacks.search import SearchSpec

    with pytest.raises(XadvError, match="similarity floor is a search setting"):
        CellSettings(attacks=AttackSpec.parse_list("keyboard"), search=SearchSpec(), min_similarity=0.9)
    with pytest.raises(XadvError, match="min similarity"):
        SearchSpec(min_similarity=0.0)
    with pytest.raises(XadvError, match="min-similarity"):
        CellSettings(attacks=AttackSpec.parse_list("keyboard"), min_similarity=2.0)


def test_unknown_attack_in_validate_is_one_line():
    with pytest.raises(XadvError):
        get_attack("nope")


# --- the human audit sheet -----------------------------------------------------------------------------------

@pytest.mark.needs_data
def test_audit_sheet_is_seeded_stratified_and_scores_a_filled_sheet(data_dir, tmp_path):
    from attacks.audit import audit_sheet, read_sheet, score_sheet, write_sheet

    rows = _rows(data_dir, "en", 120)
    pairs = [(get_attack("keyboard"), "question"), (get_attack("word-swap"), "question")]
    items, unchanged = audit_sheet(rows, pairs, n=12, seed=4)
    assert [it.attack for it in items].count("keyboard") == 12 and len(items) == 24
    assert items == audit_sheet(list(reversed(rows)), pairs, n=12, seed=4)[0]  # order-free
    assert all(it.before != it.after for it in items) and "keyboard" not in unchanged or unchanged["keyboard"] >= 0
    rates = sorted(abs(len(it.after) - len(it.before)) + sum(a != b for a, b in zip(it.before, it.after))
                   for it in items if it.attack == "keyboard")
    assert rates[0] < rates[-1]  # light and heavy edits both drawn
    path = write_sheet(items, tmp_path / "sheet.csv")
    back = read_sheet(path)
    assert back == items
    filled = path.read_text(encoding="utf-8").splitlines()
    head, body = filled[0], filled[1:]
    # judge: keyboard pairs valid except the first two; word-swap pairs all lose fluency only
    marks = [("n,y,n" if i < 2 else "y,y,y") if "keyboard" in line else "y,y,n" for i, line in enumerate(body)]
    filled = [head] + [line.replace(",,,,", f",{m},the xadv team,", 1) if line.endswith(",,,,,") else line
                       for line, m in zip(body, marks)]
    (tmp_path / "filled.csv").write_text("\n".join(filled) + "\n", encoding="utf-8")
    scores = {s.attack: s for s in score_sheet(read_sheet(tmp_path / "filled.csv"))}
    kb = scores["keyboard"]
    assert (kb.judged, kb.valid, kb.valid_share, kb.annotators) == (12, 10, round(10 / 12, 4), ("the xadv team",))
    assert kb.ci[0] < 10 / 12 < kb.ci[1] and scores["word-swap"].fluent == 0.0
    res = runner.invoke(app, ["attacks", "audit", "--score", str(tmp_path / "filled.csv"), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["scores"][0]["attack"] == "keyboard"


def test_audit_sheet_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    for args, msg in ((["--score", str(bad)], "not an xadv audit sheet"),
                      (["--score", str(tmp_path / "none.csv")], "no such audit sheet"),
                      (["--lang", "en", "--out", str(tmp_path / "x.txt")], "must end in .csv")):
        res = runner.invoke(app, ["attacks", "audit", *args])
        assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output
    from attacks.audit import judgement

    assert judgement("Y", "x") is True and judgement(" no ", "x") is False and judgement("", "x") is None
    with pytest.raises(XadvError, match="not a judgement"):
        judgement("maybe", "sheet row 3 fluent")


@pytest.mark.needs_data
def test_the_committed_validity_table_recomputes(data_dir):
    """benchmarks/results/validity/: the markdown renders from the JSON, and model-free figures of sample cells
    recompute exactly from the recorded command's settings (the similarity needs the encoder: not re-run here)."""
    from pathlib import Path

    from xadv.runs.validate import validity_markdown

    root = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "validity"
    for name in ("tydi-dev-n100", "xquad-test-n100"):
        other = json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
        assert (root / f"{name}.md").read_text(encoding="utf-8") == validity_markdown(other)
        assert sum(c["malformed"] for c in other["cells"]) == 0
        assert all(c["inserted_with_gold"] == 0 == c["inserted_restating"] for c in other["cells"]
                   if c["attack"] == "distractor")
    doc = json.loads((root / "tydi-dev-n100.json").read_text(encoding="utf-8"))
    assert {c["lang"] for c in doc["cells"]} == {"ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te"}
    assert {c["attack"] for c in doc["cells"]} == {a.name for a in __import__("attacks").list_attacks()}
    committed = {(c["attack"], c["lang"], c["target"]): c for c in doc["cells"]}
    for attack, lang, target in (("keyboard", "sw", "question"), ("distractor", "te", "context")):
        rows = _rows(data_dir, lang, doc["n_per_language"])
        [cell] = validate_attacks(rows, AttackSpec.parse_list(attack), target, strength=doc["strength"],
                                  seed=doc["seed"], params={"data_dir": str(data_dir)})
        mine = {k: v for k, v in cell.to_dict().items() if k != "similarity"}
        assert mine == {k: v for k, v in committed[(attack, lang, target)].items() if k != "similarity"}


def test_the_leaderboard_shows_human_validity_from_audit_scores(tmp_path):
    """`xadv leaderboard --audit FILE` reads the committed English audit scores (shares recomputed from the
    counts, never trusted) and shows them beside a committed run file's board; a malformed file is one line."""
    from pathlib import Path

    from attacks.audit import read_scores

    repo = Path(__file__).resolve().parents[1]
    scores_path = repo / "benchmarks" / "results" / "audit" / "en-audit.scores.json"
    scores = {s.attack: s for s in read_scores(scores_path)}
    assert len(scores) == 13 and scores["keyboard"].judged == 50
    forged = json.loads(scores_path.read_text(encoding="utf-8"))
    forged["scores"][0]["valid_share"] = 1.0  # a claim the counts do not support
    (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
    first = forged["scores"][0]
    assert read_scores(tmp_path / "forged.json")[0].valid_share == round(first["valid"] / first["judged"], 4)
    run = repo / "benchmarks" / "results" / "bench_search_cli_greedy_em-flip_b10_w1_n200.json"
    res = runner.invoke(app, ["leaderboard", "--results", str(run), "--audit", str(scores_path), "--format", "md",
                              "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    assert "## Human validity of the attacks" in res.output and "| distractor | en | context | 50/50 |" in res.output
    (tmp_path / "bad.json").write_text('{"scores": [{"attack": "x"}]}', encoding="utf-8")
    bad = runner.invoke(app, ["leaderboard", "--results", str(run), "--audit", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "malformed" in bad.output and "Traceback" not in bad.output
