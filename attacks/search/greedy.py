"""`GreedyWIR`: TextAttack's greedy word-importance search, made to spend its budget where it matters.

TextAttack's `GreedyWordSwapWIR` ranks the words, then walks them in that order, evaluating *all*
candidates of a word and *committing* the best one whenever it improves the score. Under a word
allowance (at most k words changed) and a query budget that wastes most of the budget:

1. once k improving-but-unsuccessful edits are committed every other word is blocked and the search
   ends early (measured on TyDi sw questions, k = 1: 12 of 100 queries used);
2. all candidates of the top-ranked word are spent before the second word is tried, so a noisy
   ranking sinks the search (16 typos per word: random single-word typos found more flips);
3. ranking by deletion (`wir="delete"`, one query per word with that word deleted) spends a query per
   word on texts that can never be the answer.

`GreedyWIR` therefore (a) ranks each word by the goal score of its first candidate (`wir="transform"`,
the default: same cost, but every ranking query is a real attempt that may already succeed);
(b) commits the best candidate of each word in rank order, classic greedy, only while at least one
more word may follow; (c) fills the last allowed word breadth-first: in rounds, one more candidate of
every remaining word, words ordered by the best score seen so far, one batched query per round, until
success, the budget or the candidates run out. With k = 1 (a short question) this is (a) then (c).
"""

from __future__ import annotations

from collections.abc import Callable

from .bootstrap import ensure_textattack

ensure_textattack()

from textattack.goal_function_results import GoalFunctionResultStatus
from textattack.search_methods import GreedyWordSwapWIR

SUCCEEDED = GoalFunctionResultStatus.SUCCEEDED


class GreedyWIR(GreedyWordSwapWIR):
    def __init__(self, limit: Callable[[object], int], wir_method: str = "transform"):
        super().__init__(wir_method="delete" if wir_method == "transform" else wir_method)
        self.wir_method = wir_method
        self.limit = limit  # words a text may have changed (the MaxShareChanged constraint's limit)

    def _rank_by_candidates(self, initial):
        """(word order, the first-candidate results by word, best success or None, search_over)."""
        _, indices = self.get_indices_to_order(initial)
        probes, owners = [], []
        for i in sorted(indices):
            cands = self.get_transformations(initial, original_text=initial, indices_to_modify=[i])
            if cands:
                probes.append(cands[0])
                owners.append(i)
        results, search_over = self.get_goal_results(probes) if probes else ([], False)
        tried = dict(zip(owners, results))
        won = [r for r in results if r.goal_status == SUCCEEDED]
        order = sorted(tried, key=lambda i: -tried[i].score)  # stable: ties keep word order
        order += [i for i in owners if i not in tried]  # cut off by the budget: unranked, last
        return order, tried, (max(won, key=lambda r: r.score) if won else None), search_over

    def perform_search(self, initial_result):
        initial = initial_result.attacked_text
        tried: dict = {}
        if self.wir_method == "transform":
            order, tried, won, search_over = self._rank_by_candidates(initial)
            if won is not None:
                return won
        else:
            order, search_over = self._get_index_order(initial)
        limit = self.limit(initial)
        best = max([initial_result, *tried.values()], key=lambda r: r.score)
        cur, remaining = initial_result, list(order)

        def fresh(idx):
            """Candidates for word idx of the current text, minus the ranking probe already asked."""
            cands = self.get_transformations(cur.attacked_text, original_text=initial, indices_to_modify=[idx])
            seen = tried.get(idx) if cur is initial_result else None
            return [c for c in cands if seen is None or c.text != seen.attacked_text.text]

        # (b) classic greedy while another word may follow the one being chosen
        while remaining and not search_over and len(cur.attacked_text.changed) + 1 < limit:
            idx = remaining.pop(0)
            results = [tried[idx]] if cur is initial_result and idx in tried else []
            cands = fresh(idx)
            if cands:
                new, search_over = self.get_goal_results(cands)
                results += new
            if not results:
                continue
            top = max(results, key=lambda r: r.score)  # first of the best: candidates come sorted by text
            if top.goal_status == SUCCEEDED:
                return top
            best = max(best, top, key=lambda r: r.score)
            if top.score > cur.score:
                cur = top
        # (c) the last allowed word, breadth-first over the remaining words
        queues = {idx: fresh(idx) for idx in remaining} if not search_over else {}
        seen_score = {idx: (tried[idx].score if cur is initial_result and idx in tried else float("-inf"))
                      for idx in queues}
        while not search_over:
            queues = {i: q for i, q in queues.items() if q}
            if not queues:
                break
            round_ = sorted(queues, key=lambda i: -seen_score[i])  # stable: ties keep rank order
            results, search_over = self.get_goal_results([queues[i].pop(0) for i in round_])
            won = [r for r in results if r.goal_status == SUCCEEDED]
            if won:
                return max(won, key=lambda r: r.score)
            for i, r in zip(round_, results):
                seen_score[i] = max(seen_score[i], r.score)
                best = max(best, r, key=lambda x: x.score)
        return best

    def extra_repr_keys(self):
        return ["wir_method"]
