"""Fuzz corpus for the data and score layers: what a fuzzing pass found, kept as regression tests, plus
generated malformed SQuAD, predictions and manifest files.

Every case goes through the command line and must end one of two ways: a correct result, or exit code 2
with exactly one line on stderr starting `error:` (never a traceback, a hang or a quietly wrong number).
Most cases run in-process (typer's CliRunner, where an unexpected exception fails the test with its
traceback); a few run `python -m cli` in a subprocess under a timeout, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cli
from xadv.data import read_squad, to_squad
from xadv.errors import DataError

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
runner = CliRunner()

# XADV_FUZZ_SCALE=10 runs ten times as many generated cases (a longer hunt than the suite's ~60 s budget).
SCALE = float(os.environ.get("XADV_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


# --------------------------------------------------------------------------- helpers


def invoke(*args) -> tuple[int, str, str]:
    """Run the CLI in-process; an exception other than the exit is a bug and fails the test as itself."""
    result = runner.invoke(cli.app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def invoke_subprocess(*args) -> tuple[int, str, str]:
    """`python -m cli ARGS` from the repository root, as a user runs it (a hang fails after TIMEOUT_S)."""
    proc = subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=REPO, capture_output=True,
                          timeout=TIMEOUT_S, env={**os.environ, "COLUMNS": "200"})
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def assert_one_line_error(outcome: tuple[int, str, str], *needles: str) -> str:
    code, out, err = outcome
    assert code == 2, f"exit {code}, stdout {out[-500:]!r}, stderr {err[-1500:]!r}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n") and lines[0].startswith("error: "), err[-1500:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def squad(*paragraphs: tuple[str, list[dict]], title: str = "t") -> dict:
    return {"version": "1.1", "data": [{"title": title, "paragraphs": [
        {"context": context, "qas": qas} for context, qas in paragraphs]}]}


def qa(qid: str, question: str, *answers: tuple[object, object]) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers]}


def write_json(path: Path, obj, raw: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else json.dumps(obj).encode("utf-8"))  # ASCII: "\ud800" survives
    return path


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def score_json(gold: Path | str, pred: Path) -> tuple[int, str, str]:
    return invoke("score", "--gold", gold, "--pred", pred, "--bootstrap", "0", "--json")


def data_dir_with(root: Path, obj=None, raw: bytes | None = None, manifest: bytes | None = None) -> Path:
    """A data directory holding one TyDi-named dev file (and a MANIFEST.tsv when given)."""
    write_json(root / "tydiqa_goldp" / "tydiqa.goldp.sw.dev.json", obj, raw)
    if manifest is not None:
        (root / "MANIFEST.tsv").write_bytes(manifest)
    return root


GOOD = squad(("Zanzibar ilipata uhuru 1963.", [qa("q1", "Lini?", ("1963", 23))]))


# --------------------------------------------------------------------------- 1. blank gold answers


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\u3000", "\u00a0", "\u200b", " \u200d "])
@pytest.mark.parametrize("start", [0, 3, 999])
def test_blank_gold_answer_is_rejected_naming_the_example(tmp_path, text, start):
    gold = write_json(tmp_path / "gold.json", squad(("hello world", [qa("q-blank", "what?", (text, start))])))
    pred = write_json(tmp_path / "pred.json", {"q-blank": text})  # would have been a free exact match
    line = assert_one_line_error(score_json(gold, pred), "example q-blank", "empty or blank")
    assert str(gold) in line


def test_blank_answer_among_good_ones_is_rejected(tmp_path):
    gold = write_json(tmp_path / "gold.json", squad(("hello world", [
        qa("q1", "what?", ("hello", 0)), qa("q2", "and?", ("world", 6), ("", 11))])))
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {})), "example q2")


def test_blank_answer_is_a_verify_problem(tmp_path):
    root = data_dir_with(tmp_path / "d", squad(("hello world", [qa("q1", "what?", ("", 40))])))
    code, out, err = invoke("data", "verify", "--data-dir", root, "--json")
    assert code == 1 and "Traceback" not in err
    [check] = json.loads(out)["files"]
    assert not check["ok"] and "example q1" in check["problems"][0] and "blank" in check["problems"][0]


# --------------------------------------------------------------------------- 2. perturb writes valid offsets


def test_perturb_refuses_a_blank_answer_past_the_end(tmp_path):
    """The fuzzer's case: "" at 999 in an 11-character context came out of `perturb` at 1000."""
    data = write_json(tmp_path / "in.sw.json", squad(("hello world", [qa("q1", "what?", ("", 999))])))
    out = tmp_path / "out.json"
    assert_one_line_error(invoke_subprocess("perturb", "--data", data, "--attack", "typo", "--target", "context",
                                            "--strength", "0.9", "--out", out), "example q1")
    assert not out.exists()


