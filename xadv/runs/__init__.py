"""Runs: evaluation jobs and their records (one typed, sealed JSON record per attack cell).

    from xadv.runs import EvalSuite, run_suite
    result = run_suite(EvalSuite(langs=("sw",), attacks=AttackSpec.parse_list("keyboard")))

A cell is (model fingerprint, language, attack + parameters + strength, target, seed, data hash,
scorer mode, ASR criterion, search settings, engine settings): the same inputs give the same cell
key, so a re-run skips cells already on disk and an interrupted run loses nothing it finished.
See `xadv.runs.record` for the record, `xadv.runs.suite` for suites (flags or TOML).
"""

from xadv.runs.attack import CellOutcome, CellSettings, run_attacks
from xadv.runs.record import SCHEMA, AttackRecord, CellKey, load_record, read_record
from xadv.runs.store import ResultsStore, read_records_file, write_run_file
from xadv.runs.suite import EvalSuite, ModelRef, SuiteRun, run_suite

__all__ = ["SCHEMA", "AttackRecord", "CellKey", "CellOutcome", "CellSettings", "EvalSuite", "ModelRef",
           "ResultsStore", "SuiteRun", "load_record", "read_record", "read_records_file", "run_attacks",
           "run_suite", "write_run_file"]
