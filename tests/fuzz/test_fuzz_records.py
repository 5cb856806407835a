"""Results that stay trustworthy under attack: forged, edited, malformed records and gate settings that would
switch the gate off. Every case is driven through the command line (CliRunner, or a subprocess with a
timeout where a regression would eat memory) and must end in the right exit code with exactly one
`error:` line and no traceback.

The records are real `run_attacks` records of a constructed model on hand-written questions (no reference
data needed): "echo" answers a question right only when it sees it unchanged, so a keyboard attack on the
question flips every answer it changes; "steady" answers from the context alone, so nothing flips.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from attacks.spec import AttackSpec
from cli import app
from xadv.errors import XadvError
from xadv.qa.engine import EngineConfig
from xadv.runs import AttackRecord, ResultsStore
from xadv.runs.attack import CellSettings, run_attacks
from xadv.runs.record import record_digest
from xadv.runs.seal import KEY_ENV, Seal, key_id
from xadv.score.compare import compare
from xadv.score.criterion import Criterion
from xadv.score.evaluate import ScoreResult
from xadv.testing import StubModel

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "schema" / "attack-record-2.schema.json").read_text(encoding="utf-8"))
KEY = "owner-secret-" + "7f3a" * 8
OTHER_KEY = "someone-else-" + "0b1c" * 8
N = 10
runner = CliRunner()

TOPICS = ["Kilimanjaro", "Zanzibar", "Serengeti", "Tanganyika", "Mombasa", "Dodoma", "Arusha", "Morogoro",
          "Tabora", "Kigoma", "Mwanza", "Lindi"]


def make_rows(n: int = N) -> list[dict]:
    rows = []
    for i, name in enumerate(TOPICS[:n]):
        context = (f"Travellers remember {name} for its markets. The founding governor of {name} was "
                   f"Governor{i} Amani, according to regional historians.")
        answer = f"Governor{i} Amani"
        rows.append({"id": f"english-{i}", "lang": "en", "title": name, "context": context,
                     "question": f"Which governor founded the settlement called {name} originally?",
                     "answers": {"text": [answer], "answer_start": [context.index(answer)]}})
    return rows


class FakeEngine:
    """What a run needs of `QAEngine`: predictions by id, the settings that define a cell, threads."""

    config = EngineConfig(num_threads=1)
    num_threads = 1

    def settings_key(self) -> str:
        return self.config.settings_key("fp32", "cpu")

    def __init__(self, rows: list[dict], steady: bool):
        self.steady = steady
        self.by_q = {(r["question"], r["context"]): r["answers"]["text"][0] for r in rows}
        self.by_c = {r["context"]: r["answers"]["text"][0] for r in rows}

    def predict(self, rows):
        def answer(r):
            return self.by_c.get(r["context"], "") if self.steady else self.by_q.get((r["question"], r["context"]), "")
        return {r["id"]: SimpleNamespace(text=answer(r)) for r in rows}


SETTINGS = CellSettings(attacks=AttackSpec.parse_list("keyboard"), strength=0.6, seed=0, n_resamples=200,
                        data_name="questions.json")


def _run(root: Path, steady: bool, fingerprint: str, key: str | None = None) -> Path:
    rows = make_rows()
    with pytest.MonkeyPatch.context() as mp:
        if key:
            mp.setenv(KEY_ENV, key)
        else:
            mp.delenv(KEY_ENV, raising=False)
        [cell] = run_attacks(StubModel("qa-model", fingerprint), rows, SETTINGS,
                             engine=FakeEngine(rows, steady), store=ResultsStore(root))
    assert cell.status == "computed" and cell.path is not None
    return cell.path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Results directories: echo (attackable), steady (robust), each plain and sealed with KEY."""
    tmp = tmp_path_factory.mktemp("runs")
    out = {}
    for name, steady, key in (("echo", False, None), ("steady", True, None), ("echo-sealed", False, KEY),
                              ("steady-sealed", True, KEY)):
        _run(tmp / name, steady, ("fp-steady" if steady else "fp-echo") * 6, key)
        out[name] = tmp / name
    return out


def copy_run(runs, name: str, tmp_path: Path) -> tuple[Path, Path, dict]:
    """A private copy of a results directory: (dir, its one record file, the record)."""
    src = next(runs[name].glob("*.json"))
    root = tmp_path / name
    root.mkdir()
    path = root / src.name
    path.write_bytes(src.read_bytes())
    return root, path, json.loads(path.read_text(encoding="utf-8"))