@pytest.mark.parametrize(("text", "start", "needle"), [
    ("", 40, "blank"), ("world", 7, "outside the context"), ("world", -1, "outside the context"),
    ("world", 2**31, "outside the context"), ("world", True, "must be int"), ("world", 6.0, "must be int"),
    ("wor\ud800", 6, "lone surrogate"),
])
def test_to_squad_never_writes_an_unusable_answer(text, start, needle):
    row = {"id": "q1", "lang": "sw", "title": "t", "context": "hello world", "question": "what?",
           "answers": {"text": [text], "answer_start": [start]}}
    with pytest.raises(DataError, match=needle):
        to_squad([row])


def test_to_squad_refuses_a_lone_surrogate_in_the_context():
    row = {"id": "q1", "lang": "sw", "title": "t", "context": "hello \ud800world", "question": "what?",
           "answers": {"text": ["hello"], "answer_start": [0]}}
    with pytest.raises(DataError, match="example q1: 'context' holds a lone surrogate"):
        to_squad([row])


# --------------------------------------------------------------------------- 3. offsets and lone surrogates


BAD_STARTS = [(2**31, "outside the context"), (2**31 - 1, "outside the context"), (2**63, "outside the context"),
              (10**30, "outside the context"), (-1, "outside the context"), (True, "must be int"),
              (False, "must be int"), (3.0, "must be int"), ("6", "must be int"), (None, "must be int")]


@pytest.mark.parametrize(("start", "needle"), BAD_STARTS)
def test_bad_answer_start_fails_verify_and_every_loader_alike(tmp_path, start, needle):
    doc = squad(("hello world", [qa("q1", "what?", ("world", start))]))
    gold = write_json(tmp_path / "gold.json", doc)
    load_error = assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {})), needle)
    root = data_dir_with(tmp_path / "d", doc)
    code, out, err = invoke("data", "verify", "--data-dir", root, "--json")
    assert code == 1 and "Traceback" not in err
    [check] = json.loads(out)["files"]
    problem = check["problems"][0]
    assert needle in problem and problem.split(": ", 1)[1] == load_error.split(": ", 2)[2]  # one check, one text


@pytest.mark.parametrize("where", ["question", "context", "answer", "title", "id"])
def test_lone_surrogate_fails_verify_and_loaders_alike(tmp_path, where):
    context, question, answer, title, qid = "hello world", "what?", "world", "t", "q1"
    if where == "question":
        question = "wh\ud800at?"
    elif where == "context":
        context = "hello world \ud800"
    elif where == "answer":
        context, answer = "hello wor\udc00ld", "wor\udc00ld"
    elif where == "title":
        title = "\udbff"
    else:
        qid = "q\ud800"
    doc = squad((context, [qa(qid, question, (answer, 6))]), title=title)
    gold = write_json(tmp_path / "gold.json", doc)
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {})), "lone surrogate")
    code, out, err = invoke("data", "verify", "--data-dir", data_dir_with(tmp_path / "d", doc), "--json")
    assert code == 1 and "lone surrogate" in json.loads(out)["files"][0]["problems"][0]


def test_lone_surrogate_in_a_real_process(tmp_path):
    """Printed by a real interpreter (strict stdout, backslashreplace stderr), not only by CliRunner."""
    gold = write_json(tmp_path / "gold.json", squad(("hello \ud800world", [qa("q1", "what?", ("hello", 0))])))
    pred = write_json(tmp_path / "p.json", {"q1": "hello"})
    assert_one_line_error(invoke_subprocess("score", "--gold", gold, "--pred", pred), "U+D800")


# --------------------------------------------------------------------------- 4. no questions


@pytest.mark.parametrize("doc", [
    {"data": []},
    {"version": "1.1", "data": [{"title": "t", "paragraphs": []}]},
    squad(("hello world", [])),
], ids=["no-articles", "no-paragraphs", "no-qas"])
def test_gold_without_questions_is_an_error_not_zero(tmp_path, doc):
    gold = write_json(tmp_path / "gold.json", doc)
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {"q1": "x"})),
                          f"no questions in {gold}")


