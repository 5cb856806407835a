"""`RandomSampling`: the baseline a search must beat, the same perturbation applied at random.

Each draw perturbs as many randomly chosen eligible words as the constraints allow (the maximum
share), each with a random candidate of the same transformation, starting from the clean example;
draws are evaluated in small batches until one succeeds or the query budget is spent. It sees the
same transformation, constraints and budget as the guided searches, but no model feedback.
"""

from __future__ import annotations

import random

from .bootstrap import ensure_textattack

ensure_textattack()

from textattack.goal_function_results import GoalFunctionResultStatus
from textattack.search_methods import SearchMethod


class RandomSampling(SearchMethod):
    def __init__(self, seed: int = 0, batch: int = 8, max_words: int | None = None):
        self.seed = seed
        self.batch = batch
        self.max_words = max_words  # None: until the constraints allow no more

    def perform_search(self, initial_result):
        from attacks.base import make_rng

        start = initial_result.attacked_text
        rng = make_rng(self.seed, start.row["id"], "random-search")
        best = initial_result
        _, eligible = self.get_indices_to_order(start)
        eligible = sorted(eligible)
        if not eligible:
            return best
        misses = 0
        while True:
            draws = []
            for _ in range(self.batch):
                text = self._draw(start, eligible, rng)
                if text is not None:
                    draws.append(text)
            if not draws:
                misses += 1
                if misses >= 3:
                    return best
                continue
            results, search_over = self.get_goal_results(draws)
            for r in results:
                if r.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                    return r
                if r.score > best.score:
                    best = r
            if search_over or not results:
                return best

    def _draw(self, start, eligible: list[int], rng: random.Random):
        text, order = start, eligible[:]
        rng.shuffle(order)
        changed = 0
        for i in order:
            if self.max_words is not None and changed >= self.max_words:
                break
            cands = self.get_transformations(text, original_text=start, indices_to_modify=[i])
            if not cands:
                if not self.get_indices_to_order(text)[1]:
                    break  # the constraints allow no more words
                continue
            text = cands[rng.randrange(len(cands))]
            changed += 1
        return text if changed else None

    @property
    def is_black_box(self) -> bool:
        return True

    def extra_repr_keys(self):
        return ["seed", "batch"]