def forge_harmless(rec: dict) -> dict:
    """What a forger does: every attacked answer "survived" (adversarial = clean), and the summary is
    recomputed from the forged outcomes so that it agrees with them (ASR 0.0)."""
    rec = copy.deepcopy(rec)
    for e in rec["examples"]:
        e["adv_pred"], e["adv_em"], e["adv_f1"] = e["clean_pred"], e["clean_em"], e["clean_f1"]
    ids = tuple(e["id"] for e in rec["examples"])
    col = {k: np.array([e[k] for e in rec["examples"]]) for k in ("clean_em", "clean_f1", "adv_em", "adv_f1")}
    boot = rec["summary"]["bootstrap"]
    clean = ScoreResult("squad", ids, ("en",) * len(ids), col["clean_em"], col["clean_f1"])
    adv = ScoreResult("squad", ids, ("en",) * len(ids), col["adv_em"], col["adv_f1"])
    redo = compare(clean, adv, criterion=Criterion.parse(rec["criterion"]), level=boot["level"],
                   n_resamples=boot["resamples"], seed=boot["seed"]).to_dict()
    rec["summary"].update(redo)
    return rec


def write(path: Path, rec: dict) -> None:
    path.write_text(json.dumps(rec, ensure_ascii=False, indent=1), encoding="utf-8")


def cli(*args, env: dict | None = None):
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def one_error(result) -> str:
    """The one line a bad input gives: exit 2, a single `error:` line on stderr, nothing else there."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def subprocess_cli(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command line in its own process (a regression here could eat the machine's memory)."""
    full_env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr[-2000:]
    return proc