# --------------------------------------------------------------------------- 5. duplicate keys


@pytest.mark.parametrize("raw", [
    b'{"q1": "1963", "q1": "1964"}',
    b'{"q1": "1963", "q2": "a", "q1": "1963"}',
    b'{"q1": "1963", "q\\u0031": "x"}',  # the same key, spelt with an escape
])
def test_duplicate_prediction_id_is_rejected_naming_it(tmp_path, raw):
    gold = write_json(tmp_path / "gold.json", GOOD)
    pred = write_json(tmp_path / "p.json", None, raw)
    assert_one_line_error(score_json(gold, pred), "'q1' appears twice")


def test_duplicate_key_in_gold_is_rejected(tmp_path):
    raw = json.dumps(GOOD).replace('"context": ', '"context": "other", "context": ', 1).encode()
    gold = write_json(tmp_path / "gold.json", None, raw)
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {})), "'context' appears twice")


# --------------------------------------------------------------------------- 6. deep nesting


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deep_predictions(tmp_path):
    gold = write_json(tmp_path / "gold.json", GOOD)
    pred = write_json(tmp_path / "p.json", None, DEEP)
    assert_one_line_error(invoke_subprocess("score", "--gold", gold, "--pred", pred), "nested too deeply")


DEEP_OBJECTS = b'{"x": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001


@pytest.mark.parametrize("raw", [DEEP, b'{"data": ' + DEEP + b"}", DEEP_OBJECTS], ids=["lists", "in-data", "objects"])
def test_deep_gold(tmp_path, raw):
    gold = write_json(tmp_path / "gold.json", None, raw)
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", {})), "nested too deeply")


def test_deep_data_file_in_list_and_verify(tmp_path):
    root = data_dir_with(tmp_path / "d", None, DEEP)
    assert_one_line_error(invoke("data", "list", "--data-dir", root), "nested too deeply")
    code, out, err = invoke("data", "verify", "--data-dir", root, "--json")
    assert code == 1 and "nested too deeply" in json.loads(out)["files"][0]["problems"][0]


def test_deep_run_file_and_record(tmp_path):
    run = write_json(tmp_path / "run.json", None, b'{"schema": "xadv.attack-run/1", "records": ' + DEEP + b"}")
    assert_one_line_error(invoke_subprocess("leaderboard", "--results", run), "nested too deeply")
    results = tmp_path / "results"
    write_json(results / "m.sw.keyboard.context.s0.abc.json", None, DEEP)
    assert_one_line_error(invoke("leaderboard", "--results", results), "nested too deeply")


def test_deep_regress_baseline(tmp_path):
    baseline = write_json(tmp_path / "baseline.json", None, DEEP)
    (tmp_path / "results").mkdir()
    assert_one_line_error(invoke("regress", "--baseline", baseline, "--current", tmp_path / "results"),
                          str(baseline), "nested too deeply")


@pytest.mark.parametrize("raw", [b'{"q1": "a"', b"\xff\xfe{}", b'{"q1": "caf\xe9"}', b""])
def test_unreadable_predictions(tmp_path, raw):
    gold = write_json(tmp_path / "gold.json", GOOD)
    assert_one_line_error(score_json(gold, write_json(tmp_path / "p.json", None, raw)), "p.json")


# --------------------------------------------------------------------------- 7. binary manifest


@pytest.mark.parametrize("manifest", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00",
    "dataset\tlanguage\tsplit\tfile\texamples\tsha256\ntydiqa_goldp\tsw\tdev\tcaf\xe9\t1\tab\n".encode("latin-1"),
    b"dataset\tlanguage\tsplit\tfile\texamples\tsha256\ntydiqa_goldp\tsw\tdev\n",
    b"dataset\tlanguage\tsplit\tfile\texamples\tsha256\ntydiqa_goldp\tsw\tdev\tx\tmany\tab\n",
    b"dataset\tlanguage\n",
])
def test_bad_manifest_is_one_line(tmp_path, manifest):
    root = data_dir_with(tmp_path / "d", GOOD, manifest=manifest)
    assert_one_line_error(invoke("data", "verify", "--data-dir", root), "MANIFEST.tsv")


