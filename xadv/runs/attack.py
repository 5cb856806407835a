"""Clean vs adversarial evaluation of one model, per language x attack x target: the `xadv attack` job.

Flow per language: clean predictions (once, cached by the engine) -> each attack perturbs the rows
(seeded per example) -> adversarial predictions -> `xadv.score.compare` -> one `AttackRecord` per cell,
stored as soon as it is finished, so an interrupted run resumes where it stopped.

With a `SearchSpec` (`xadv attack --search ...`) each attack names the per-word families a
model-in-the-loop search edits with (`a+b`: candidates from both) and the adversarial rows come from
`attacks.search.run_search` instead of one seeded perturbation; the record is the same
`xadv.attack-record/1` (per-example outcomes, `compare` summary under the goal's criterion), with the
search settings in its cell (`cell.search`, part of the key) and the search's own numbers added to the
summary (queries, share of words changed, seconds per example) and to every example.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xadv import __version__
from xadv.errors import XadvError
from xadv.io import git_commit
from xadv.runs.record import AttackRecord, CellKey, rows_sha256
from xadv.runs.store import ResultsStore


@dataclass
class CellOutcome:
    """What happened to one cell: computed now, found in the store, or skipped (with why)."""

    lang: str
    attack: str
    target: str
    status: str  # "computed" | "cached" | "skipped"
    record: dict | None = None
    path: Path | None = None
    reason: str = ""
    adversarial: Path | None = None  # the cell's adversarial examples (SQuAD JSON), when written


def model_info(loaded: Any, lang: str | None = None) -> dict:
    """Model identity for a record, with the zero-shot mark for `lang` from the model card (if any)."""
    zs = getattr(loaded, "zero_shot", None) or {}
    seen = zs.get("seen_qa_languages")
    return {
        "name": loaded.name,
        "fingerprint": loaded.fingerprint,
        "seen_qa_languages": seen,
        "zero_shot": (lang not in seen) if (seen is not None and lang) else None,
        "mix": zs.get("mix"),
        "intermediate_tasks": zs.get("intermediate_tasks"),
    }


def _example_outcome(row: Mapping, adv_row: Mapping, clean_pred: str, adv_pred: str, clean_s, adv_s,
                     strength_applied: float, n_edits: int) -> dict:
    return {
        "id": row["id"],
        "clean_pred": clean_pred,
        "adv_pred": adv_pred,
        "clean_em": clean_s[0], "clean_f1": clean_s[1],
        "adv_em": adv_s[0], "adv_f1": adv_s[1],
        "strength_applied": round(strength_applied, 6),
        "n_edits": n_edits,
        "adv_question": adv_row["question"] if adv_row["question"] != row["question"] else None,
        # before/after material for `xadv report`: the clean question where the attack changed it,
        # and a short window of both contexts around the first edit
        "question": row["question"] if adv_row["question"] != row["question"] else None,
        "context_changed": adv_row["context"] != row["context"],
        "context_snippet": context_snippet(row["context"], adv_row["context"]),
    }


def context_snippet(clean: str, adv: str, pad: int = 80) -> dict | None:
    """{"clean", "adv", "offset"}: both contexts around the first edit ("…" marks a cut), or None when equal.

    From `pad` characters before the first difference to `pad` after the last one when the changed
    region is short (then the two windows align exactly), else to `2 * pad` after the first one.
    Enough to show an edit in a report, not the page."""
    if clean == adv:
        return None
    first = next((k for k, (a, b) in enumerate(zip(clean, adv)) if a != b), min(len(clean), len(adv)))
    same_tail = 0
    limit = min(len(clean), len(adv)) - first
    while same_tail < limit and clean[-1 - same_tail] == adv[-1 - same_tail]:
        same_tail += 1
    end_c, end_a = len(clean) - same_tail, len(adv) - same_tail
    lo = max(0, first - pad)
    short = max(end_c, end_a) - first <= 2 * pad

    def cut(text: str, end: int) -> str:
        hi = min(len(text), end + pad if short else first + 2 * pad)
        return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")

    return {"clean": cut(clean, end_c), "adv": cut(adv, end_a), "offset": first}


def _targets_for(atk: Any, targets: Sequence[str]) -> list[str]:
    """`auto` means the question where the attack can edit it, else the context (distractor, reorder)."""
    out: list[str] = []
    for t in targets:
        if t == "auto":
            t = "question" if "question" in atk.targets else "context"
        if t not in out:
            out.append(t)
    return out


def run_attacks(
    loaded: Any,
    rows: Sequence[Mapping],
    *,
    attacks: Sequence[str],
    targets: Sequence[str] = ("auto",),
    strength: float = 0.2,
    seed: int = 0,
    mode: str = "squad",
    f1_threshold: float | None = None,
    data_name: str = "",
    attack_params: Mapping[str, Any] | None = None,
    store: ResultsStore | None = None,
    engine: Any = None,
    n_resamples: int = 1000,
    on_cell: Callable[[CellOutcome], None] | None = None,
    search: Any = None,
    write_adversarial: str | Path | None = None,
    progress: bool = False,
) -> list[CellOutcome]:
    """Evaluate `loaded` clean and under every (attack, target) on `rows`, per language.

    `attack_params` go to every attack that takes them (e.g. `data_dir` for codemix). A cell an attack
    cannot serve (language or target) is skipped with its reason; an unknown attack is an error.
    `search` (an `attacks.search.SearchSpec`): search with each attack's families instead of applying
    it once (see the module docstring); its goal sets the ASR criterion, so `f1_threshold` must be
    None. `write_adversarial`: a directory that gets each computed cell's adversarial examples as SQuAD
    JSON (named like the record) with the edit log beside it (`attacks.run.write_perturbed`).
    `progress`: a progress bar over examples for searches (stderr).
    """
    from attacks import get_attack
    from xadv.qa.engine import QAEngine
    from xadv.score import GoldAnswers, score_predictions

    if not rows:
        raise XadvError("no examples to attack")
    if search is not None and f1_threshold is not None:
        raise XadvError("with a search the goal sets the ASR criterion: use --goal f1-below:T instead of "
                        "--f1-threshold")
    params_all = dict(attack_params or {})
    resolved = []
    for name in attacks:
        if search is not None:
            resolved.append(search_families(name, params_all))  # not per-word: fails here, before any model call
            continue
        probe = get_attack(name)  # unknown names fail here, before any model call
        accepted = set(probe.describe()["params"])
        params = {k: v for k, v in params_all.items() if k in accepted}
        resolved.append((name, get_attack(name, **params) if params else probe, params))
    engine = engine or QAEngine.from_loaded(loaded)
    if search is not None:
        criterion, f1_threshold = search.criterion, search.f1_threshold
    else:
        criterion = "em" if f1_threshold is None else f"f1>={f1_threshold:g}"
    strength = float(search.max_share) if search is not None else float(strength)
    search_cell = search.cell() if search is not None else None
    by_lang: dict[str, list[Mapping]] = {}
    for r in rows:
        by_lang.setdefault(r["lang"], []).append(r)

    outcomes: list[CellOutcome] = []
    for lang, lang_rows in by_lang.items():
        data_sha = rows_sha256(lang_rows)
        gold = GoldAnswers.from_rows(lang_rows)
        clean_preds = None
        clean_scores = None
        for name, atk, params in resolved:
            for target in _targets_for(atk, targets):
                params_key = {k: v for k, v in params.items() if k != "data_dir"}  # paths don't change a cell
                cell = CellKey(loaded.fingerprint, lang, name, params_key, target, float(strength), int(seed),
                               data_sha, mode, criterion, search=search_cell, engine=engine.config.settings_key())
                try:
                    for family in (atk.families if search is not None else (atk,)):
                        family.check(lang, target, strength)
                except XadvError as exc:
                    out = CellOutcome(lang, name, target, "skipped", reason=str(exc))
                    outcomes.append(out)
                    if on_cell:
                        on_cell(out)
                    continue
                if store is not None:
                    found = store.get(cell)
                    if found is not None:
                        out = CellOutcome(lang, name, target, "cached", found, store.path_for(cell))
                        outcomes.append(out)
                        if on_cell:
                            on_cell(out)
                        continue
                t0 = time.perf_counter()
                if clean_preds is None:
                    clean_preds = engine.predict(lang_rows)
                    clean_scores = score_predictions(gold, {i: p.text for i, p in clean_preds.items()}, mode=mode)
                if search is None:
                    summary, examples, adv_results = _static_cell(
                        lang_rows, atk, target, strength, seed, engine, gold, clean_preds, clean_scores,
                        f1_threshold, n_resamples, mode)
                else:
                    summary, examples, adv_results = _search_cell(
                        lang_rows, name, atk, target, seed, engine, gold, clean_preds, clean_scores, search,
                        n_resamples, mode, params_all, progress)
                seconds = time.perf_counter() - t0
                record = AttackRecord(
                    cell=cell, model=model_info(loaded, lang),
                    data={"name": data_name, "lang": lang, "n": len(lang_rows), "sha256": data_sha},
                    summary=summary, examples=examples,
                    env={"xadv_version": __version__, "git_commit": git_commit(),
                         "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                         "seconds": round(seconds, 3), "engine": engine.config.settings_key(),
                         "device": str(getattr(loaded, "device", "cpu"))})
                path = store.put(record) if store is not None else None
                adv_path = None
                if write_adversarial is not None:
                    from attacks.run import write_perturbed

                    adv_path, _ = write_perturbed(adv_results, Path(write_adversarial) / cell.filename())
                out = CellOutcome(lang, name, target, "computed", record.to_dict(), path, adversarial=adv_path)
                outcomes.append(out)
                if on_cell:
                    on_cell(out)
    if all(o.status == "skipped" for o in outcomes):
        raise XadvError("no attack could run: " + "; ".join(sorted({o.reason for o in outcomes})))
    return outcomes


@dataclass(frozen=True)
class _SearchAttack:
    """The families one `--attack` item names for a search (`a+b`: candidates from either)."""

    families: tuple
    targets: tuple[str, ...]


def search_families(name: str, params_all: Mapping[str, Any]) -> tuple[str, _SearchAttack, dict]:
    """(name, families, the params they take) of one `--attack` item for a search; XadvError for an
    unknown name or a family a word-level search cannot use. Cheap: no TextAttack, no model."""
    from attacks.search.families import searchable_attacks

    parts = [p.strip() for p in name.split("+")]
    if not all(parts):
        raise XadvError(f"attack {name!r}: empty name in a '+' list")
    families = tuple(searchable_attacks(parts, dict(params_all)))
    accepted = set().union(*(f.describe()["params"] for f in families))
    params = {k: v for k, v in params_all.items() if k in accepted}
    targets = tuple(t for t in ("question", "context", "both") if all(t in f.targets for f in families))
    return name, _SearchAttack(families, targets), params


def _static_cell(lang_rows, atk, target, strength, seed, engine, gold, clean_preds, clean_scores,
                 f1_threshold, n_resamples, mode):
    """(summary, per-example outcomes, PerturbedExamples) of one seeded perturbation of every row."""
    from attacks.run import iter_perturbed

    perturbed = list(iter_perturbed(lang_rows, atk, target, strength, seed))
    adv_preds = engine.predict([p.example for p in perturbed])
    adv_texts = {i: p.text for i, p in adv_preds.items()}
    summary, clean_pe, adv_pe = _score_cell(gold, clean_scores, adv_texts, perturbed, f1_threshold, n_resamples,
                                            seed, mode)
    examples = [
        _example_outcome(r, p.example, clean_preds[r["id"]].text, adv_texts[r["id"]],
                         clean_pe[r["id"]], adv_pe[r["id"]], p.strength_applied, len(p.edits))
        for r, p in zip(lang_rows, perturbed)
    ]
    return summary, examples, perturbed


def _score_cell(gold, clean_scores, adv_texts, perturbed, f1_threshold, n_resamples, seed, mode):
    """(summary, clean per-example, adversarial per-example) of one cell: the same exact scorer and
    paired comparison for static and search cells, so the leaderboard can recompute both from outcomes."""
    from xadv.score import compare, score_predictions

    adv_scores = score_predictions(gold, adv_texts, mode=mode)
    cmp = compare(clean_scores, adv_scores, f1_threshold=f1_threshold, n_resamples=n_resamples, seed=seed)
    summary = cmp.to_dict()
    summary["strength_applied_mean"] = sum(p.strength_applied for p in perturbed) / len(perturbed)
    return summary, clean_scores.per_example(), adv_scores.per_example()


SEARCH_SUMMARY_KEYS = ("goal", "skipped", "succeeded", "mean_queries", "mean_queries_to_success",
                       "mean_share_changed", "mean_share_changed_successful", "seconds_per_example",
                       "examples_per_second")


def _search_cell(lang_rows, name, atk, target, seed, engine, gold, clean_preds, clean_scores, search,
                 n_resamples, mode, params_all, progress):
    """(summary, per-example outcomes, PerturbedExamples) of a model-in-the-loop search on every row.

    Scores come from the same `score_predictions` / `compare` as a static cell (clean side: the
    engine's clean predictions, shared with every other cell of the language), so the leaderboard
    recomputes them from the outcomes; the search's own numbers are added beside them."""
    from attacks.base import EditRecord, PerturbedExample
    from attacks.search import run_search

    run = run_search(engine, lang_rows, transformation=[f.name for f in atk.families], target=target, seed=seed,
                     mode=mode, attack_params=params_all or None, progress=progress, **search.run_kwargs())
    by_id = {o.id: o for o in run.outcomes}
    outcomes = [by_id[r["id"]] for r in lang_rows]
    perturbed = [PerturbedExample(o.example, name, target, float(search.max_share), o.share_changed, "words",
                                  [EditRecord(**d) for d in o.edits]) for o in outcomes]
    summary, clean_pe, adv_pe = _score_cell(gold, clean_scores, {o.id: o.adv_prediction for o in outcomes},
                                            perturbed, search.f1_threshold, n_resamples, seed, mode)
    examples = []
    for r, o in zip(lang_rows, outcomes):
        e = _example_outcome(r, o.example, clean_preds[r["id"]].text, o.adv_prediction, clean_pe[r["id"]],
                             adv_pe[r["id"]], o.share_changed, len(o.edits))
        e.update({"search_status": o.status, "queries": o.queries, "success_query": o.success_query,
                  "words_changed": o.words_changed, "words_total": o.words_total, "seconds": round(o.seconds, 4)})
        examples.append(e)
    own = run.summary(n_resamples=0)
    summary.update({k: own.get(k) for k in SEARCH_SUMMARY_KEYS})
    summary["failed"] = summary["n"] - own["skipped"] - own["succeeded"]
    summary["forward_passes"] = run.engine.get("forward_passes")
    summary["cache_hits"] = run.engine.get("cache_hits")
    return summary, examples, perturbed