def one_error_proc(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.stdout[-500:], proc.stderr[-500:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def baseline_of(runs, name: str, tmp_path: Path, env: dict | None = None) -> Path:
    baseline = tmp_path / f"{name}-baseline.json"
    result = cli("regress", "--baseline", baseline, "--current", runs[name], "--update-baseline", env=env)
    assert result.exit_code == 0, result.output
    return baseline


# --- 1. tamper detection: digest, keyed seal -------------------------------------------------------------


def test_the_genuine_runs_pass_and_the_attack_worked(runs):
    echo = json.loads(next(runs["echo"].glob("*.json")).read_text(encoding="utf-8"))
    assert echo["summary"]["asr"] > 50 and "seal" not in echo
    sealed = json.loads(next(runs["echo-sealed"].glob("*.json")).read_text(encoding="utf-8"))
    assert sealed["seal"]["alg"] == "hmac-sha256" and sealed["seal"]["key_id"] == key_id(KEY.encode())
    assert sealed["digest"] == record_digest(sealed)
    jsonschema.Draft202012Validator(SCHEMA).validate(sealed)
    # reading never re-seals: a sealed record round-trips byte for byte, and so does a version 1 record
    assert AttackRecord.from_dict(sealed).to_dict() == sealed
    v1 = {k: v for k, v in echo.items() if k != "digest"}
    v1["schema"], v1["env"] = "xadv.attack-record/1", {k: v for k, v in echo["env"].items() if k != "threads"}
    v1["digest"] = record_digest(v1)
    again = AttackRecord.from_dict(v1).to_dict()
    assert json.dumps(again, indent=1) == json.dumps(v1, indent=1)
    for name in runs:
        assert cli("leaderboard", "--results", runs[name], "--strict").exit_code == 0
    assert cli("leaderboard", "--results", runs["echo-sealed"], "--strict", env={KEY_ENV: KEY}).exit_code == 0


def test_deleting_the_digest_fails_strict_leaderboard_and_regress_without_a_key(runs, tmp_path):
    baseline = baseline_of(runs, "echo", tmp_path)
    root, path, rec = copy_run(runs, "echo", tmp_path)
    forged = forge_harmless(rec)
    assert forged["summary"]["asr"] == 0.0 and rec["summary"]["asr"] > 50
    del forged["digest"]
    write(path, forged)
    result = cli("leaderboard", "--results", root, "--strict")
    assert result.exit_code == 1 and "FLAGGED" in result.output and "unsealed" in result.output
    line = one_error(cli("regress", "--baseline", baseline, "--current", root))
    assert path.name in line and "unsealed" in line


def test_a_recomputed_plain_digest_is_caught_only_by_the_keyed_seal(runs, tmp_path):
    """Documented limit: without a key a forger who recomputes the digest is not detected (the digest is a
    checksum, not a signature); with the key, the seal is what stops the forgery."""
    root, path, rec = copy_run(runs, "echo-sealed", tmp_path)
    forged = forge_harmless(rec)
    forged["digest"] = record_digest(forged)  # plain sha256 over the other fields, as anyone can
    write(path, forged)
    assert cli("leaderboard", "--results", root, "--strict").exit_code == 0  # no key: indistinguishable
    key = {KEY_ENV: KEY}
    result = cli("leaderboard", "--results", root, "--strict", "--format", "json", env=key)
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)["entries"]
    assert [f["kind"] for f in entry["flags"]] == ["edited"] and "seal" in entry["flags"][0]["message"]
    baseline = baseline_of(runs, "echo-sealed", tmp_path, env=key)
    line = one_error(cli("regress", "--baseline", baseline, "--current", root, env=key))
    assert path.name in line and "edited" in line


@pytest.mark.parametrize("how", ["seal removed", "digest and seal removed", "sealed with another key",
                                 "never sealed"])
def test_with_a_key_every_unverified_record_fails(runs, tmp_path, how):
    key = {KEY_ENV: KEY}
    baseline = baseline_of(runs, "echo-sealed", tmp_path, env=key)
    root, path, rec = copy_run(runs, "echo" if how == "never sealed" else "echo-sealed", tmp_path)
    forged = rec if how == "never sealed" else forge_harmless(rec)
    forged.pop("seal", None)
    if how == "digest and seal removed":
        del forged["digest"]
    elif how != "never sealed":
        forged["digest"] = record_digest(forged)
    if how == "sealed with another key":
        forged["seal"] = Seal.make(forged, OTHER_KEY.encode()).to_dict()
    write(path, forged)
    kind = "edited" if how == "sealed with another key" else "unsealed"
    result = cli("leaderboard", "--results", root, "--strict", env=key)
    assert result.exit_code == 1 and f"{kind}:" in result.output
    if how == "sealed with another key":
        assert "another key" in result.output
    line = one_error(cli("regress", "--baseline", baseline, "--current", root, env=key))
    assert kind in line and path.name in line


def test_a_sealed_baseline_is_checked_and_a_bad_key_is_one_line(runs, tmp_path):
    key = {KEY_ENV: KEY}
    baseline = baseline_of(runs, "steady-sealed", tmp_path, env=key)
    obj = json.loads(baseline.read_text(encoding="utf-8"))
    assert obj["seal"]["key_id"] == key_id(KEY.encode())
    # a forged baseline with a recomputed plain digest: refused with the key
    obj["cells"][0]["examples"]["flipped"] = [1] * len(obj["cells"][0]["examples"]["flipped"])
    from xadv.runs.record import stable_hash
    from xadv.runs.seal import sealed_content
    obj["digest"] = stable_hash(sealed_content(obj))
    baseline.write_text(json.dumps(obj), encoding="utf-8")
    line = one_error(cli("regress", "--baseline", baseline, "--current", runs["steady-sealed"], env=key))
    assert "baseline edited" in line
    for bad in ("", "short"):
        line = one_error(cli("leaderboard", "--results", runs["echo"], env={KEY_ENV: bad}))
        assert KEY_ENV in line and "at least 16" in line


# --- 2. resume re-checks what it reuses --------------------------------------------------------------------


@pytest.fixture
def attack_cli(monkeypatch, tmp_path):
    """`xadv attack` on the hand-written questions with the echo model (model loading replaced)."""
    import xadv.runs.suite as suite

    rows = make_rows()
    data = tmp_path / "questions.json"
    data.write_text(json.dumps({"version": "1.1", "data": [
        {"title": r["title"], "paragraphs": [{"context": r["context"], "qas": [
            {"id": r["id"], "question": r["question"],
             "answers": [{"text": r["answers"]["text"][0], "answer_start": r["answers"]["answer_start"][0]}]}]}]}
        for r in rows]}), encoding="utf-8")
    monkeypatch.setattr(suite.loading, "load_qa_model", lambda *a, **k: StubModel("qa-model", "fp-echo" * 6))
    monkeypatch.setattr(suite.QAEngine, "from_loaded", staticmethod(lambda *a, **k: FakeEngine(rows, False)))
    results = tmp_path / "results"

    def attack(*extra, env=None):
        return cli("attack", "--model", "echo", "--lang", "en", "--data", data, "--attack", "keyboard",
                   "--target", "question", "--strength", "0.6", "--results", results, "--json", *extra, env=env)
    return attack, results


def test_resume_refuses_an_edited_record_and_says_to_delete_it(attack_cli, tmp_path):
    attack, results = attack_cli
    first = attack()
    assert first.exit_code == 0, first.output
    [cell] = json.loads(first.stdout)["cells"]
    assert cell["status"] == "computed"
    path = Path(cell["path"])
    again = attack()
    assert again.exit_code == 0 and json.loads(again.stdout)["cells"][0]["status"] == "cached"
    rec = json.loads(path.read_text(encoding="utf-8"))
    for change in ("summary only", "summary, digest recomputed", "forged consistently, digest recomputed"):
        edited = copy.deepcopy(rec)
        if change.startswith("forged"):
            edited = forge_harmless(rec)
        else:
            edited["summary"]["adv_f1"] += 6.3  # "cached ... 50.6 -> 56.9"
        if "digest" in change:
            edited["digest"] = record_digest(edited)
        write(path, edited)
        out = tmp_path / "run.json"
        env = {KEY_ENV: KEY} if change.startswith("forged") else None
        line = one_error(attack("--out", out, env=env))
        assert str(path) in line and "delete it to recompute" in line, (change, line)
        assert not out.exists()  # nothing edited was copied into --out
    path.unlink()
    assert json.loads(attack().stdout)["cells"][0]["status"] == "computed"


def test_resume_with_a_key_seals_new_records_and_reuses_only_sealed_ones(attack_cli, tmp_path):
    attack, results = attack_cli
    key = {KEY_ENV: KEY}
    assert attack().exit_code == 0  # written without the key: unsealed
    line = one_error(attack(env=key))
    assert "unsealed" in line and "delete it" in line
    for p in results.glob("*.json"):
        p.unlink()
    out = tmp_path / "run.json"
    assert attack("--out", out, env=key).exit_code == 0
    assert attack("--out", out, env=key).exit_code == 0  # reused: its seal verifies
    [copied] = json.loads(out.read_text(encoding="utf-8"))["records"]
    assert copied["seal"]["key_id"] == key_id(KEY.encode())
    assert copied == json.loads(next(results.glob("*.json")).read_text(encoding="utf-8"))


def test_resume_refuses_a_record_edited_in_place_library_level(runs, tmp_path):
    root, path, rec = copy_run(runs, "echo", tmp_path)
    rec["summary"]["asr"] = 0.0
    rec["digest"] = record_digest(rec)
    write(path, rec)
    rows = make_rows()
    with pytest.raises(XadvError) as exc:
        run_attacks(StubModel("qa-model", "fp-echo" * 6), rows, SETTINGS, engine=FakeEngine(rows, False),
                    store=ResultsStore(root))
    message = str(exc.value)
    assert "\n" not in message and str(path) in message and "summary" in message and "delete it" in message


# --- 3. gate settings that would switch the gate off --------------------------------------------------------


def test_significance_the_bootstrap_cannot_reach_is_refused(runs, tmp_path):
    baseline = baseline_of(runs, "steady", tmp_path)
    worse = ["regress", "--baseline", baseline, "--current", runs["echo"], "--significance", "0.05"]
    line = one_error(cli(*worse, "--bootstrap", "10"))
    assert "1/11" in line and "--bootstrap 20" in line
    one_error(cli(*worse, "--bootstrap", "0"))
    one_error(cli(*worse, "--bootstrap", "19"))
    assert cli(*worse, "--bootstrap", "20").exit_code == 1  # ASR 0 -> 100 on 10 questions: p = 1/21
    assert cli(*worse).exit_code == 1                       # the default 1000 resamples
    line = one_error(cli(*worse[:-1], "1e-9"))
    assert "choose a larger --significance" in line


@pytest.mark.parametrize("option,value", [
    ("--max-f1-drop", "nan"), ("--max-f1-drop", "inf"), ("--max-f1-drop", "-1"), ("--max-f1-drop", "101"),
    ("--max-asr-increase", "nan"), ("--max-asr-increase", "inf"), ("--max-asr-increase", "-0.01"),
    ("--max-asr-increase", "2"), ("--significance", "nan"), ("--significance", "0"), ("--significance", "1"),
    ("--significance", "inf"), ("--bootstrap", "-1"), ("--bootstrap", "100001"),
])
def test_every_numeric_gate_option_is_finite_and_in_range(runs, tmp_path, option, value):
    baseline = baseline_of(runs, "steady", tmp_path)
    line = one_error(cli("regress", "--baseline", baseline, "--current", runs["echo"], option, value))
    assert option in line
    # --update-baseline validates before it writes anything
    one_error(cli("regress", "--baseline", tmp_path / "new.json", "--current", runs["echo"], "--update-baseline",
                  option, value))
    assert not (tmp_path / "new.json").exists()


def test_tolerances_that_allow_every_change_are_refused(runs, tmp_path):
    baseline = baseline_of(runs, "steady", tmp_path)
    line = one_error(cli("regress", "--baseline", baseline, "--current", runs["echo"], "--max-asr-increase", "1",
                         "--max-f1-drop", "100"))
    assert "could never fail" in line
    assert cli("regress", "--baseline", baseline, "--current", runs["echo"]).exit_code == 1


@pytest.mark.parametrize("command", ["leaderboard", "regress", "score", "attack"])
def test_bootstrap_is_bounded_everywhere(runs, tmp_path, command):
    big = "100000000"  # 1e8 resamples: 11.7 GB before the bound
    if command == "leaderboard":
        args = ["leaderboard", "--results", runs["echo"], "--bootstrap", big]
    elif command == "regress":
        args = ["regress", "--baseline", tmp_path / "b.json", "--current", runs["echo"], "--update-baseline",
                "--bootstrap", big]
    elif command == "score":
        gold, pred = tmp_path / "gold.json", tmp_path / "pred.json"
        gold.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [
            {"context": "abc def", "qas": [{"id": "english-1", "question": "q?",
                                            "answers": [{"text": "abc", "answer_start": 0}]}]}]}]}), encoding="utf-8")
        pred.write_text(json.dumps({"english-1": "abc"}), encoding="utf-8")
        args = ["score", "--gold", gold, "--pred", pred, "--bootstrap", big]
    else:
        suite = tmp_path / "suite.toml"
        suite.write_text(f"bootstrap = {big}\n", encoding="utf-8")
        args = ["attack", "--suite", suite, "--results", tmp_path / "res"]
    line = one_error_proc(subprocess_cli(*args, timeout=120))
    assert "100000" in line and "bootstrap" in line