def test_binary_manifest_in_a_real_process(tmp_path):
    root = data_dir_with(tmp_path / "d", GOOD, manifest=bytes(range(256)) * 4)
    assert_one_line_error(invoke_subprocess("data", "verify", "--data-dir", root), "MANIFEST.tsv", "not UTF-8")


# --------------------------------------------------------------------------- generated files

ALPHABET = "abc XYZ éß ЖЛ ابت ক্ষ 1,."
NASTY = st.sampled_from([
    "", " ", "\t\n", "\u3000", "\u200b", "\ud800", "a\udfffb", "x", "hello",
    0, 1, -1, 5, 2**31 - 1, 2**31, 2**63, 10**40, True, False, None, 1.0, 1.5, float("nan"),
    "3", [], {}, [["x"]], {"text": "x"},
])


@st.composite
def squad_docs(draw) -> dict:
    """Valid SQuAD v1.1 documents: answers are slices of their contexts (maybe blank ones: invalid)."""
    n = 0
    data = []
    for ai in range(draw(st.integers(1, 2))):
        paragraphs = []
        for _ in range(draw(st.integers(1, 2))):
            context = draw(st.text(ALPHABET, min_size=1, max_size=40))
            qas = []
            for _ in range(draw(st.integers(1, 3))):
                n += 1
                answers = []
                for _ in range(draw(st.integers(1, 2))):
                    start = draw(st.integers(0, len(context) - 1))
                    end = draw(st.integers(start + 1, min(len(context), start + 12)))
                    answers.append({"text": context[start:end], "answer_start": start})
                qas.append({"id": f"q{n}", "question": draw(st.text(ALPHABET, min_size=1, max_size=20)),
                            "answers": answers})
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"t{ai}", "paragraphs": paragraphs})
    return {"version": "1.1", "data": data}


def _containers(doc) -> list[tuple[dict, tuple[str, ...]]]:
    """(object, its keys) at every level of a (maybe already mutated) document, for a mutation to pick."""
    levels = (("data", "version"), ("title", "paragraphs"), ("context", "qas"), ("id", "question", "answers"),
              ("text", "answer_start"))
    children = ("data", "paragraphs", "qas", "answers")
    out: list[tuple[dict, tuple[str, ...]]] = []

    def walk(obj, depth: int) -> None:
        if not isinstance(obj, dict) or depth >= len(levels):
            return
        out.append((obj, levels[depth]))
        if depth < len(children) and isinstance(obj.get(children[depth]), list):
            for child in obj[children[depth]]:
                walk(child, depth + 1)

    walk(doc, 0)
    return out


@st.composite
def mutated_docs(draw) -> dict:
    """A valid document with 0-3 mutations: a field set to a nasty value, a key deleted, an id duplicated,
    an offset shifted, a list emptied."""
    doc = draw(squad_docs())
    for _ in range(draw(st.integers(0, 3))):
        obj, keys = draw(st.sampled_from(_containers(doc)))
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["set", "set", "delete", "shift", "empty", "dup-id"]))
        if action == "set":
            obj[key] = draw(NASTY)
        elif action == "delete":
            obj.pop(key, None)
        elif action == "shift" and isinstance(obj.get("answer_start"), int):
            obj["answer_start"] += draw(st.sampled_from([-2, -1, 1, 2, 50]))
        elif action == "empty" and isinstance(obj.get(key), list):
            obj[key] = []
        elif action == "dup-id" and "id" in obj:
            obj["id"] = "q1"
    return doc


def reference_questions(obj, scoring: bool = True) -> list[tuple[str, str | None]] | None:
    """Written from the format's rules, not from xadv: (id, first answer) per question when `obj` is a
    valid SQuAD file with at least one question, None when xadv must refuse it. Scoring also needs every
    question to have an answer (perturbing does not)."""
    def text(v) -> bool:
        return isinstance(v, str) and not has_surrogate(v)

    def blank(t: str) -> bool:
        return all(ch.isspace() or ch in ZERO_WIDTH for ch in t)

    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        return None
    out: list[tuple[str, str]] = []
    for article in obj["data"]:
        if not (isinstance(article, dict) and text(article.get("title"))
                and isinstance(article.get("paragraphs"), list)):
            return None
        for para in article["paragraphs"]:
            if not (isinstance(para, dict) and text(para.get("context")) and isinstance(para.get("qas"), list)):
                return None
            context = para["context"]
            for q in para["qas"]:
                if not (isinstance(q, dict) and text(q.get("id")) and text(q.get("question"))
                        and isinstance(q.get("answers"), list) and (q["answers"] or not scoring)):
                    return None
                if q["id"] in {i for i, _ in out}:
                    return None
                for a in q["answers"]:
                    if not (isinstance(a, dict) and text(a.get("text")) and type(a.get("answer_start")) is int):
                        return None
                    t, s = a["text"], a["answer_start"]
                    if blank(t) or not (0 <= s and s + len(t) <= len(context) and context[s:s + len(t)] == t):
                        return None
                out.append((q["id"], q["answers"][0]["text"] if q["answers"] else None))
    return out or None


