"""`run_search`: model-in-the-loop adversarial search over QA examples, on TextAttack's machinery.

    from attacks.search import SearchSpec, run_search
    spec = SearchSpec("greedy", goal="em-flip", budget=200, max_share=0.2)
    run = run_search(engine, rows, spec, transformation="keyboard", target="question", seed=0)
    run.summary()        # ASR (with denominator), clean/adv F1/EM, mean queries, share changed, s/example
    run.outcomes[0]      # SearchOutcome: predictions, scores, queries, edits, the adversarial row
    run.write_squad("adv.json")

One TextAttack `Attack` is built per run (goal function, constraints, transformation, search method)
and each example is attacked with `Attack.attack`. Searches:

- ``greedy``: `GreedyWIR` (TextAttack's `GreedyWordSwapWIR`, adapted: see `attacks.search.greedy`):
  rank the eligible words (`wir="transform"`: by the goal score of each word's first candidate, one
  batched query per word; `"delete"`, `"unk"`, `"random"`: TextAttack's rankings), then, in that
  order, the best candidate of each word: committed while it improves the score and more words may
  follow, tried in the last allowed word slot otherwise, until success, budget or words run out;
- ``beam``: TextAttack's `BeamSearch` (`beam_width` texts; every step tries every eligible word);
- ``random``: `RandomSampling`, the baseline: the same perturbation at random, same budget.

The query budget counts every candidate evaluated (TextAttack's count, the clean query included);
repeats are answered by caches, so forward passes are usually fewer (see `engine` in the run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from attacks.base import check_example, make_rng, question_language, target_fields
from attacks.search.families import searchable_attacks
from attacks.spec import AttackSpec
from xadv.errors import XadvError
from xadv.models.similarity import shared_encoder
from xadv.progress import Bar
from xadv.score.normalize import MODES

from .goals import parse_goal
from .records import SearchOutcome, SearchRun
from .spec import SearchSpec

Families = str | Sequence[str] | AttackSpec  # `keyboard+homoglyph`: candidate edits from either family


def build_attack(engine, spec: SearchSpec = SearchSpec(), *, transformation: Families = "keyboard",
                 target: str = "question", mode: str = "squad", seed: int = 0,
                 attack_params: Mapping[str, Any] | None = None):
    """The TextAttack `Attack` that `run_search` runs (for callers who drive TextAttack themselves).
    `spec` holds every search setting, already checked; the rest says what to edit and how to score."""
    if mode not in MODES:
        raise XadvError(f"unknown scorer mode {mode!r} (use {' or '.join(MODES)})")
    goal_ = parse_goal(spec.goal)

    from .bootstrap import ensure_textattack

    ensure_textattack()
    from textattack import Attack
    from textattack.constraints.pre_transformation import RepeatModification
    from textattack.search_methods import BeamSearch

    from .constraints import MaxShareChanged, MaxWordEditDistance, MinQuestionSimilarity, TargetWords
    from .goal_function import QAGoalFunction
    from .greedy import GreedyWIR
    from .model import QAModelWrapper
    from .random_search import RandomSampling
    from .transformation import XadvWordSwap

    target_fields(target)
    families = searchable_attacks(transformation, dict(attack_params or {}))
    for a in families:
        if target not in a.targets:
            raise XadvError(f"attack {a.name!r} cannot edit the {target} (it edits: {', '.join(a.targets)})")
    transform = XadvWordSwap(families, candidates=spec.candidates, seed=seed)
    share = MaxShareChanged(spec.max_share, target, spec.max_words)
    constraints = [RepeatModification(), TargetWords(target, spec.context_window), share]
    if spec.max_edit_distance is not None:
        constraints.append(MaxWordEditDistance(spec.max_edit_distance))
    if spec.min_similarity is not None:
        constraints.append(MinQuestionSimilarity(spec.min_similarity, shared_encoder()))
    goal_function = QAGoalFunction(QAModelWrapper(engine), goal_, guided=spec.guided, mode=mode,
                                   query_budget=spec.budget)
    if spec.search == "greedy":
        method = GreedyWIR(share.limit, wir_method=spec.wir)
    elif spec.search == "beam":
        method = BeamSearch(beam_width=spec.beam_width)
    else:
        method = RandomSampling(seed=seed)
    return Attack(goal_function, constraints, transform, method)


def run_search(engine, rows: Iterable[Mapping[str, Any]], spec: SearchSpec = SearchSpec(), *,
               transformation: Families = "keyboard", target: str = "question", mode: str = "squad", seed: int = 0,
               attack_params: Mapping[str, Any] | None = None, progress: bool = False,
               on_example: Callable[[SearchOutcome], None] | None = None) -> SearchRun:
    """Attack every row (data-layer QA rows) with a model-in-the-loop search; see the module docstring.

    `spec`: the search, its goal, budget and limits (`SearchSpec`, checked when built);
    `transformation`: xadv per-word families, `keyboard+homoglyph` for candidates from both;
    `target`: question | context | both (never the answer span).
    """
    rows = [dict(r) for r in rows]
    langs = [check_example(r) for r in rows]  # XadvError naming the example for a malformed row
    config = {
        **spec.cell(), "transformation": [f.name for f in searchable_attacks(transformation)],
        "target": target, "seed": seed, "fingerprint": getattr(engine, "fingerprint", None),
        "engine_settings": engine.settings_key() if hasattr(engine, "settings_key") else None,
    }
    attack = build_attack(engine, spec, transformation=transformation, target=target, mode=mode, seed=seed,
                          attack_params=attack_params)
    pairs = sorted({(lang, question_language(r, lang)) for r, lang in zip(rows, langs)})
    for a in attack.transformation.attacks:
        for lang, qlang in pairs:  # each edited field in its own language (MLQA: question and context differ)
            a.check(lang, target, 0.0, qlang)
    stats_before = engine.stats.as_dict() if hasattr(engine, "stats") else {}
    outcomes: list[SearchOutcome] = []
    t0 = time.perf_counter()
    with Bar(f"{spec.search} search", len(rows), enabled=progress) as bar:
        for row, lang in zip(rows, langs):
            row["lang"] = lang
            outcome = attack_one(attack, row, target, seed)
            outcomes.append(outcome)
            if on_example is not None:
                on_example(outcome)
            bar.advance()
    seconds = time.perf_counter() - t0
    stats_after = engine.stats.as_dict() if hasattr(engine, "stats") else {}
    engine_delta = {k: stats_after[k] - stats_before.get(k, 0) for k in stats_after}
    return SearchRun(config=config, outcomes=outcomes, seconds=seconds, engine=engine_delta, mode=mode)


def attack_one(attack, row: dict, target: str, seed: int = 0) -> SearchOutcome:
    """One example through `attack` (an `Attack` from `build_attack`)."""
    import numpy as np
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    from .qatext import QAText

    if getattr(attack.search_method, "wir_method", None) == "random":  # TextAttack shuffles with numpy
        np.random.seed(make_rng(seed, row["id"], "wir").randrange(2**32))
    t0 = time.perf_counter()
    clean = QAText(row)
    result = attack.attack(clean, row["id"])
    seconds = time.perf_counter() - t0
    gf = attack.goal_function
    first, last = result.original_result, result.perturbed_result
    c_em, c_f1 = gf.em_f1(first.raw_output, first.attacked_text)
    adv_text = last.attacked_text
    a_em, a_f1 = gf.em_f1(last.raw_output, adv_text)
    status = ("skipped" if isinstance(result, SkippedAttackResult)
              else "succeeded" if isinstance(result, SuccessfulAttackResult) else "failed")
    fields = target_fields(target)
    total = sum(n for f, n in zip(("question", "context"), clean.base_counts) if f in fields)
    return SearchOutcome(
        id=row["id"], lang=row["lang"], status=status,
        clean_prediction=first.raw_output.text, adv_prediction=last.raw_output.text,
        clean_em=c_em, clean_f1=c_f1, adv_em=a_em, adv_f1=a_f1,
        clean_gold_logprob=first.raw_output.gold_logprob, adv_gold_logprob=last.raw_output.gold_logprob,
        queries=int(last.num_queries), words_changed=len(adv_text.changed), words_total=total,
        seconds=seconds, example=dict(adv_text.row), edits=[e.to_dict() for e in adv_text.edits],
        success_query=gf.first_success if status == "succeeded" else None)
