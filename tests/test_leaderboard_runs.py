"""Leaderboard (tables, HTML in headless Chromium), regress gate and report on real runs: two constructed
models on real TyDi dev questions.

The models are `SpanOracle`s (they answer the clean questions they were given, and nothing else):
"oracle-a" also knows the keyboard-attacked version of the first half of each language's questions
(seeds 0 and 1), so it resists the attack there; "oracle-b" knows only clean questions. Every expected
number below is counted from that construction, not from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attacks import get_attack
from attacks.run import iter_perturbed
from attacks.spec import AttackSpec
from cli import app
from xadv.data import load_qa
from xadv.leaderboard import build_leaderboard
from xadv.leaderboard.regress import read_baseline
from xadv.models.tokenizer import load_me5_tokenizer
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.runs import ResultsStore
from xadv.runs.attack import CellSettings, run_attacks
from xadv.runs.record import record_digest
from xadv.testing import SpanOracle, StubModel

pytestmark = pytest.mark.needs_data

runner = CliRunner()
LANGS = ("sw", "fi", "id")
N = 6            # questions per language
STRENGTH = 0.5   # share of question words the keyboard attack touches




@pytest.fixture(scope="module")
def world(data_dir, tmp_path_factory):
    """Results directories of real `run_attacks` runs, plus what the construction says they contain."""
    rows = [r for lang in LANGS for r in list(load_qa(f"tydiqa:{lang}:dev", data_dir))[:N]]
    tok = load_me5_tokenizer()
    keyboard = get_attack("keyboard")
    adv_q = {s: {p.example["id"]: p.example["question"]
                 for p in iter_perturbed(rows, keyboard, "question", STRENGTH, s)} for s in (0, 1)}
    first_half = {r["id"] for lang in LANGS for r in [x for x in rows if x["lang"] == lang][:N // 2]}

    def engine(fp: str, robust_ids: set[str]) -> QAEngine:
        targets = {}
        for r in rows:
            s, t = r["answers"]["answer_start"][0], r["answers"]["text"][0]
            targets[(r["question"], r["context"])] = (s, s + len(t))
            if r["id"] in robust_ids:
                for seed in (0, 1):
                    targets[(adv_q[seed][r["id"]], r["context"])] = (s, s + len(t))
        return QAEngine(SpanOracle(tok, targets), tok, fp, EngineConfig(num_threads=1))

    def run(root, name, fp, robust_ids, seeds, card=None):
        loaded = StubModel(name, fp, zero_shot=card)
        eng = engine(fp, robust_ids)
        for seed in seeds:
            settings = CellSettings(attacks=AttackSpec.parse_list("keyboard,distractor-conflict"), strength=STRENGTH,
                                    seed=seed, n_resamples=200, data_name="tydiqa:<lang>:dev")
            run_attacks(loaded, rows, settings, engine=eng, store=ResultsStore(root))

    tmp = tmp_path_factory.mktemp("lb")
    card = {"seen_qa_languages": ["en", "sw"]}
    run(tmp / "board", "oracle-a", "fp-a" * 16, first_half, (0, 1), card)
    run(tmp / "board", "oracle-b", "fp-b" * 16, set(), (0,))
    # the gate's runs: one model name, changed weights (fingerprints) between runs
    run(tmp / "base", "oracle", "fp-base" * 9, first_half, (0,))
    run(tmp / "same", "oracle", "fp-same" * 9, first_half, (0,))
    run(tmp / "worse", "oracle", "fp-worse" * 9, set(), (0,))
    qs = {r["id"]: r["question"] for r in rows}
    one_less = first_half - {sorted(i for i in first_half if adv_q[0][i] != qs[i] and i.startswith("indonesian"))[0]}
    run(tmp / "slightly", "oracle", "fp-slight" * 7, one_less, (0,))
    clean_right = {}
    for p in (tmp / "board").glob("*keyboard*"):
        rec = json.loads(p.read_text(encoding="utf-8"))
        clean_right.update({e["id"]: e["clean_em"] == 1.0 for e in rec["examples"]})
    return {"tmp": tmp, "rows": rows, "adv_q": adv_q, "first_half": first_half, "one_less": one_less,
            "clean_right": clean_right}


def _expected_keyboard_asr(world, lang: str, robust_ids: set[str], seeds=(0,)) -> float:
    """Counted from the construction: right on clean, question changed by the attack, not known to the model."""
    ids = [r["id"] for r in world["rows"] if r["lang"] == lang]
    qs = {r["id"]: r["question"] for r in world["rows"]}
    right = [i for i in ids if world["clean_right"][i]]
    flips = sum(1 for s in seeds for i in right if world["adv_q"][s][i] != qs[i] and i not in robust_ids)
    return 100 * flips / (len(right) * len(seeds))


def _lb(*args) -> tuple[int, str]:
    result = runner.invoke(app, ["leaderboard", *map(str, args)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_leaderboard_tables_rank_models_and_recompute_every_number(world):
    board_dir = world["tmp"] / "board"
    assert len(list(board_dir.glob("*.json"))) == 3 * 2 * 3  # langs x attacks x (2 seeds of a + 1 of b)
    code, out = _lb("--results", board_dir, "--format", "json")
    assert code == 0, out
    board = json.loads(out)
    assert board["scorer_modes"] == ["squad"] and set(board["languages"]) == set(LANGS)
    rows = {(r["model"], r["lang"], r["attack"]): r for r in board["rows"]}
    assert len(rows) == 2 * 3 * 2
    for lang in LANGS:
        a, b = rows[("oracle-a", lang, "keyboard")], rows[("oracle-b", lang, "keyboard")]
        assert a["seeds"] == [0, 1] and b["seeds"] == [0]
        assert a["asr"] == pytest.approx(_expected_keyboard_asr(world, lang, world["first_half"], (0, 1)))
        assert b["asr"] == pytest.approx(_expected_keyboard_asr(world, lang, set()))
        assert a["asr"] < b["asr"]
        lo, hi = b["ci"]["asr"]
        assert lo <= b["asr"] <= hi
        # zero-shot marks come from the model card in the record: a saw sw QA data, b has no card
        assert a["zero_shot"] is (lang != "sw") and b["zero_shot"] is None
        # the distractor-conflict edits contexts the oracles never saw: every right answer is lost
        d = rows[("oracle-b", lang, "distractor-conflict")]
        assert d["target"] == "context" and d["asr"] == pytest.approx(100.0) and d["adv_em"] == pytest.approx(0.0)
    models = {m["model"]: m for m in board["models"]}
    assert models["oracle-a"]["rank"] == 1 and models["oracle-b"]["rank"] == 2
    assert models["oracle-a"]["common"] == 6 and models["oracle-a"]["zero_shot"] == {"sw": False, "fi": True,
                                                                                     "id": True}
    assert all(not r["flags"] for r in board["rows"])
    # one seed: the recomputed row is exactly the stored summary (same bootstrap settings)
    single = build_leaderboard(board_dir, n_resamples=200)
    rec = next(e for e in single.entries if e.model == "oracle-b" and e.lang == "fi" and e.attack == "keyboard")
    row = next(r for r in single.rows if r.model == "oracle-b" and r.lang == "fi" and r.attack == "keyboard")
    for k in ("clean_f1", "adv_f1", "robust_f1", "asr"):
        assert row.stats[k] == pytest.approx(rec.record["summary"][k], abs=1e-9)
    assert list(row.ci["asr"]) == pytest.approx(rec.record["summary"]["ci"]["asr"])

    code, out = _lb("--results", board_dir)  # rich tables on the terminal
    assert code == 0
    for text in ("oracle-a", "oracle-b", "zero-shot", "seen", "no card", "keyboard", "distractor-conflict", "squad",
                 "passed the checks"):
        assert text in out, text
    code, md = _lb("--results", board_dir, "--format", "md", "--lang", "sw", "--sort", "asr")
    assert code == 0
    results = md.split("## Results")[1].split("\n## ")[0]  # (the worst-case table lists models too)
    table = [ln for ln in results.splitlines() if ln.startswith("| oracle-")]
    assert len(table) == 4 and all("| sw |" in ln for ln in table)
    asrs = [float(ln.split("|")[13].split()[0]) for ln in table]
    assert asrs == sorted(asrs)
    code, text = _lb("--results", board_dir, "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert code == 0 and len(parsed) == 12 and {p["check"] for p in parsed} == {"ok"}
    code, out = _lb("--results", board_dir, "--lang", "ko")
    assert code == 2 and "no results for language 'ko'" in out


def _tampered(world, name: str) -> tuple:
    """A copy of the board with one oracle-a keyboard record, and that record's path."""
    root = world["tmp"] / name
    shutil.copytree(world["tmp"] / "board", root)
    path = next(p for p in sorted(root.glob("*.json"))
                if (r := json.loads(p.read_text(encoding="utf-8")))["model"]["name"] == "oracle-a"
                and r["cell"]["lang"] == "fi" and r["cell"]["attack"] == "keyboard" and r["seed"] == 0)
    return root, path