def _strict_loads(raw: bytes):
    def pairs(items):
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(items)

    return json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)


def _check_score(tmp_path: Path, raw: bytes) -> None:
    gold = write_json(tmp_path / "gold.json", None, raw)
    try:
        expected = reference_questions(_strict_loads(raw))
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        expected = None
    pred = write_json(tmp_path / "pred.json", dict(expected or []))
    outcome = score_json(gold, pred)
    event(f"exit {outcome[0]}")
    if expected is None:
        assert_one_line_error(outcome)
        return
    code, out, err = outcome
    assert code == 0, (code, err)
    result = json.loads(out)
    assert result["n"] == len(expected) and result["exact_match"] == 100.0
    assert result["missing"] == 0 and result["unknown"] == 0


@fuzz(60)
@given(doc=mutated_docs())
def test_generated_gold_scores_right_or_fails_in_one_line(tmp_path, doc):
    _check_score(tmp_path, json.dumps(doc).encode("utf-8"))


@st.composite
def mangled_bytes(draw, base: bytes) -> bytes:
    """`base` with one byte-level mutation: truncated, bytes inserted or replaced, a key doubled, nesting."""
    pos = draw(st.integers(0, len(base)))
    kind = draw(st.sampled_from(["truncate", "insert", "replace", "dup-key", "nest"]))
    if kind == "truncate":
        return base[:pos]
    if kind == "insert":
        return base[:pos] + draw(st.binary(min_size=1, max_size=4)) + base[pos:]
    if kind == "replace":
        return base[:pos] + draw(st.binary(min_size=1, max_size=2)) + base[pos + 1:]
    if kind == "dup-key":
        key = draw(st.sampled_from([b'"title": ', b'"context": ', b'"id": ', b'"answer_start": ', b'"q1": ']))
        return base.replace(key, key + b'"x", ' + key, 1)
    depth = draw(st.sampled_from([10, 900, 5000]))
    return base.replace(b"[", b"[" * depth, 1).replace(b"]", b"]" * depth, 1) if b"[" in base else b"[" * depth


@fuzz(60)
@given(data=st.data(), doc=squad_docs(), ascii_only=st.booleans())
def test_mangled_gold_bytes_score_right_or_fail_in_one_line(tmp_path, data, doc, ascii_only):
    raw = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8")
    _check_score(tmp_path, data.draw(mangled_bytes(raw)))


GOLD_ANSWERS = {"q1": "alpha", "q2": "beta gamma", "q3": "delta"}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(["\ud800", "x\udc00", ""]) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8)
PRED_TEXTS = st.sampled_from(list(GOLD_ANSWERS.values())) | st.text("xyz !.\u0301\u200b", max_size=6)
PRED_KEYS = st.sampled_from([*GOLD_ANSWERS] * 3 + ["\ud800", "q\udfff"]) | st.text(max_size=6)
PRED_FILES = st.dictionaries(PRED_KEYS, st.one_of(PRED_TEXTS, PRED_TEXTS, PRED_TEXTS, JSON_VALUES), max_size=5)


def _gold_file(tmp_path: Path) -> Path:
    context = " ".join(GOLD_ANSWERS.values())
    qas = [qa(i, "?", (a, context.index(a))) for i, a in GOLD_ANSWERS.items()]
    return write_json(tmp_path / "gold.json", squad((context, qas)))


