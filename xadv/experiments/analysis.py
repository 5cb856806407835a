"""Every number of the experiment's table, from checked attack records: the grid groups (seeds averaged per
question), clean and robust F1 / ASR per group, language and attack, and the paired comparisons (mixed vs en,
mixed vs multi per task; QA vs NLI vs paraphrase and each vs the baseline per mix).

The per-question columns are the leaderboard's (`xadv.leaderboard.aggregate.columns_of`), the F1 aggregates of
one cell the score layer's (`xadv.score.compare.stats_from_means`) and the comparisons its paired bootstrap
(`xadv.score.bootstrap.paired_bootstrap_arrays`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xadv.experiments.spec import BASELINE, MIXES, TASKS, ExperimentError, parse_cell_id
from xadv.langs import TYDI_LANGS
from xadv.leaderboard.aggregate import columns_of
from xadv.leaderboard.entries import Entry
from xadv.score.bootstrap import paired_bootstrap_arrays
from xadv.score.compare import stats_from_means

N_RESAMPLES = 2000  # the table's paired bootstrap (the text of results.md says so)


@dataclass
class Group:
    """All seeds of one grid group (e.g. mixed-qa), as per-question columns averaged over seeds."""

    name: str
    mix: str | None
    task: str | None
    seeds: list[int] = field(default_factory=list)
    # lang -> attack label -> (n, 7) columns: clean F1, adv F1, clean EM, adv EM, robust F1, right, flipped
    cols: dict[str, dict[str, Any]] = field(default_factory=dict)
    zero_shot: dict[str, bool | None] = field(default_factory=dict)

    def clean(self, lang: str) -> np.ndarray:
        return next(iter(self.cols[lang].values()))[:, 0]

    def robust(self, lang: str) -> np.ndarray:
        """Per question: robust F1 averaged over the attack cells run in this language."""
        return np.mean([c[:, 4] for c in self.cols[lang].values()], axis=0)


def load_groups(entries: list[Entry], exclude: Collection[str] = (), stands_in: Mapping[str, str] | None = None
                ) -> tuple[list[Group], dict[str, list[str]], list[str]]:
    """Groups from checked leaderboard entries, with the question ids per language (shared by all).

    `exclude`: models left out (diverged trainings, v2 amendment 5); `stands_in`: stand-in id -> the id of the
    model it replaces. Every group must cover the same seed slots, a stand-in filling its diverged model's and
    an excluded model still covering its own (an arm left a seed short says so, it is not an unfinished grid)."""
    stands_in = stands_in or {}
    by: dict[tuple[str, str, str], list[tuple[int, Entry]]] = {}
    meta: dict[str, dict] = {}
    slots: dict[str, set[int]] = {}
    for e in entries:
        cell = parse_cell_id(e.model)
        if cell is None:
            raise ExperimentError(f"{e.path}: model {e.model!r} is not a grid cell of the experiment")
        replaced = parse_cell_id(stands_in[e.model]) if e.model in stands_in else None
        slots.setdefault(cell["group"], set()).add((replaced or cell)["seed"])
        if e.model in exclude:
            continue
        meta[cell["group"]] = cell
        label = f"{e.attack}/{e.target}"
        by.setdefault((cell["group"], e.lang, label), []).append((cell["seed"], e))
    ids: dict[str, list[str]] = {}
    groups: dict[str, Group] = {}
    labels: list[str] = []
    for (gname, lang, label), pairs in by.items():
        if label not in labels:
            labels.append(label)
        g = groups.setdefault(gname, Group(gname, meta[gname]["mix"], meta[gname]["task"]))
        lang_ids = ids.setdefault(lang, sorted(pairs[0][1].ids))
        for seed, e in pairs:
            if sorted(e.ids) != lang_ids:
                raise ExperimentError(f"{e.path}: its {lang} questions differ from the other models' (the "
                                      f"comparison must be paired)")
            if seed not in g.seeds:
                g.seeds.append(seed)
            zs = e.zero_shot
            g.zero_shot[lang] = zs if lang not in g.zero_shot else (g.zero_shot[lang] if g.zero_shot[lang] == zs
                                                                     else None)
        # seeds averaged per question (rows in the first entry's order), then rows in the shared sorted order
        position = {i: k for k, i in enumerate(pairs[0][1].ids)}
        g.cols.setdefault(lang, {})[label] = columns_of([e for _, e in pairs])[[position[i] for i in lang_ids]]
    order = [BASELINE] + [f"{m}-{t}" for m in MIXES for t in TASKS]
    ranked = sorted(groups.values(), key=lambda g: (order.index(g.name) if g.name in order else 99, g.name))
    seeds_per_group = {tuple(sorted(slots[g.name])) for g in ranked}
    if len(seeds_per_group) > 1:
        raise ExperimentError(f"the groups were trained with different seeds ({seeds_per_group}): "
                              f"finish the grid before rendering")
    for g in ranked:
        for lang, per in g.cols.items():
            if set(per) != set(ranked[0].cols.get(lang, {})):
                raise ExperimentError(f"{g.name}/{lang}: attack cells {sorted(per)} differ from "
                                      f"{ranked[0].name}'s {sorted(ranked[0].cols.get(lang, {}))}")
    langs = [lang for lang in TYDI_LANGS if lang in ids]
    return ranked, {lang: ids[lang] for lang in langs}, labels


def _stack(g: Group, langs: list[str], what: str) -> np.ndarray:
    """Per-question scores over `langs`, weighted so that their mean is the macro mean over languages."""
    parts = [g.robust(lang) if what == "robust" else g.clean(lang) for lang in langs]
    total = sum(len(p) for p in parts)
    return np.concatenate([p * total / (len(langs) * len(p)) for p in parts])


def compare_groups(a: Group, b: Group, langs: list[str], *, seed: int = 0, n_resamples: int = N_RESAMPLES) -> dict:
    """Paired bootstrap of A - B (robust F1 and clean F1, points) on the same questions of `langs`."""
    out: dict[str, Any] = {"a": a.name, "b": b.name, "langs": langs}
    for what in ("robust", "clean"):
        t = paired_bootstrap_arrays(_stack(a, langs, what), _stack(b, langs, what), metric=f"{what}_f1",
                                    scale=100.0, n_resamples=n_resamples, seed=seed)
        out[what] = t.to_dict()
    return out


def shared_zero_shot(a: Group, b: Group, langs: list[str]) -> list[str]:
    return [lang for lang in langs if a.zero_shot.get(lang) is True and b.zero_shot.get(lang) is True]


def _attack_cell(c: np.ndarray) -> dict:
    """One group x language x attack: clean / adversarial / robust F1 and ASR (None when nothing was right).

    The F1s are `stats_from_means`'; ASR is 100 * flipped / right, as the committed analysis.json has it
    (`stats_from_means` divides first, 100 * (flipped / right), which differs in the last bit)."""
    m = c.mean(axis=0)
    s = stats_from_means(m)
    return {"clean_f1": s["clean_f1"], "adv_f1": s["adv_f1"], "robust_f1": s["robust_f1"],
            "asr": (100 * m[6] / m[5]) if m[5] > 0 else None,
            "asr_successes": float(c[:, 6].sum()), "asr_denominator": float(c[:, 5].sum())}


def analyse(entries: list[Entry], *, exclude: Collection[str] = (), stands_in: Mapping[str, str] | None = None
            ) -> dict:
    """Every number of the table: clean and robust F1 / ASR per group, language and attack; the paired
    comparisons mixed vs en, mixed vs multi (per task) and QA vs NLI vs paraphrase (per mix). `exclude` and
    `stands_in` as in `load_groups`."""
    groups, ids, labels = load_groups(entries, exclude, stands_in)
    langs = list(ids)
    by_name = {g.name: g for g in groups}
    per_group = {}
    for g in groups:
        row: dict[str, Any] = {"mix": g.mix, "task": g.task, "seeds": sorted(g.seeds), "langs": {}}
        for lang in langs:
            row["langs"][lang] = {
                "zero_shot": g.zero_shot.get(lang), "n": len(ids[lang]),
                "clean_f1": 100 * float(g.clean(lang).mean()), "robust_f1": 100 * float(g.robust(lang).mean()),
                "attacks": {label: _attack_cell(c) for label, c in g.cols[lang].items()}}
        row["attacks"] = {}
        for label in labels:
            cs = [g.cols[lang][label] for lang in langs if label in g.cols[lang]]
            right = float(sum(c[:, 5].sum() for c in cs))
            flipped = float(sum(c[:, 6].sum() for c in cs))
            row["attacks"][label] = {"macro_robust_f1": float(np.mean([100 * c[:, 4].mean() for c in cs])),
                                     "asr": 100 * flipped / right if right else None,
                                     "asr_successes": flipped, "asr_denominator": right}
        zs = [lang for lang in langs if g.zero_shot.get(lang)]
        row["macro"] = {k: float(np.mean([row["langs"][lang][k] for lang in langs])) for k in ("clean_f1", "robust_f1")}
        row["zero_shot_macro"] = ({k: float(np.mean([row["langs"][lang][k] for lang in zs]))
                                   for k in ("clean_f1", "robust_f1")} if zs else None)
        row["zero_shot_langs"] = zs
        per_group[g.name] = row

    def pair(a: str, b: str) -> list[dict]:
        if a not in by_name or b not in by_name:
            return []
        ga, gb = by_name[a], by_name[b]
        out = [{"scope": "all", **compare_groups(ga, gb, langs)}]
        zs = shared_zero_shot(ga, gb, langs)
        if zs and zs != langs:
            out.append({"scope": "zero-shot", **compare_groups(ga, gb, zs)})
        return out

    tasks = [t for t in TASKS if any(g.task == t for g in groups)]
    mixes = [m for m in MIXES if any(g.mix == m for g in groups)]
    gains = []
    for task in tasks:
        for other in ("en", "multi"):
            for r in pair(f"mixed-{task}", f"{other}-{task}"):
                gains.append({"task": task, "comparison": f"mixed vs {other}", **r})
    per_lang_gains = []
    for task in tasks:
        for other in ("en", "multi"):
            a, b = by_name.get(f"mixed-{task}"), by_name.get(f"{other}-{task}")
            if a and b:
                per_lang_gains.append({"task": task, "comparison": f"mixed vs {other}",
                                       "langs": {lang: compare_groups(a, b, [lang]) for lang in langs}})
    alignment = []
    task_pairs = [("qa", "nli"), ("qa", "paraphrase"), ("nli", "paraphrase"), ("all", "qa")]
    for mix in mixes:
        for ta, tb in task_pairs:
            for r in pair(f"{mix}-{ta}", f"{mix}-{tb}"):
                alignment.append({"mix": mix, "comparison": f"{ta} vs {tb}", **r})
        for task in tasks:
            for r in pair(f"{mix}-{task}", BASELINE):
                alignment.append({"mix": mix, "comparison": f"{task} vs baseline", **r})
    return {"langs": langs, "n_per_lang": {lang: len(v) for lang, v in ids.items()}, "attacks": labels,
            "groups": per_group, "gains": gains, "per_lang_gains": per_lang_gains, "alignment": alignment}


def pooled_asr(cell: dict) -> float:
    """ASR of one model x language pooled over its attack cells (successes / exactly-right answers)."""
    den = sum(c["asr_denominator"] for c in cell["attacks"].values())
    return 100 * sum(c["asr_successes"] for c in cell["attacks"].values()) / den if den else float("nan")
