"""The attack record is typed, versioned and described by a committed JSON Schema: records the code writes
validate against it, every committed record (benchmarks/results) loads unchanged, round-trips through the
dataclasses byte for byte and is read by the leaderboard; the ASR criterion has one spelling."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attacks.spec import AttackSpec
from xadv.errors import XadvError
from xadv.leaderboard import build_leaderboard
from xadv.runs import AttackRecord, ResultsStore, load_record, read_record
from xadv.runs.attack import CellSettings, run_attacks
from xadv.runs.record import record_digest
from xadv.score.criterion import Criterion
from xadv.testing import StubModel

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "docs" / "schema" / "attack-record-2.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
RUN_FILES = sorted((REPO / "benchmarks" / "results").glob("bench_search_cli_*_n200.json"))
RUN_FILES = [p for p in RUN_FILES if json.loads(p.read_text(encoding="utf-8")).get("schema") == "xadv.attack-run/1"]
EXPERIMENT = REPO / "benchmarks" / "results" / "experiment" / "small" / "records.json.gz"


def assert_valid(record: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(record), key=lambda e: list(e.path))
    assert not errors, f"{list(errors[0].path)}: {errors[0].message[:300]}"


def _committed() -> list[dict]:
    records = [r for p in RUN_FILES for r in json.loads(p.read_text(encoding="utf-8"))["records"]]
    with gzip.open(EXPERIMENT, "rt", encoding="utf-8") as fh:
        records += json.load(fh)["records"]
    return records


def test_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_committed_record_validates_and_round_trips_unchanged():
    records = _committed()
    assert len(records) >= 500 and len(RUN_FILES) == 2
    for rec in records:
        assert_valid(rec)
        typed = AttackRecord.from_dict(rec)
        assert typed.to_dict() == rec  # same fields, same digest: reading never re-seals
        assert rec["digest"] == record_digest(rec)


@pytest.mark.parametrize("source", [*RUN_FILES, "experiment"], ids=lambda p: getattr(p, "name", p))
def test_leaderboard_reads_every_committed_source_without_failing_flags(source, tmp_path):
    if source == "experiment":
        path = tmp_path / "records.json"
        with gzip.open(EXPERIMENT, "rt", encoding="utf-8") as fh:
            path.write_text(fh.read(), encoding="utf-8")
        source = path
    board = build_leaderboard(source, n_resamples=0)
    assert board.rows and not [e for e in board.entries if e.failing]




@pytest.mark.needs_data
def test_a_record_the_code_writes_validates_and_reloads(data_dir, tok, tmp_path):
    from xadv.data import load_qa
    from xadv.qa.engine import EngineConfig, QAEngine
    from xadv.testing import SpanOracle

    rows = list(load_qa("tydiqa:sw:dev", data_dir))[:6]
    spans = {(r["question"], r["context"]): (r["answers"]["answer_start"][0],
                                             r["answers"]["answer_start"][0] + len(r["answers"]["text"][0]))
             for r in rows}
    engine = QAEngine(SpanOracle(tok, spans), tok, "oracle-sw", EngineConfig(num_threads=1))
    settings = CellSettings(attacks=AttackSpec.parse_list("typo,distractor"), n_resamples=50,
                            criterion=Criterion.f1_at_least(0.5))
    cells = run_attacks(StubModel("oracle", "oracle-sw"), rows, settings, engine=engine, store=ResultsStore(tmp_path))
    assert [(c.attack, c.target) for c in cells] == [("keyboard", "question"), ("distractor", "context")]
    for cell in cells:
        raw = read_record(cell.path)
        assert_valid(raw)
        assert raw["schema"] == "xadv.attack-record/2" and raw["criterion"] == "f1>=0.5"
        assert raw["env"]["threads"] == 1 and raw["env"]["packages"]["torch"]
        assert load_record(cell.path) == cell.record


def test_unknown_record_versions_are_one_line_errors(tmp_path):
    rec = _committed()[0]
    for schema, message in (("xadv.attack-record/9", "version 'xadv.attack-record/9' is not readable"),
                            ("something-else", "not an xadv attack record")):
        path = tmp_path / "r.json"
        path.write_text(json.dumps({**rec, "schema": schema}), encoding="utf-8")
        with pytest.raises(XadvError) as exc:
            read_record(path)
        assert message in str(exc.value) and "\n" not in str(exc.value)
    broken = {**rec, "summary": "not a summary"}
    with pytest.raises(XadvError, match="malformed summary"):
        AttackRecord.from_dict(broken)


@given(st.one_of(st.just(Criterion.exact_match()), st.just(Criterion.f1_positive()),
                 st.floats(min_value=1e-6, max_value=1.0).map(Criterion.f1_at_least)))
def test_criterion_round_trips_through_its_one_parser(criterion):
    text = criterion.format()
    assert Criterion.parse(text) == criterion and Criterion.parse(text).format() == text


@pytest.mark.parametrize("text", ["em", "f1>0", "f1>=0.5", "f1>=1", "f1>=0.25"])
def test_canonical_criterion_strings_round_trip(text):
    assert Criterion.parse(text).format() == text


def test_criterion_legacy_spelling_and_bad_input():
    assert Criterion.parse("f1>=1e-09") == Criterion.f1_positive()  # version 1 records
    for bad in ("f1>0.5", "f1>=0", "f1>=1.5", "f1>=nan", "EM", "", "f1 >= 0.5"):
        with pytest.raises(XadvError, match="unknown ASR criterion"):
            Criterion.parse(bad)
