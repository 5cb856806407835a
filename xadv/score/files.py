"""Score a predictions file against a gold dataset given by name or path (what `xadv score` runs)."""

from __future__ import annotations

import os

from xadv.score.evaluate import GoldAnswers, ScoreResult, score_predictions
from xadv.score.normalize import Mode
from xadv.score.predictions import read_predictions


def load_gold(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
              lang: str | None = None) -> GoldAnswers:
    """Gold answers and languages of a QA dataset (`tydiqa:bn:dev`, `xquad:zh:test`, a JSON path with
    its `lang`)."""
    from xadv.data import load_qa

    return GoldAnswers.from_dataset(load_qa(name_or_path, data_dir=data_dir, lang=lang))


def score_files(gold: str | os.PathLike, pred: str | os.PathLike, *, mode: Mode = "squad",
                data_dir: str | os.PathLike | None = None, lang: str | None = None) -> ScoreResult:
    """Read and validate `pred` ({id: answer_text}) first (cheap), then load `gold` and score."""
    predictions = read_predictions(pred)
    return score_predictions(load_gold(gold, data_dir, lang), predictions, mode)
