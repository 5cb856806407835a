"""The documented Python API (docs/python-api.md): load, evaluate, attack, rank, perturb, augment.

    import xadv
    model, data = xadv.load_model(), xadv.load_data("tydiqa:sw:dev", n=20)
    report = xadv.evaluate(model, data)                          # EvalResult (per-language F1/EM, CIs)
    run = xadv.attack(model, data, "keyboard", results="res")    # RunResult: typed AttackRecords per cell
    board = xadv.build_leaderboard("res")                        # Leaderboard, every number recomputed
    adv = xadv.perturb_dataset(data, "keyboard")                 # datasets.Dataset + `edits` column

A thin layer: every function reaches the same code the CLI runs (`xadv.qa.evaluation.evaluate`,
`xadv.runs.run_suite`, `xadv.leaderboard.build_leaderboard`, `attacks.dataset`, `attacks.augment`), so the
same settings give the same numbers and the same record keys. Each result has `.to_dict()` (the CLI's
`--json`) and `.to_pandas()`. `model` and `data` take a name/path or an already loaded object.
"""

from attacks.augment import Augmented
from attacks.dataset import perturb_dataset
from xadv.api.inputs import load_data, load_model
from xadv.api.jobs import attack, augment, build_leaderboard, evaluate
from xadv.leaderboard import Leaderboard
from xadv.qa.evaluation import EvalReport as EvalResult
from xadv.runs.suite import SuiteRun as RunResult

__all__ = ["Augmented", "EvalResult", "Leaderboard", "RunResult", "attack", "augment", "build_leaderboard",
           "evaluate", "load_data", "load_model", "perturb_dataset"]