def _check_predictions(tmp_path: Path, raw: bytes) -> None:
    try:
        preds = _strict_loads(raw)
    except (ValueError, RecursionError):
        preds = None
    ok = (isinstance(preds, dict) and all(isinstance(v, str) for v in preds.values())
          and not any(has_surrogate(k) or has_surrogate(v) for k, v in preds.items()))
    outcome = score_json(_gold_file(tmp_path), write_json(tmp_path / "pred.json", None, raw))
    event(f"exit {outcome[0]}")
    if not ok:
        assert_one_line_error(outcome, "pred.json")
        return
    code, out, err = outcome
    assert code == 0, (code, err)
    result = json.loads(out)
    hits = sum(preds.get(i) == a for i, a in GOLD_ANSWERS.items())
    assert result["n"] == 3 and result["exact_match"] == pytest.approx(100 * hits / 3)
    assert result["missing"] == sum(i not in preds for i in GOLD_ANSWERS)
    assert result["unknown"] == sum(k not in GOLD_ANSWERS for k in preds)


@fuzz(60)
@given(preds=st.one_of(PRED_FILES, PRED_FILES, PRED_FILES, JSON_VALUES))
def test_generated_predictions_score_right_or_fail_in_one_line(tmp_path, preds):
    _check_predictions(tmp_path, json.dumps(preds).encode("utf-8"))


@fuzz(60)
@given(data=st.data(), preds=st.dictionaries(PRED_KEYS, PRED_TEXTS, max_size=4))
def test_mangled_prediction_bytes_score_right_or_fail_in_one_line(tmp_path, data, preds):
    _check_predictions(tmp_path, data.draw(mangled_bytes(json.dumps(preds).encode("utf-8"))))


MANIFEST_HEADER = b"dataset\tlanguage\tsplit\tfile\texamples\tsha256\n"


FIELD = st.text(st.characters(codec="utf-8", exclude_characters="\t\r\n\x00"), max_size=8)
MANIFEST_ROWS = st.lists(st.tuples(st.sampled_from(["tydiqa_goldp", "xnli", "x"]), st.sampled_from(["sw", "zz", ""]),
                                   st.sampled_from(["dev", "train"]),
                                   st.sampled_from(["tydiqa_goldp/tydiqa.goldp.sw.dev.json", "nope.tsv", "", "."])
                                   | FIELD, st.sampled_from(["1", "1", "0", "-1", "x", ""]), FIELD)
                         .map(lambda row: "\t".join(row).encode("utf-8") + b"\n"), max_size=3).map(b"".join)


@fuzz(40)
@given(body=st.one_of(MANIFEST_ROWS, MANIFEST_ROWS, st.binary(max_size=80),
                      st.text(max_size=60).map(lambda t: t.encode("utf-8"))),
       header=st.sampled_from([True, True, True, False]))
def test_generated_manifest_verifies_or_fails_in_one_line(tmp_path, body, header):
    root = tmp_path / "d"
    data_dir_with(root, GOOD, manifest=(MANIFEST_HEADER if header else b"") + body)
    code, out, err = outcome = invoke("data", "verify", "--data-dir", root, "--json")
    event(f"exit {code}")
    try:
        (MANIFEST_HEADER + body).decode("utf-8")
    except UnicodeDecodeError:
        assert_one_line_error(outcome, "not UTF-8")
        return
    if code == 2:
        assert_one_line_error(outcome, "MANIFEST.tsv")
    else:
        assert code in (0, 1) and "Traceback" not in err
        assert json.loads(out)["files"]


PERTURB_ATTACKS = st.sampled_from(["typo", "char-noise", "char-delete", "invisible", "homoglyph",
                                   "word-delete", "word-swap", "sentence-reorder", "distractor",
                                   "typo+word-swap"])


@fuzz(50)
@given(doc=mutated_docs(), attack=PERTURB_ATTACKS, target=st.sampled_from(["context", "both"]),
       strength=st.sampled_from([0.2, 1.0]), seed=st.integers(0, 3))
def test_perturb_writes_valid_offsets_or_fails_in_one_line(tmp_path, doc, attack, target, strength, seed):
    data = write_json(tmp_path / "in.sw.json", doc)
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    outcome = invoke("perturb", "--data", data, "--attack", attack, "--target", target,
                     "--strength", strength, "--seed", seed, "--out", out, "--json")
    event(f"exit {outcome[0]}")
    if outcome[0] != 0:
        assert_one_line_error(outcome)
        assert not out.exists()
        return
    expected = reference_questions(doc, scoring=False)
    assert expected is not None  # only a valid input is perturbed
    written = json.loads(out.read_text(encoding="utf-8"))
    assert reference_questions(written, scoring=False) == expected, written  # offsets inside, at the same texts
    assert len(read_squad(out)) == len(expected)
