"""The v2 pilot's decision rules (benchmarks/experiment-v2.md, section 4), as pure functions: the pilot
script (benchmarks/experiment_v2_pilot.py) measures, these decide, and pilot.json records both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import stdev

LEARNABLE_MARGIN = 5.0  # accuracy points above chance (4a)
SEED_SD_LIMIT = 2.0  # F1 points (4b)
BUDGET_TOLERANCE = 2.0  # F1 points (4c)
T_FULL, T_HALF = 474, 237


def keep_task(accuracy_2i: float, chance: float) -> bool:
    """4a: a pair task stays only if its held-out accuracy (percent) after 2I steps is >= chance + 5."""
    return accuracy_2i >= chance + LEARNABLE_MARGIN


def seeds_for_qa_arms(macro_f1_by_seed: Sequence[float], base: Sequence[int] = (13, 14, 15),
                      extra: Sequence[int] = (16, 17)) -> list[int]:
    """4b: three seeds, five for the QA arms when the baseline's seed SD (macro zero-shot clean F1) > 2."""
    if len(macro_f1_by_seed) < 2:
        raise ValueError("the seed-noise rule needs the baseline at two seeds or more")
    return [*base, *extra] if stdev(macro_f1_by_seed) > SEED_SD_LIMIT else list(base)


def target_steps(macro_f1_by_steps: Mapping[int, float], diverged_at_half: Sequence[bool] = ()) -> int:
    """4c: T = 237 if the baseline's macro F1 on the tuning questions is within 2 points of T = 474 and
    (amendment 5) none of its 4b seeds diverged at T = 237."""
    if any(diverged_at_half):
        return T_FULL
    return T_HALF if macro_f1_by_steps[T_HALF] >= macro_f1_by_steps[T_FULL] - BUDGET_TOLERANCE else T_FULL


def diverged(card: Mapping) -> bool:
    """Amendment 5: a training diverged when its target phase's loss did not fall (the card's `not_learning`:
    the mean over its last tenth of steps not 2 % below the first tenth). Read from the training log alone,
    before any evaluation."""
    return any(p.get("name") == "target" and p.get("not_learning") for p in card.get("phases", []))


def diverged_model(entry: Mapping) -> bool:
    """`diverged` for a models.json entry (its `not_learning` per phase, copied from the card)."""
    return bool((entry.get("not_learning") or {}).get("target"))


def stand_in_seed(seed: int) -> int:
    """Amendment 5 (c): the seed that stands in for a diverged one."""
    return seed + 10


def seed_noise(macro_f1_by_seed: Mapping[int, float], diverged_by_seed: Mapping[int, bool]) -> list[int]:
    """4b over the seeds that trained (amendment 5: a diverged seed is reported, not counted as noise)."""
    return seeds_for_qa_arms([f for s, f in sorted(macro_f1_by_seed.items()) if not diverged_by_seed.get(s)])