def _flags(board_dir) -> dict:
    code, out = _lb("--results", board_dir, "--format", "json")
    assert code == 0, out
    return {(e["model"], e["lang"], e["attack"], e["seed"]): {f["kind"] for f in e["flags"]}
            for e in json.loads(out)["entries"]}


def test_changed_per_example_outcome_flags_the_entry(world):
    root, path = _tampered(world, "tampered")
    rec = json.loads(path.read_text(encoding="utf-8"))
    ex = next(e for e in rec["examples"] if e["clean_em"] == 1.0 and e["adv_em"] == 0.0)
    ex["adv_em"], ex["adv_f1"] = 1.0, 1.0  # "the attack failed here", says the edited file
    path.write_text(json.dumps(rec), encoding="utf-8")
    flags = _flags(root)
    assert flags[("oracle-a", "fi", "keyboard", 0)] == {"edited", "summary"}
    assert all(not v for k, v in flags.items() if k != ("oracle-a", "fi", "keyboard", 0))
    code, out = _lb("--results", root, "--strict")
    assert code == 1 and "FLAGGED" in out and path.name in out
    assert _lb("--results", world["tmp"] / "board", "--strict")[0] == 0
    # re-sealed with a fresh digest, the edit still shows: the summary is recomputed, not trusted
    rec["digest"] = record_digest(rec)
    path.write_text(json.dumps(rec), encoding="utf-8")
    assert _flags(root)[("oracle-a", "fi", "keyboard", 0)] == {"summary"}
    # the leaderboard shows what the (edited) outcomes say, marked, never the stored summary
    board = build_leaderboard(root, n_resamples=200)
    row = next(r for r in board.rows if r.model == "oracle-a" and r.lang == "fi" and r.attack == "keyboard")
    assert row.stats["asr"] < _expected_keyboard_asr(world, "fi", world["first_half"], (0, 1))  # the edit counts
    # the regress gate refuses a flagged record as bad input
    baseline = world["tmp"] / "tampered-baseline.json"
    result = runner.invoke(app, ["regress", "--baseline", str(baseline), "--current", str(root), "--update-baseline"])
    assert result.exit_code == 2 and "summary disagrees" in result.output


