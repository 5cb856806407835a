"""Model-in-the-loop adversarial search for extractive QA, on TextAttack's search machinery.

    from attacks.search import SearchSpec, run_search
    run = run_search(engine, rows, SearchSpec("greedy", goal="em-flip", budget=200, max_share=0.2),
                     transformation="keyboard", target="question", seed=0)

Pieces (each a TextAttack class, so they also plug into a hand-built `textattack.Attack`):
`qatext.QAText` (AttackedText with xadv's words and answer offsets), `model.QAModelWrapper`
(through xadv's engine: batched, cached, gold-span log-probability), `goal_function.QAGoalFunction`
(EM flip / F1 below T / F1 = 0, optionally loss-guided; goals in `goals`), `transformation.XadvWordSwap`
(xadv's per-word families), `constraints` (target fields, answer span, max share, edit distance),
`greedy.GreedyWIR` (TextAttack's greedy word-importance search, budget-aware), `random_search.
RandomSampling` (the baseline). `records` holds the per-example `SearchOutcome` and the `SearchRun`
summary; `spec.SearchSpec` the checked settings of one search (what `xadv attack --search` parses and a
results cell records); `families` which attacks a word-level search can use;
`bootstrap.ensure_textattack` makes TextAttack import offline. The constructed `KeywordOracle` its
tests search against lives with the other test doubles in `xadv.testing`. Importing this package is
cheap: TextAttack (several seconds) loads on the first search.
"""

from .goals import GOAL_KINDS, Goal, parse_goal
from .records import SearchOutcome, SearchRun
from .run import build_attack, run_search  # light: TextAttack loads inside them
from .spec import SEARCHES, WIR_METHODS, SearchSpec

__all__ = [
           "GOAL_KINDS",
           "SEARCHES",
           "WIR_METHODS",
           "Goal",
           "SearchOutcome",
           "SearchRun",
           "SearchSpec",
           "build_attack",
           "parse_goal",
           "run_search",
]
