"""`QAGoalFunction`: TextAttack goal functions for extractive QA (see `attacks.search.goals`).

TextAttack has no goal function for span QA (its issues #548, #261, #704); this one scores a
candidate's predicted span against the gold answers with xadv's scorer (the same normalisation as
`xadv score`), decides success with a `Goal` (EM flip, F1 below T, F1 = 0), and, when loss-guided,
adds the drop in gold-span log-probability to the score the search maximises. All candidates of one
search step go to the model in one call (TextAttack would split them into batches of 32).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

from xadv.qa.engine import Prediction
from xadv.score.metrics import best_em_f1
from xadv.score.normalize import normalize

from .bootstrap import ensure_textattack
from .goals import Goal
from .model import QAModelWrapper
from .qatext import QAText

ensure_textattack()

from textattack.goal_function_results import GoalFunctionResultStatus, TextToTextGoalFunctionResult
from textattack.goal_functions import GoalFunction

_TA_LOGGER = "textattack.shared.utils.install"


class QAGoalFunction(GoalFunction):
    def __init__(self, wrapper: QAModelWrapper, goal: Goal, *, guided: bool = True, mode: str = "squad",
                 query_budget: float = float("inf")):
        logger = logging.getLogger(_TA_LOGGER)
        level = logger.level
        logger.setLevel(logging.ERROR)  # silence "unknown if model ... compatible with goal function"
        try:
            with warnings.catch_warnings():  # ... through the deprecated Logger.warn
                warnings.simplefilter("ignore", DeprecationWarning)
                super().__init__(wrapper, maximizable=False, use_cache=True, query_budget=query_budget)
        finally:
            logger.setLevel(level)
        self.goal = goal
        self.guided = guided
        self.mode = mode
        self.clean_logprob: float | None = None
        self.first_success: int | None = None

    # --- TextAttack hooks -----------------------------------------------------------------------

    def init_attack_example(self, attacked_text: QAText, ground_truth_output):
        # the clean gold log-probability is the reference of every drop: compute it first
        self.first_success = None  # the first query that met the goal (any smaller budget fails)
        self.clean_logprob = self._call_model([attacked_text])[0].gold_logprob
        return super().init_attack_example(attacked_text, ground_truth_output)

    def get_results(self, attacked_text_list, check_skip=False):
        """TextAttack's results, each tagged with `query_index`, its own position in the query count
        (TextAttack gives every result of a batch the count after the whole batch)."""
        before = self.num_queries
        results, search_over = super().get_results(attacked_text_list, check_skip=check_skip)
        for k, r in enumerate(results):
            r.query_index = before + k + 1
            # only a transformation's candidate can be the answer of a search: a word-importance probe
            # (the text with one word deleted) that happens to flip the answer is not
            candidate = "last_transformation" in r.attacked_text.attack_attrs
            if candidate and r.goal_status == GoalFunctionResultStatus.SUCCEEDED and self.first_success is None:
                self.first_success = r.query_index
        return results, search_over

    def _call_model_uncached(self, attacked_text_list: Sequence[QAText]) -> list[Prediction]:
        if not attacked_text_list:
            return []
        return self.model.predict_rows([t.row for t in attacked_text_list])

    def _process_model_outputs(self, inputs, outputs):
        return outputs

    def _get_displayed_output(self, raw_output: Prediction) -> str:
        return raw_output.text

    def _goal_function_result_type(self):
        return TextToTextGoalFunctionResult

    def _is_goal_complete(self, model_output: Prediction, attacked_text: QAText) -> bool:
        em, f1 = self.em_f1(model_output, attacked_text)
        return self.goal.met(em, f1)

    def _get_score(self, model_output: Prediction, attacked_text: QAText) -> float:
        em, f1 = self.em_f1(model_output, attacked_text)
        return self.goal.score(em, f1, self.logprob_drop(model_output), self.guided)

    # --- helpers ----------------------------------------------------------------------------------

    def em_f1(self, prediction: Prediction, text: QAText) -> tuple[float, float]:
        lang = text.row.get("lang")
        golds = [normalize(a, self.mode, lang) for a in text.row["answers"]["text"]]
        return best_em_f1(normalize(prediction.text, self.mode, lang), golds)

    def logprob_drop(self, prediction: Prediction) -> float | None:
        if self.clean_logprob is None or prediction.gold_logprob is None:
            return None
        a, b = self.clean_logprob, prediction.gold_logprob
        if math.isinf(a) and math.isinf(b):
            return 0.0
        return a - b

    def extra_repr_keys(self):
        return ["goal", "guided", "mode", *super().extra_repr_keys()]