def test_clean_outcomes_are_cross_checked_and_corrupt_files_reported(world):
    root, path = _tampered(world, "clean-edit")
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["examples"][0]["clean_pred"] = "not what the model said"
    rec["digest"] = record_digest(rec)  # numbers unchanged and sealed: only the siblings can tell
    path.write_text(json.dumps(rec), encoding="utf-8")
    assert _flags(root)[("oracle-a", "fi", "keyboard", 0)] == {"clean-outcomes"}
    (root / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    code, out = _lb("--results", root)
    assert code == 2 and "notes.json" in out and "not an xadv attack record" in out


def _regress(*args) -> tuple[int, str]:
    result = runner.invoke(app, ["regress", *map(str, args)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_regress_gate_exit_codes_and_tables(world):
    tmp = world["tmp"]
    baseline = tmp / "baseline.json"
    code, out = _regress("--baseline", baseline, "--current", tmp / "base", "--update-baseline")
    assert code == 0 and "(new)" in out
    cells = read_baseline(baseline)
    assert len(cells) == 6 and all(c.slot["model"] == "oracle" for c in cells)
    # a re-run of an equally robust model (other fingerprint, same outcomes): passes
    code, out = _regress("--baseline", baseline, "--current", tmp / "same")
    assert code == 0, out
    assert "6 of" not in out and "1 of 1 checks within tolerance" in out
    # a model that lost its robustness: fails, overall and per language, significantly
    code, out = _regress("--baseline", baseline, "--current", tmp / "worse", "--json")
    assert code == 1
    [check] = json.loads(out)["checks"]
    base_asr = _pooled_asr(world, world["first_half"])
    assert check["base_asr"] == pytest.approx(base_asr)
    assert check["cur_asr"] == pytest.approx(_pooled_asr(world, set()))
    assert check["status"] == "regressed"
    code, out = _regress("--baseline", baseline, "--current", tmp / "worse", "--significance", "0.05")
    assert code == 1 and "REGRESSED" in out and "(p=0.0" in out
    code, out = _regress("--baseline", baseline, "--current", tmp / "worse", "--per-lang")
    assert code == 1 and out.count("REGRESSED") == 3
    for lang in LANGS:
        assert f"oracle / {lang}" in out
    # 12 outcomes per language are too few for p < 0.05 at this size of change: not a significant regression
    code, out = _regress("--baseline", baseline, "--current", tmp / "worse", "--per-lang", "--significance", "0.05",
                         "--json")
    checks = json.loads(out)["checks"]
    assert code == 0 and len(checks) == 3
    assert all(c["status"] == "within tolerance (not significant)" and c["asr_p"] >= 0.05 for c in checks)
    # one more question broken: beyond the 2-point tolerance, but not significant on 36 outcomes
    code, out = _regress("--baseline", baseline, "--current", tmp / "slightly", "--json")
    assert code == 1 and json.loads(out)["checks"][0]["asr_change"] > 2.0
    code, out = _regress("--baseline", baseline, "--current", tmp / "slightly", "--significance", "0.05", "--json")
    assert code == 0, out
    [check] = json.loads(out)["checks"]
    assert check["status"].startswith("within tolerance") and check["asr_p"] >= 0.05
    code, _ = _regress("--baseline", baseline, "--current", tmp / "slightly", "--max-asr-increase", "0.05",
                       "--max-f1-drop", "3")
    assert code == 0
    # a cell the current run lacks fails the gate
    partial = tmp / "partial"
    shutil.copytree(tmp / "same", partial)
    next(partial.glob("*.sw.distractor-conflict.*")).unlink()
    code, out = _regress("--baseline", baseline, "--current", partial)
    assert code == 1 and "MISSING" in out and "distractor-conflict" in out
    # bad input: exit 2 with one line
    code, out = _regress("--baseline", tmp / "nope.json", "--current", tmp / "same")
    assert code == 2 and "no such baseline file" in out
    code, out = _regress("--baseline", baseline, "--current", tmp / "same", "--max-asr-increase", "2")
    assert code == 2 and "fraction" in out
    edited = tmp / "edited-baseline.json"
    obj = json.loads(baseline.read_text(encoding="utf-8"))
    obj["cells"][0]["examples"]["flipped"][0] = 0
    edited.write_text(json.dumps(obj), encoding="utf-8")
    code, out = _regress("--baseline", edited, "--current", tmp / "same")
    assert code == 2 and "edited after it was written" in out
    # accepting the worse model deliberately makes it the new reference
    code, out = _regress("--baseline", baseline, "--current", tmp / "worse", "--update-baseline")
    assert code == 0 and "(was 6)" in out
    assert _regress("--baseline", baseline, "--current", tmp / "worse")[0] == 0
    # against that baseline, the robust model is an improvement: shown, and significant pooled
    code, out = _regress("--baseline", baseline, "--current", tmp / "same", "--significance", "0.05")
    assert code == 0 and "IMPROVED" in out and "(1 improved)" in out
    [check] = json.loads(_regress("--baseline", baseline, "--current", tmp / "same", "--json")[1])["checks"]
    assert check["status"] == "improved" and check["asr_change"] < -2 and check["improvements"]


def _pooled_asr(world, robust_ids: set[str]) -> float:
    """Model-level ASR over keyboard + distractor-conflict cells (seed 0), counted from the construction."""
    qs = {r["id"]: r["question"] for r in world["rows"]}
    right = [i for i in qs if world["clean_right"][i]]
    keyboard = sum(1 for i in right if world["adv_q"][0][i] != qs[i] and i not in robust_ids)
    return 100 * (keyboard + len(right)) / (2 * len(right))  # distractor-conflict flips every right answer


def test_report_shows_successful_attacks_before_and_after(world):
    result = runner.invoke(app, ["report", str(world["tmp"] / "board"), "--model", "oracle-b", "--examples", "2"])
    assert result.exit_code == 0, result.output
    md = result.output
    for lang in LANGS:
        assert f"### {lang} (no card)" in md
    assert "question before:" in md and "question after:" in md and "context before:" in md
    qs = {r["id"]: r["question"] for r in world["rows"]}
    shown = [i for i in qs if f"**{i}**" in md]
    assert shown and all(world["clean_right"][i] for i in shown)
    flipped_q = next(i for i in shown if world["adv_q"][0][i] != qs[i] and f"`` {world['adv_q'][0][i]} ``" in md)
    assert f"`` {qs[flipped_q]} ``" in md
    out = world["tmp"] / "report.html"
    result = runner.invoke(app, ["report", str(world["tmp"] / "board"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<ins>" in page and "<del>" in page and "oracle-a" in page
    result = runner.invoke(app, ["report", str(world["tmp"] / "board"), "--model", "nobody"])
    assert result.exit_code == 2 and "no model 'nobody'" in result.output


# --- the HTML page, rendered by headless Chromium -----------------------------------------------------

# Chromium phones home (component updates, account and variation services) unless told not to; the test
# page is a local file, so every host name resolves to a sinkhole and nothing may look anything up.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
                  "--disable-client-side-phishing-detection", "--no-pings", "--metrics-recording-only",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost")


def _offline(cmd: list[str]) -> list[str]:
    """Run in a fresh network namespace (loopback only) where we may (root with `unshare`): nothing can
    leave the machine even if a flag above stops working in a later Chromium."""
    unshare = shutil.which("unshare")
    return [unshare, "--net", *cmd] if unshare and os.geteuid() == 0 else cmd


def _resolved_hosts(netlog: Path) -> set[str]:
    """Every host name Chromium's resolver was asked for (from its net log)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    kind = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    return {str(e["params"]["host"]) for e in log["events"]
            if kind.get(e["type"]) == "HOST_RESOLVER_MANAGER_REQUEST" and "host" in e.get("params", {})}


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail("headless Chromium is needed to test the HTML leaderboard and was not found on PATH: "
                "install it with `apt-get install -y chromium chromium-driver`")


def _rendered_dom(page, tmp_path) -> list[dict]:
    """The DOM after the page's scripts ran (chromium --dump-dom), as nodes with attrs, text and ancestors."""
    netlog = tmp_path / "chromium-netlog.json"
    cmd = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
           f"--log-net-log={netlog}", "--net-log-capture-mode=Everything", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(_offline(cmd), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-3000:]
    # no DNS lookups: no real host name ever reached the resolver (all went to the sinkhole)
    assert {h.split("://")[-1] for h in _resolved_hosts(netlog)} <= {"~notfound"}, _resolved_hosts(netlog)

    class Dom(HTMLParser):
        void = {"meta", "br", "input", "img", "link", "hr"}

        def __init__(self):
            super().__init__()
            self.stack, self.nodes = [], []

        def handle_starttag(self, tag, attrs):
            node = {"tag": tag, "attrs": dict(attrs), "text": "", "up": list(self.stack)}
            self.nodes.append(node)
            if tag not in self.void:
                self.stack.append(node)

        def handle_endtag(self, tag):
            while self.stack and self.stack.pop()["tag"] != tag:
                pass

        def handle_data(self, data):
            for n in self.stack:
                n["text"] += data

    dom = Dom()
    dom.feed(proc.stdout)
    return dom.nodes


def _find(nodes, tag, cls=None, inside=None):
    return [n for n in nodes if n["tag"] == tag
            and (cls is None or cls in n["attrs"].get("class", "").split())
            and (inside is None or any(u is inside for u in n["up"]))]


def test_html_leaderboard_renders_in_headless_chromium(world, tmp_path):
    page = tmp_path / "leaderboard.html"
    code, out = _lb("--results", world["tmp"] / "board", "--out", page)
    assert code == 0, out
    html_text = page.read_text(encoding="utf-8")
    # one self-contained file: nothing loaded from elsewhere
    assert " src=" not in html_text and "href=" not in html_text and "@import" not in html_text
    nodes = _rendered_dom(page, tmp_path)
    [body] = _find(nodes, "body")
    assert body["attrs"].get("data-rendered") == "ok", [n["text"] for n in _find(nodes, "p", "error")]
    board = json.loads(_lb("--results", world["tmp"] / "board", "--format", "json")[1])
    asr = {(r["model"], r["lang"], r["attack"]): r["asr"] for r in board["rows"]}
    maps = {n["attrs"]["data-model"]: n for n in _find(nodes, "svg", "heatmap")}
    assert set(maps) == {"oracle-a", "oracle-b"}
    for model, svg in maps.items():
        cells = _find(nodes, "rect", "cell", inside=svg)
        assert {(c["attrs"]["data-lang"], c["attrs"]["data-attack"]) for c in cells} == {
            (lang, attack) for lang in LANGS for attack in ("keyboard", "distractor-conflict")}
        for c in cells:  # coloured by ASR by default, the value the leaderboard computed
            assert float(c["attrs"]["data-value"]) == pytest.approx(asr[(model, c["attrs"]["data-lang"],
                                                                          c["attrs"]["data-attack"])], abs=1e-3)
            assert c["attrs"]["fill"].startswith("rgb(")
        labels = {n["attrs"]["data-lang"]: n["text"] for n in _find(nodes, "text", "row-label", inside=svg)}
        assert set(labels) == set(LANGS)
        if model == "oracle-a":  # zero-shot marks from the card: sw was seen in training
            assert labels == {"sw": "sw", "fi": "fi \u2731", "id": "id \u2731"}
        else:
            assert all(text.endswith("?") for text in labels.values())
        assert not _find(nodes, "text", "flag-mark", inside=svg)
    [select] = [n for n in _find(nodes, "select") if n["attrs"].get("id") == "model-select"]
    assert [o["text"] for o in _find(nodes, "option", inside=select)] == ["oracle-a", "oracle-b"]
    [card] = [n for n in _find(nodes, "div") if n["attrs"].get("id") == "model-card"]
    assert card["attrs"]["data-model"] == "oracle-a" and "zero-shot" in card["text"] and "seen" in card["text"]
    [table] = [n for n in _find(nodes, "table") if n["attrs"].get("id") == "all-table"]
    trs = [tr for tr in _find(nodes, "tr", inside=table) if "data-model" in tr["attrs"]]
    assert len(trs) == 12 and {tr["attrs"]["data-model"] for tr in trs} == {"oracle-a", "oracle-b"}
    assert any("squad" in tr["text"] for tr in trs)
    [checks] = [n for n in _find(nodes, "ul") if n["attrs"].get("id") == "checks-list"]
    assert "all 18 records passed the checks" in checks["text"]


def test_html_marks_a_flagged_entry(world, tmp_path):
    root, path = _tampered(world, "tampered-html")
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["summary"]["asr"] = 0.0  # a too-good-to-be-true claim
    path.write_text(json.dumps(rec), encoding="utf-8")
    page = tmp_path / "flagged.html"
    assert _lb("--results", root, "--format", "html", "--out", page)[0] == 0
    nodes = _rendered_dom(page, tmp_path)
    assert _find(nodes, "body")[0]["attrs"].get("data-rendered") == "ok"
    maps = {n["attrs"]["data-model"]: n for n in _find(nodes, "svg", "heatmap")}
    [mark] = [m for m in _find(nodes, "text", "flag-mark") if any(u is maps["oracle-a"] for u in m["up"])]
    assert mark["text"] == "!"
    flagged = [li for li in _find(nodes, "li", "flag")]
    assert [li["attrs"]["data-kind"] for li in flagged] == ["edited", "summary"]
    true_asr = _expected_keyboard_asr(world, "fi", world["first_half"])  # seed 0, counted from the construction
    assert path.name in flagged[1]["text"] and f"asr 0.00 vs {true_asr:.2f}" in flagged[1]["text"]
