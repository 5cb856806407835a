"""Robustness beyond accuracy on real runs: flip rate on jointly-correct questions, worst case over attacks,
effective robustness (`xadv.leaderboard.metrics`), in the leaderboard and the regress gate.

Three `SpanOracle` "models" answer real TyDi sw dev questions (12) and are attacked by keyboard and
char-noise (question, strength 0.5, seed 0) through the real `run_attacks`:

- "model-a" knows every clean question, and the attacked versions of questions 5-12 only;
- "model-b" knows clean questions 1-4 and their attacked versions;
- "model-c" knows clean questions 1-8 and the keyboard-attacked versions of questions 1-2.

So A has the higher clean and robust F1, but on the questions all three answer right (among 1-4) every
attack that changes the question flips A, never B: ranked by robust F1, A leads; by flip rate on
jointly-correct questions, B does. Every expected number is counted from this construction (or from the
records' per-example outcomes with plain Python), not from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from attacks import get_attack
from attacks.run import iter_perturbed
from attacks.spec import AttackSpec
from cli import app
from xadv.data import load_qa
from xadv.leaderboard import build_leaderboard, render
from xadv.leaderboard.metrics import fit_line, joint_flips
from xadv.leaderboard.regress import current_cells, gate
from xadv.models.tokenizer import load_me5_tokenizer
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.runs import ResultsStore
from xadv.runs.attack import CellSettings, run_attacks
from xadv.testing import SpanOracle, StubModel

pytestmark = pytest.mark.needs_data
runner = CliRunner()
N, STRENGTH, ATTACKS = 12, 0.5, ("keyboard", "char-noise")


@pytest.fixture(scope="module")
def world(data_dir, tmp_path_factory):
    rows = list(load_qa("tydiqa:sw:dev", data_dir))[:N]
    ids = [r["id"] for r in rows]
    tok = load_me5_tokenizer()
    adv = {a: {p.example["id"]: p.example["question"]
               for p in iter_perturbed(rows, get_attack(a), "question", STRENGTH, 0)} for a in ATTACKS}

    def run(root: Path, name: str, fp: str, clean: list[str], robust: dict[str, list[str]]) -> None:
        targets = {}
        for r in rows:
            s, t = r["answers"]["answer_start"][0], r["answers"]["text"][0]
            if r["id"] in clean:
                targets[(r["question"], r["context"])] = (s, s + len(t))
            for a, known in robust.items():
                if r["id"] in known:
                    targets[(adv[a][r["id"]], r["context"])] = (s, s + len(t))
        engine = QAEngine(SpanOracle(tok, targets), tok, fp, EngineConfig(num_threads=1))
        settings = CellSettings(attacks=AttackSpec.parse_list(",".join(ATTACKS)), strength=STRENGTH, seed=0,
                                n_resamples=200, data_name="tydiqa:sw:dev")
        run_attacks(StubModel(name, fp), rows, settings, engine=engine, store=ResultsStore(root))

    tmp = tmp_path_factory.mktemp("lbm")
    plan = {"model-a": (ids, {a: ids[4:] for a in ATTACKS}),
            "model-b": (ids[:4], {a: ids[:4] for a in ATTACKS}),
            "model-c": (ids[:8], {"keyboard": ids[:2]})}
    for k, (name, (clean, robust)) in enumerate(plan.items()):
        run(tmp / "three", name, f"{k}{name}".ljust(64, "0"), clean, robust)
        if name != "model-c":
            run(tmp / "two", name, f"{k}{name}".ljust(64, "0"), clean, robust)
    # the gate: B's behaviour accepted as the baseline, A's under the same name as the current run
    run(tmp / "base", "oracle", "b" * 64, *plan["model-b"])
    run(tmp / "cur", "oracle", "a" * 64, *plan["model-a"])
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((tmp / "three").glob("*.json"))]
    outcomes = {(r["model"]["name"], r["cell"]["attack"]): {e["id"]: e for e in r["examples"]} for r in records}
    qs = {r["id"]: r["question"] for r in rows}
    changed = {a: {i for i in ids if adv[a][i] != qs[i]} for a in ATTACKS}
    return {"tmp": tmp, "ids": ids, "plan": plan, "outcomes": outcomes, "changed": changed}


def _right(world, model: str, attack: str, i: str, adv: bool = False) -> bool:
    return world["outcomes"][(model, attack)][i]["adv_em" if adv else "clean_em"] == 1.0


def _clean_right(world, model: str) -> set[str]:
    """The questions a model answers exactly right: those it knows, less any whose gold answer its span
    does not reproduce under SQuAD normalisation (one of these 12)."""
    right = {i for i in world["ids"] if _right(world, model, "keyboard", i)}
    assert right <= set(world["plan"][model][0]) and len(right) >= len(world["plan"][model][0]) - 1
    return right


def test_robust_f1_and_flip_rate_rank_the_models_differently(world):
    ids, plan, changed = world["ids"], world["plan"], world["changed"]
    joint = set.intersection(*(_clean_right(world, m) for m in plan))  # right on clean input for all three
    assert joint <= set(ids[:4]) and len(joint) >= 3
    assert changed["keyboard"] & joint and changed["char-noise"] & joint  # the attacks touch the joint set

    board = build_leaderboard(world["tmp"] / "three", n_resamples=300)
    rows = {(r.model, r.attack): r for r in board.rows}
    for attack in ATTACKS:
        expected = {"model-a": len(changed[attack] & joint) / len(joint),  # A knows no attacked version of 1-4
                    "model-b": 0.0,
                    "model-c": len(changed[attack] & joint - set(plan["model-c"][1].get(attack, []))) / len(joint)}
        for model, rate in expected.items():
            j = rows[(model, attack)].joint
            assert j is not None and (j.models, j.questions, j.joint) == (3, N, len(joint))
            assert j.rate == pytest.approx(100 * rate)
            assert j.ci[0] <= j.rate <= j.ci[1]
            assert j.note == f"only {len(joint)} questions answered right by all 3 models"
        a, b = rows[("model-a", attack)], rows[("model-b", attack)]
        assert a.stats["clean_f1"] > b.stats["clean_f1"] and a.stats["robust_f1"] > b.stats["robust_f1"]
        assert a.joint.rate > b.joint.rate and a.stats["asr"] > 0  # noqa: SIM300
    by_robust = [m.model for m in board.models]
    assert by_robust.index("model-a") < by_robust.index("model-b")
    flip_board = build_leaderboard(world["tmp"] / "three", n_resamples=0, sort="flip-rate")
    by_flip = [m.model for m in flip_board.models]
    assert flip_board.rank_by == "flip_rate" and by_flip[0] == "model-b"
    assert by_flip.index("model-b") < by_flip.index("model-a")
    # rows sorted by flip rate, lowest first; the same sort on the command line, in every format
    rates = [r.joint.rate for r in flip_board.rows]
    assert rates == sorted(rates)
    md = render(flip_board, "md")
    assert "ranked by flip rate on jointly-correct questions (lower first)" in md
    assert "## Worst case over attacks" in md and "## Effective robustness fits" in md
    result = runner.invoke(app, ["leaderboard", "--results", str(world["tmp"] / "three"), "--sort", "flip_rate",
                                 "--format", "json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [m["model"] for m in data["models"]] == by_flip and data["rank_by"] == "flip_rate"
    row = next(r for r in data["rows"] if r["model"] == "model-a" and r["attack"] == "keyboard")
    assert row["flip_rate"] == pytest.approx(rows[("model-a", "keyboard")].joint.rate)
    csv_text = render(flip_board, "csv")
    assert "flip_rate" in csv_text.splitlines()[0] and "worst_case_f1" in csv_text.splitlines()[0]
    html = render(flip_board, "html")
    assert 'id="worst-table"' in html and "flip % on jointly-correct questions" in html
    terminal = runner.invoke(app, ["leaderboard", "--results", str(world["tmp"] / "three"), "--bootstrap", "0"])
    assert terminal.exit_code == 0 and "flip % joint" in terminal.output


def test_worst_case_over_attacks_matches_a_hand_count(world):
    ids, plan, changed = world["ids"], world["plan"], world["changed"]
    board = build_leaderboard(world["tmp"] / "three", n_resamples=200)
    worst = {w.model: w for w in board.worst_cases}
    assert set(worst) == {"model-a", "model-b", "model-c"}
    for model, (clean, robust) in plan.items():
        # right only if right on clean input and, under each attack, unchanged or known in its attacked form
        right = [i for i in ids if i in _clean_right(world, model)
                 and all(i not in changed[a] or i in robust.get(a, []) for a in ATTACKS)]
        # worst F1 from the records' per-example numbers: min over clean and both attacks
        worst_f1 = np.mean([min([world["outcomes"][(model, "keyboard")][i]["clean_f1"]]
                                + [world["outcomes"][(model, a)][i]["adv_f1"] for a in ATTACKS]) for i in ids])
        w = worst[model]
        assert w.attacks == tuple(sorted(ATTACKS)) and w.perturbations == 2 and w.n == N and not w.note
        assert w.accuracy == pytest.approx(100 * len(right) / N)
        assert w.f1 == pytest.approx(100 * worst_f1)
        assert w.ci_f1[0] <= w.f1 <= w.ci_f1[1]
    # model-a: robust on 5-12, and of 1-4 only the questions neither attack changed
    right_a = _clean_right(world, "model-a")
    assert worst["model-a"].accuracy == pytest.approx(
        100 * len((right_a & set(ids[4:])) | ((right_a & set(ids[:4])) - changed["keyboard"] - changed["char-noise"]))
        / N)
    # one attack, one seed: the worst case is robust F1 of that row
    single = build_leaderboard(world["tmp"] / "three", n_resamples=0, langs=["sw"])
    kb_only = [e for e in single.entries if e.attack == "keyboard"]
    from xadv.leaderboard.aggregate import build_rows, with_metrics
    rows, worst_kb, _ = with_metrics(build_rows(kb_only, n_resamples=0), kb_only, n_resamples=0)
    for r in rows:
        assert r.worst_case is not None and r.worst_case.f1 == pytest.approx(r.stats["robust_f1"])


def test_effective_robustness_fit_agrees_with_numpy_polyfit(world):
    board = build_leaderboard(world["tmp"] / "three", n_resamples=0)
    for attack in ATTACKS:
        cell = sorted((r for r in board.rows if r.attack == attack), key=lambda r: r.model)
        x = np.array([r.stats["clean_f1"] for r in cell])
        y = np.array([r.stats["adv_f1"] for r in cell])
        slope, intercept = np.polyfit(x, y, 1)
        for r in cell:
            assert r.fit is not None and r.fit.models == 3
            assert r.fit.slope == pytest.approx(slope) and r.fit.intercept == pytest.approx(intercept)
            assert r.fit.r == pytest.approx(np.corrcoef(x, y)[0, 1])
            assert r.effective == pytest.approx(r.stats["adv_f1"] - (slope * r.stats["clean_f1"] + intercept))
        assert sum(r.effective for r in cell) == pytest.approx(0.0, abs=1e-9)  # OLS residuals sum to 0
    models = {m.model: m for m in board.models}
    xm = [models[k].clean_f1 for k in sorted(models)]
    ym = [models[k].adv_f1 for k in sorted(models)]
    s, i = np.polyfit(xm, ym, 1)
    assert board.overall_fit.slope == pytest.approx(s) and board.overall_fit.intercept == pytest.approx(i)
    # two models: no fit, no invented numbers
    two = build_leaderboard(world["tmp"] / "two", n_resamples=0, sort="effective")
    assert all(r.fit is not None and not r.fit.available and r.effective is None for r in two.rows)
    assert all(m.effective is None and m.rank is None for m in two.models)
    assert "fit not available (2 models, a fit needs at least 3)" in render(two, "md")
    assert fit_line([1.0, 2.0], [3.0, 4.0]).note == "2 models, a fit needs at least 3"
    assert fit_line([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]).slope is None  # no spread in clean F1


def test_joint_flips_needs_shared_ids_and_says_when_the_set_is_empty():
    cols = np.zeros((3, 7))
    cols[:, 5] = [1, 1, 0]
    cols[:, 6] = [1, 0, 0]
    other = np.zeros((2, 7))
    other[:, 5] = [1, 1]
    flips = joint_flips([("q1", "q2", "q3"), ("q2", "q1")], [cols, other], n_resamples=0)
    assert [(f.questions, f.joint, f.rate) for f in flips] == [(2, 2, 50.0), (2, 2, 0.0)]
    none = joint_flips([("q1",), ("q9",)], [cols[:1], other[:1]], n_resamples=100)
    assert none[0].rate is None and none[0].note == "the 2 models share no question ids"
    wrong = other.copy()
    wrong[:, 5] = 0
    empty = joint_flips([("q1", "q2"), ("q2", "q1")], [cols[:2], wrong], n_resamples=100)
    assert empty[0].rate is None and "no question is answered right" in empty[0].note


def test_regress_shows_the_paired_flip_rate_and_gates_on_it_only_when_asked(world):
    tmp, changed = world["tmp"], world["changed"]
    baseline = tmp / "baseline.json"
    assert runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(tmp / "base"),
                               "--update-baseline"]).exit_code == 0
    lenient = ["--max-asr-increase", "0.99", "--max-f1-drop", "99"]
    result = runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(tmp / "cur"), *lenient,
                                 "--json"])
    assert result.exit_code == 0, result.output  # shown, not gated
    [check] = json.loads(result.output)["checks"]
    joint = _clean_right(world, "model-a") & _clean_right(world, "model-b")  # same oracles as current / baseline
    flips = sum(len(changed[a] & joint) for a in ATTACKS)
    assert check["joint"] == 2 * len(joint)  # both attack cells pooled
    assert check["base_flip"] == pytest.approx(0.0)
    assert check["cur_flip"] == pytest.approx(100 * flips / (2 * len(joint)))
    lo, hi = check["flip_ci"]
    assert lo <= check["flip_change"] <= hi and check["flip_p"] is not None
    # the same verdict as before the flip rate existed: gate() without the option ignores it
    cells_b, cells_c = current_cells(tmp / "base"), current_cells(tmp / "cur")
    assert gate(cells_b, cells_c).passed is False  # the ASR rise alone fails the default tolerances
    assert gate(cells_b, cells_c, max_asr_increase=0.99, max_f1_drop=99).passed is True
    result = runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(tmp / "cur"), *lenient,
                                 "--max-flip-increase", "0.02"])
    assert result.exit_code == 1 and "flip rate (jointly correct)" in result.output
    text = runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(tmp / "base")]).output
    assert "flip % joint" in text
    bad = runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(tmp / "cur"),
                              "--max-flip-increase", "1.5"])
    assert bad.exit_code == 2 and "--max-flip-increase" in bad.output
