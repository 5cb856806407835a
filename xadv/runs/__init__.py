"""Runs: one versioned JSON record per attack cell, written atomically, found again to resume.

    from xadv.runs import run_attacks, ResultsStore
    store = ResultsStore("xadv-results")
    records = run_attacks(loaded, rows, attacks=["keyboard"], targets=["question"], store=store)

A cell is (model fingerprint, language, attack + parameters + strength, target, seed, data hash,
scorer mode, ASR criterion): the same inputs give the same cell key, so a re-run skips cells already
on disk and an interrupted run loses nothing it finished. See `xadv.runs.record` for the schema.
"""

from xadv.runs.record import SCHEMA, AttackRecord, CellKey, read_record
from xadv.runs.store import ResultsStore

__all__ = ["SCHEMA", "AttackRecord", "CellKey", "ResultsStore", "read_record", "run_attacks"]


def __getattr__(name):  # run_attacks pulls torch-facing modules: import it on first use only
    if name == "run_attacks":
        from xadv.runs.attack import run_attacks

        return run_attacks
    raise AttributeError(name)
