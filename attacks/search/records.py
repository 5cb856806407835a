"""What a search run reports: one `SearchOutcome` per example and a `SearchRun` around them.

Pure records (no TextAttack): the CLI and `xadv.runs` can read, summarise and write them without
importing the search machinery. The summary uses `xadv.score.compare` on the clean and adversarial
predictions, so clean/adversarial F1 and EM, the drops, ASR with its denominator and the bootstrap
intervals mean exactly what they mean for static attacks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("succeeded", "failed", "skipped")


@dataclass
class SearchOutcome:
    """One example: clean vs adversarial prediction and scores, and what the search spent.

    `status`: succeeded (goal met), failed (budget or candidates exhausted), skipped (the model was
    already wrong on the clean input, so there was nothing to flip). `example` is the adversarial row
    (the clean row when skipped) with answers remapped; `edits` its edit log.
    """

    id: str
    lang: str
    status: str
    clean_prediction: str
    adv_prediction: str
    clean_em: float
    clean_f1: float
    adv_em: float
    adv_f1: float
    clean_gold_logprob: float | None
    adv_gold_logprob: float | None
    queries: int  # spent (TextAttack's count, the clean query included)
    words_changed: int
    words_total: int
    seconds: float
    example: dict = field(repr=False)
    edits: list[dict] = field(default_factory=list, repr=False)
    success_query: int | None = None  # the first query that met the goal: any budget >= it succeeds

    @property
    def success(self) -> bool:
        return self.status == "succeeded"

    @property
    def share_changed(self) -> float:
        return self.words_changed / self.words_total if self.words_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["share_changed"] = self.share_changed
        for k in ("clean_gold_logprob", "adv_gold_logprob"):
            if d[k] is not None and not math.isfinite(d[k]):
                d[k] = None  # JSON has no infinity
        return d


@dataclass
class SearchRun:
    """A search over some examples: its configuration, outcomes, timing and engine counters."""

    config: dict[str, Any]
    outcomes: list[SearchOutcome]
    seconds: float
    engine: dict[str, Any] = field(default_factory=dict)
    mode: str = "squad"

    @property
    def attacked(self) -> list[SearchOutcome]:
        return [o for o in self.outcomes if o.status != "skipped"]

    def summary(self, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        """`xadv.score.compare` aggregates (x100, with CIs) plus the search's own numbers."""
        from xadv.score import GoldAnswers, compare, score_predictions

        from .goals import parse_goal

        out: dict[str, Any] = {"n": len(self.outcomes)}
        if self.outcomes:
            goal = parse_goal(self.config["goal"])
            gold = GoldAnswers.from_rows(o.example for o in self.outcomes)
            clean = score_predictions(gold, {o.id: o.clean_prediction for o in self.outcomes}, self.mode)
            adv = score_predictions(gold, {o.id: o.adv_prediction for o in self.outcomes}, self.mode)
            out.update(compare(clean, adv, criterion=goal.criterion, n_resamples=n_resamples, seed=seed).to_dict())
        attacked = self.attacked
        n = len(self.outcomes)
        out.update({
            "goal": self.config.get("goal"),
            "skipped": n - len(attacked),
            "succeeded": sum(o.success for o in attacked),
            "mean_queries": _mean([o.queries for o in attacked]),
            "mean_queries_to_success": _mean([o.success_query for o in attacked if o.success]),
            "mean_share_changed": _mean([o.share_changed for o in attacked]),
            "mean_share_changed_successful": _mean([o.share_changed for o in attacked if o.success]),
            "seconds": round(self.seconds, 3),
            "seconds_per_example": self.seconds / n if n else None,
            "examples_per_second": n / self.seconds if self.seconds > 0 else None,
        })
        return out

    def asr_at(self, budget: int) -> float | None:
        """ASR (x100) this run would have had with a smaller query budget: searches are deterministic
        and budget-blind until the budget stops them (a cut batch is a prefix of the same batch), so
        an example succeeds with budget b exactly when its first successful query came at or before b."""
        attacked = self.attacked
        if not attacked:
            return None
        won = sum(o.success and o.success_query is not None and o.success_query <= budget for o in attacked)
        return 100.0 * won / len(attacked)

    def adversarial_rows(self, successful_only: bool = False) -> list[dict]:
        """The adversarial examples as data-layer rows (same ids, answers remapped)."""
        return [o.example for o in self.outcomes if o.success or not successful_only]

    def write_squad(self, path: str | Path, successful_only: bool = False) -> Path:
        """The adversarial examples as SQuAD v1.1 JSON: re-score them or reuse them as a static set."""
        from xadv.data import write_squad

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_squad(self.adversarial_rows(successful_only), path)
        return path

    def to_dict(self, per_example: bool = True, n_resamples: int = 1000) -> dict[str, Any]:
        out = {"config": self.config, "mode": self.mode, "summary": self.summary(n_resamples),
               "engine": self.engine}
        if per_example:
            out["outcomes"] = [o.to_dict() for o in self.outcomes]
        return out


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None
