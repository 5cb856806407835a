"""The v2 experiment's registered analysis (benchmarks/experiment-v2.md, sections 6-7) from checked records:
per grid group and seed, per-question scores over the 8 zero-shot TyDi languages, then the registered
contrasts (`xadv.experiments.contrasts`) on the primary endpoint (adversarial F1, the mean over the attack
cells) and, labelled secondary, on clean F1 and effective robustness."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xadv.experiments.contrasts import N_RESAMPLES, REGISTERED, Arm, Contrast, residualised, run_contrasts
from xadv.experiments.spec import ExperimentError, parse_cell_id
from xadv.langs import TYDI_LANGS
from xadv.leaderboard.entries import Entry

ZERO_SHOT_LANGS = tuple(lang for lang in TYDI_LANGS if lang != "en")


def arms_from_entries(entries: Sequence[Entry], langs: Sequence[str] = ZERO_SHOT_LANGS
                      ) -> tuple[dict[str, Arm], dict[str, Arm]]:
    """(adversarial F1 arms, clean F1 arms), F1 in points: per group, per language a (seeds x questions)
    array, questions sorted by id and the same in every group and seed (else ExperimentError)."""
    per: dict[tuple[str, str, int], list[Entry]] = {}
    for e in entries:
        cell = parse_cell_id(e.model)
        if cell is None:
            raise ExperimentError(f"{e.path}: model {e.model!r} is not a grid cell of the experiment")
        if e.lang in langs:
            per.setdefault((cell["group"], e.lang, cell["seed"]), []).append(e)
    present = [lang for lang in langs if any(k[1] == lang for k in per)]
    ids = {lang: sorted(next(es for k, es in per.items() if k[1] == lang)[0].ids) for lang in present}
    adv: dict[str, dict[str, list[np.ndarray]]] = {}
    clean: dict[str, dict[str, list[np.ndarray]]] = {}
    seeds: dict[str, set[int]] = {}
    for (group, lang, seed), es in sorted(per.items()):
        order = []
        for e in es:
            if sorted(e.ids) != ids[lang]:
                raise ExperimentError(f"{e.path}: its {lang} questions differ from the other models' (the "
                                      f"comparison must be paired)")
            position = {i: k for k, i in enumerate(e.ids)}
            order.append(np.array([position[i] for i in ids[lang]]))
        adv.setdefault(group, {}).setdefault(lang, []).append(
            100 * np.mean([e.adv_f1[o] for e, o in zip(es, order)], axis=0))
        clean.setdefault(group, {}).setdefault(lang, []).append(100 * es[0].clean_f1[order[0]])
        seeds.setdefault(group, set()).add(seed)
    for group in adv:
        missing = [lang for lang in present if lang not in adv[group]]
        if missing or len({len(v) for v in adv[group].values()}) != 1:
            raise ExperimentError(f"group {group}: not every seed has records in every language "
                                  f"({', '.join(missing) or 'uneven seeds'}): finish the grid before rendering")
    return ({g: Arm(g, {lang: np.stack(v) for lang, v in by.items()}) for g, by in adv.items()},
            {g: Arm(g, {lang: np.stack(v) for lang, v in by.items()}) for g, by in clean.items()})


def registered_analysis(entries: Sequence[Entry], family: Sequence[Contrast] = REGISTERED, *,
                        n_resamples: int = N_RESAMPLES, seed: int = 0) -> dict:
    """The contrasts table: each registered contrast on adversarial F1 (primary, Holm over the family that
    has its arms), clean F1 and effective robustness (secondary); contrasts without their arms are listed
    as not run, with the arms they lack."""
    adv, clean = arms_from_entries(entries)
    runnable = [c for c in family if all(n in adv for n in (*c.plus, *c.minus))]
    not_run = [{"id": c.id, "label": c.label, "missing": sorted(n for n in (*c.plus, *c.minus) if n not in adv)}
               for c in family if c not in runnable]
    out: dict = {"langs": sorted(next(iter(adv.values())).scores) if adv else [],
                 "seeds": {g: a.seeds() for g, a in sorted(adv.items())}, "n_resamples": n_resamples,
                 "not_run": not_run, "primary": [], "clean": [], "effective": []}
    if runnable:
        kw = {"n_resamples": n_resamples, "seed": seed}
        out["primary"] = [r.to_dict() for r in run_contrasts(adv, runnable, **kw)]
        out["clean"] = [r.to_dict() for r in run_contrasts(clean, runnable, **kw)]
        out["effective"] = [r.to_dict() for r in run_contrasts(residualised(adv, clean), runnable, **kw)]
    return out