def test_an_absurd_stored_bootstrap_is_flagged_not_honoured(runs, tmp_path):
    root, path, rec = copy_run(runs, "echo", tmp_path)
    for absurd in (10**9, 1e9, -5, "1000", True):
        rec["summary"]["bootstrap"]["resamples"] = absurd
        rec["digest"] = record_digest(rec)
        write(path, rec)
        proc = subprocess_cli("leaderboard", "--results", root, "--strict", "--bootstrap", "0", timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "invalid" in proc.stdout and "resamples" in proc.stdout
    # and a resuming run refuses it rather than trusting its summary
    with pytest.raises(XadvError, match="resamples"):
        ResultsStore(root).get(AttackRecord.from_dict(rec).cell)


# --- 4. bad input shapes -----------------------------------------------------------------------------------


def test_a_directory_as_baseline_is_one_line(runs, tmp_path):
    line = one_error(cli("regress", "--baseline", tmp_path, "--current", runs["echo"]))
    assert "is a directory" in line
    line = one_error(cli("regress", "--baseline", tmp_path, "--current", runs["echo"], "--update-baseline"))
    assert "is a directory" in line


def test_a_summary_that_is_a_string_is_one_line(runs, tmp_path):
    root, path, rec = copy_run(runs, "echo", tmp_path)
    rec["summary"] = "all good"
    rec["digest"] = record_digest(rec)
    write(path, rec)
    baseline = baseline_of(runs, "echo", tmp_path)
    for args in (("leaderboard", "--results", root), ("leaderboard", "--results", root, "--strict"),
                 ("regress", "--baseline", baseline, "--current", root), ("report", root)):
        line = one_error(cli(*args))
        assert "malformed summary" in line and path.name in line


@pytest.mark.parametrize("field", ["adv_pred", "id"])
def test_a_lone_surrogate_in_a_record_run_file_or_baseline_is_one_line(runs, tmp_path, field):
    """JSON's `\\ud800` escape smuggles in text no digest can hash (it crashed leaderboard, report and
    regress with a UnicodeEncodeError): every reader refuses it in one line naming the file and the field."""
    root, path, rec = copy_run(runs, "echo", tmp_path)
    baseline = baseline_of(runs, "echo", tmp_path)
    raw = json.dumps(rec, indent=1)  # ASCII-escaped, so the surrogate goes in as the escape a file would hold
    value = json.dumps(rec["examples"][0][field])
    write_raw = raw.replace(value, value[:-1] + '\\ud800"', 1)
    path.write_text(write_raw, encoding="utf-8")
    for args in (("leaderboard", "--results", root, "--strict"), ("report", root),
                 ("regress", "--baseline", baseline, "--current", root)):
        line = one_error(cli(*args))
        assert "lone surrogate" in line and path.name in line and field in line, line
    run_file = tmp_path / "run.json"
    run_file.write_text('{"schema": "xadv.attack-run/1", "records": [' + write_raw + "]}", encoding="utf-8")
    assert "lone surrogate" in one_error(cli("leaderboard", "--results", run_file))
    bad_base = tmp_path / "bad-baseline.json"
    text = baseline.read_text(encoding="utf-8")
    assert '"mode": "squad"' in text
    bad_base.write_text(text.replace('"mode": "squad"', '"mode": "squad\\udc00"', 1), encoding="utf-8")
    assert "lone surrogate" in one_error(cli("regress", "--baseline", bad_base, "--current", runs["echo"]))


# --- 5. fuzz: any mutation of a record is a verdict or one line, never a traceback ---------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:2]):
            yield from _paths(v, (*prefix, i))


@pytest.fixture(scope="module")
def fuzz_source(runs) -> dict:
    return json.loads(next(runs["echo"].glob("*.json")).read_text(encoding="utf-8"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_records_never_crash_the_leaderboard_or_resume(fuzz_source, tmp_path_factory, data):
    rec = copy.deepcopy(fuzz_source)
    paths = [p for p in _paths(rec) if p]
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(paths), label="path")
        parent = rec
        try:
            for part in path[:-1]:
                parent = parent[part]
            if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(JSON_VALUES, label="value")
        except (KeyError, IndexError, TypeError):
            continue
    if isinstance(rec, dict) and data.draw(st.booleans(), label="redigest"):
        rec["digest"] = record_digest(rec)
    root = tmp_path_factory.mktemp("fuzz")
    name = "fuzzed.json"
    (root / name).write_text(json.dumps(rec), encoding="utf-8")
    result = cli("leaderboard", "--results", root, "--strict", "--bootstrap", "0")
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        assert name in one_error(result)
    if result.exit_code == 0:  # a record that passes every check also gates cleanly against itself
        baseline = root / "baseline.json.base"
        assert cli("regress", "--baseline", baseline, "--current", root, "--update-baseline").exit_code == 0
        assert cli("regress", "--baseline", baseline, "--current", root).exit_code == 0
    try:
        cell = AttackRecord.from_dict(rec).cell
        (root / cell.filename()).write_text(json.dumps(rec), encoding="utf-8")
        ResultsStore(root).get(cell)
    except XadvError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("edit, needle", [
    (lambda d, ex: ex.update(adv_f1=[float("nan")] * len(ex["ids"])), "finite and in [0, 1]"),
    (lambda d, ex: ex.update(clean_f1=[-1.0] * len(ex["ids"])), "finite and in [0, 1]"),
    (lambda d, ex: ex.update(adv_f1=[5.0] * len(ex["ids"])), "finite and in [0, 1]"),
    (lambda d, ex: ex.update(right=[0] * len(ex["ids"]), flipped=[1] * len(ex["ids"])), "not right on clean"),
    (lambda d, ex: ex.update(right=[2] * len(ex["ids"])), "must be 0 or 1"),
    (lambda d, ex: [ex.update({k: ex[k] + ex[k][:1] * 5}) for k in ("ids", "right", "flipped", "adv_f1", "clean_f1")],
     "appears twice"),
    (lambda d, ex: d.update(cells=[]), "no cells"),
    (lambda d, ex: d["cells"].append(copy.deepcopy(d["cells"][0])), "the same cell appears twice"),
])
def test_a_baseline_with_impossible_numbers_is_refused_even_with_a_recomputed_digest(runs, tmp_path, edit, needle):
    """Without the key only the digest guards a baseline, and anyone can recompute it: an ASR of 200 %, NaN
    or out-of-range F1, a question weighted six times or no cells at all made every run pass (exit 0)."""
    from xadv.runs.record import stable_hash
    from xadv.runs.seal import sealed_content

    baseline = baseline_of(runs, "echo", tmp_path)
    d = json.loads(baseline.read_text(encoding="utf-8"))
    edit(d, d["cells"][0]["examples"])
    d["digest"] = stable_hash(sealed_content(d))
    baseline.write_text(json.dumps(d), encoding="utf-8")
    line = one_error(cli("regress", "--baseline", baseline, "--current", runs["echo"]))
    assert needle in line and baseline.name in line, line
