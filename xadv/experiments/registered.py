"""The v2 experiment's registered analysis (benchmarks/experiment-v2.md, sections 6-7) from checked records:
per grid group and seed, per-question scores over the 8 zero-shot TyDi languages, then the registered
contrasts (`xadv.experiments.contrasts`) on the primary endpoint (adversarial F1, the mean over the attack
cells) and, labelled secondary, on clean F1, effective robustness and the flip rate on each contrast's
jointly-correct questions."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from xadv.experiments.contrasts import (
    N_RESAMPLES,
    REGISTERED,
    Arm,
    Contrast,
    residualised,
    run_contrasts,
    run_flip_contrasts,
)
from xadv.experiments.spec import ExperimentError, parse_cell_id
from xadv.langs import TYDI_LANGS
from xadv.leaderboard.entries import Entry

ZERO_SHOT_LANGS = tuple(lang for lang in TYDI_LANGS if lang != "en")


def arms_from_entries(entries: Sequence[Entry], langs: Sequence[str] = ZERO_SHOT_LANGS
                      ) -> tuple[dict[str, Arm], dict[str, Arm]]:
    """(adversarial F1 arms, clean F1 arms), F1 in points: per group, per language a (seeds x questions)
    array, questions sorted by id and the same in every group and seed (else ExperimentError)."""
    arms = score_arms(entries, langs)
    return arms["adv"], arms["clean"]


def score_arms(entries: Sequence[Entry], langs: Sequence[str] = ZERO_SHOT_LANGS) -> dict[str, dict[str, Arm]]:
    """Per kind, per group, an Arm of (seeds x questions) arrays: `adv` (adversarial F1, mean over the
    attack cells), `clean` (clean F1), both in points; `flipped` (points: the share of attack cells that
    turn a question right on clean input wrong, under the records' criterion) and `right` (1 where the
    question is right on clean input). Questions sorted by id, the same in every group and seed."""
    per: dict[tuple[str, str, int], list[Entry]] = {}
    for e in entries:
        cell = parse_cell_id(e.model)
        if cell is None:
            raise ExperimentError(f"{e.path}: model {e.model!r} is not a grid cell of the experiment")
        if e.lang in langs:
            per.setdefault((cell["group"], e.lang, cell["seed"]), []).append(e)
    present = [lang for lang in langs if any(k[1] == lang for k in per)]
    ids = {lang: sorted(next(es for k, es in per.items() if k[1] == lang)[0].ids) for lang in present}
    kinds = ("adv", "clean", "flipped", "right")
    cols: dict[str, dict[str, dict[str, list[np.ndarray]]]] = {k: {} for k in kinds}
    for (group, lang, seed), es in sorted(per.items()):
        order = []
        for e in es:
            if sorted(e.ids) != ids[lang]:
                raise ExperimentError(f"{e.path}: its {lang} questions differ from the other models' (the "
                                      f"comparison must be paired)")
            position = {i: k for k, i in enumerate(e.ids)}
            order.append(np.array([position[i] for i in ids[lang]]))
        right = es[0].right()[order[0]]
        row = {"adv": 100 * np.mean([e.adv_f1[o] for e, o in zip(es, order)], axis=0),
               "clean": 100 * es[0].clean_f1[order[0]],
               "flipped": 100 * np.mean([right & ~e.right(adv=True)[o] for e, o in zip(es, order)], axis=0),
               "right": right.astype(np.float64)}
        for kind in kinds:
            cols[kind].setdefault(group, {}).setdefault(lang, []).append(row[kind])
    for group, by in cols["adv"].items():
        missing = [lang for lang in present if lang not in by]
        if missing or len({len(v) for v in by.values()}) != 1:
            raise ExperimentError(f"group {group}: not every seed has records in every language "
                                  f"({', '.join(missing) or 'uneven seeds'}): finish the grid before rendering")
    return {kind: {g: Arm(g, {lang: np.stack(v) for lang, v in by.items()}) for g, by in cols[kind].items()}
            for kind in kinds}


def registered_analysis(entries: Sequence[Entry], family: Sequence[Contrast] = REGISTERED, *,
                        n_resamples: int = N_RESAMPLES, seed: int = 0, exclude: Collection[str] = ()) -> dict:
    """The contrasts table: each registered contrast on adversarial F1 (primary, Holm over the family that
    has its arms), clean F1 and effective robustness (secondary); contrasts without their arms are listed
    as not run, with the arms they lack. `exclude`: models left out (amendment 5: diverged trainings, whose
    stand-ins with seed + 10 take their place); listed under `excluded`."""
    excluded = sorted({e.model for e in entries if e.model in exclude})
    arms = score_arms([e for e in entries if e.model not in exclude])
    adv, clean = arms["adv"], arms["clean"]
    runnable = [c for c in family if all(n in adv for n in (*c.plus, *c.minus))]
    not_run = [{"id": c.id, "label": c.label, "missing": sorted(n for n in (*c.plus, *c.minus) if n not in adv)}
               for c in family if c not in runnable]
    out: dict = {"langs": sorted(next(iter(adv.values())).scores) if adv else [],
                 "seeds": {g: a.seeds() for g, a in sorted(adv.items())}, "n_resamples": n_resamples,
                 "not_run": not_run, "excluded": excluded, "primary": [], "clean": [], "effective": [],
                 "flip": []}
    if runnable:
        kw = {"n_resamples": n_resamples, "seed": seed}
        out["primary"] = [r.to_dict() for r in run_contrasts(adv, runnable, **kw)]
        out["clean"] = [r.to_dict() for r in run_contrasts(clean, runnable, **kw)]
        out["effective"] = [r.to_dict() for r in run_contrasts(residualised(adv, clean), runnable, **kw)]
        out["flip"] = [{"id": c.id, "result": r.to_dict() if r else None, "jointly_correct": sizes}
                       for c, (r, sizes) in zip(runnable, run_flip_contrasts(arms["flipped"], arms["right"],
                                                                             runnable, **kw))]
    return out
