"""`SearchSpec`: the settings of one model-in-the-loop search, checked up front (no TextAttack needed).

What `xadv attack --search ...` parses into and what a results cell records as its `search` field:
the same spec gives the same cell key, so a search cell never collides with a static cell of the same
attack (or with a search under other settings) and re-runs resume like static cells.

    spec = SearchSpec("greedy", goal="f1-below:0.5", budget=200, max_share=0.2)
    run_search(engine, rows, spec, transformation="keyboard", target="question", seed=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xadv.errors import XadvError
from xadv.models.similarity import ENCODER_ID, check_threshold
from xadv.score.criterion import Criterion

from .goals import parse_goal

SEARCHES = ("greedy", "beam", "random")
WIR_METHODS = ("transform", "delete", "unk", "random")


@dataclass(frozen=True)
class SearchSpec:
    """`search`: greedy | beam | random; `goal`: em-flip | f1-below:T | f1-zero; `budget`: model queries
    per example (the clean query included); `max_share`: words of the target the search may change, as
    a share (at least one word); `max_words`: an absolute cap on top; `candidates`: proposals per word
    and family; `beam_width`: beam only; `wir`: greedy's word ranking; `guided`: add the gold-span
    log-probability drop to the score; `max_edit_distance`: characters one word's edit may change;
    `context_window`: only context words this close to an answer."""

    search: str = "greedy"
    goal: str = "em-flip"
    budget: int = 200
    max_share: float = 0.2
    max_words: int | None = None
    candidates: int = 4
    beam_width: int = 4
    wir: str = "transform"
    guided: bool = True
    max_edit_distance: int | None = None
    context_window: int | None = None
    min_similarity: float | None = None  # the perturbed question's me5 similarity floor (xadv.models.similarity)

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise XadvError(f"unknown search {self.search!r} (use {', '.join(SEARCHES)})")
        object.__setattr__(self, "goal", parse_goal(self.goal).name)  # XadvError for a malformed goal
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 2:
            raise XadvError(f"the query budget is model queries per example, the clean query included, so a "
                            f"whole number >= 2; got {self.budget!r}")
        if not isinstance(self.max_share, (int, float)) or not 0.0 < self.max_share <= 1.0:
            raise XadvError(f"the max share of words a search may change must be in (0, 1], got {self.max_share!r}")
        for name, value, low in (("max words changed", self.max_words, 1), ("candidates per word", self.candidates, 1),
                                 ("beam width", self.beam_width, 1),
                                 ("max edit distance per word", self.max_edit_distance, 1),
                                 ("context window", self.context_window, 0)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise XadvError(f"{name} must be a whole number >= {low}, got {value!r}")
        check_threshold(self.min_similarity, "min similarity")
        if self.wir not in WIR_METHODS:
            raise XadvError(f"unknown word-importance ranking {self.wir!r} (use {', '.join(WIR_METHODS)})")

    @property
    def criterion(self) -> Criterion:
        """The goal's ASR criterion: em (em-flip), f1>=T (f1-below:T) or f1>0 (f1-zero)."""
        return parse_goal(self.goal).criterion

    def cell(self) -> dict[str, Any]:
        """What a results cell records (and hashes) as its `search`: every setting that changes outcomes."""
        return {"search": self.search, "goal": self.goal, "budget": self.budget, "max_share": float(self.max_share),
                "max_words": self.max_words, "candidates": self.candidates,
                "beam_width": self.beam_width if self.search == "beam" else None,
                "wir": self.wir if self.search == "greedy" else None, "guided": self.guided,
                "max_edit_distance": self.max_edit_distance, "context_window": self.context_window,
                # only when set, so cells of searches without it keep their keys
                **({"min_similarity": self.min_similarity, "similarity_encoder": ENCODER_ID}
                   if self.min_similarity is not None else {})}

    @classmethod
    def from_mapping(cls, d: dict[str, Any], where: str = "search") -> SearchSpec:
        """From a suite file's `[search]` table (the same names as the fields); XadvError for an unknown key."""
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names)
        if unknown:
            raise XadvError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        return cls(**d)
