"""Scoring: answer normalisation, EM/F1, clean-vs-adversarial comparison, ASR and bootstrap CIs.

Modes: ``squad`` is the official SQuAD v1.1 evaluation (numbers comparable with published TyDi
QA GoldP results); ``mlqa`` is the official MLQA evaluation (its seven languages only);
``multilingual`` normalises every script alike (see `xadv.score.normalize`).
Import-light: numpy only.
"""

from xadv.score.bootstrap import PairedTest, mean_ci, paired_bootstrap, result_ci
from xadv.score.compare import Comparison, compare, correct, worst_case
from xadv.score.criterion import Criterion
from xadv.score.evaluate import GoldAnswers, ScoreResult, score_predictions
from xadv.score.normalize import MODES, normalize
from xadv.score.predictions import read_predictions, validate_predictions

__all__ = [
    "MODES", "Comparison", "Criterion", "GoldAnswers", "PairedTest", "ScoreResult", "compare", "correct",
    "mean_ci", "normalize", "paired_bootstrap", "read_predictions", "result_ci",
    "score_predictions", "validate_predictions", "worst_case",
]
