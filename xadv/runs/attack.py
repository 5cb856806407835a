"""Clean vs adversarial evaluation of one loaded model on its rows: every (language, attack, target) cell.

Flow per language (per context-question pair for MLQA's cross-lingual rows: `en-de` is its own group,
its cells keyed with `question_lang`): clean predictions (once, cached by the engine) -> each attack perturbs the rows
(seeded per example), or a model-in-the-loop search edits them (`attacks.search.run_search`) ->
adversarial predictions -> `xadv.score.compare.score_cell` (one scoring path for both) -> one
`AttackRecord` (sealed with `XADV_RESULTS_KEY` when it is set), stored as soon as it is finished, so an
interrupted run resumes where it stopped; a stored record is re-checked before it is reused
(`ResultsStore.get`: an edited one is an error telling the user to delete it).
`xadv.runs.suite.run_suite` calls this once per model and seed; `run_attacks` is the same for callers
that hold a loaded model already.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attacks.base import EditRecord, PerturbedExample, make_rng
from attacks.run import edit_log_path, iter_perturbed, write_perturbed
from attacks.search import SearchSpec, run_search
from attacks.search.families import searchable_attacks
from attacks.spec import AttackSpec
from xadv.errors import XadvError, XadvWarning
from xadv.io import check_output_path
from xadv.models.similarity import ENCODER_ID, check_threshold, shared_encoder
from xadv.provenance import Provenance
from xadv.qa.engine import QAEngine
from xadv.runs.changed import changed_stats
from xadv.runs.record import (
    AttackRecord,
    CellKey,
    DataInfo,
    ExampleOutcome,
    ExampleSearch,
    ModelInfo,
    RunEnv,
    SearchSummary,
    Summary,
    pair_label,
    rows_sha256,
)
from xadv.runs.seal import results_key
from xadv.runs.store import ResultsStore
from xadv.score import GoldAnswers, score_predictions
from xadv.score.bootstrap import check_resamples
from xadv.score.compare import score_cell
from xadv.score.criterion import Criterion
from xadv.score.normalize import mlqa_refusal
from xadv.types import Target


@dataclass
class CellOutcome:
    """What happened to one cell: computed now, found in the store, or skipped (with why). `lang` is the
    cell's language label: `sw`, or `en-de` (context-question) for a cross-lingual pair."""

    lang: str
    attack: str
    target: str
    status: str  # "computed" | "cached" | "skipped"
    record: AttackRecord | None = None
    path: Path | None = None
    reason: str = ""
    adversarial: Path | None = None  # the cell's adversarial examples (SQuAD JSON), when written

    def to_dict(self) -> dict[str, Any]:
        """The cell as `xadv attack --json` lists it: what ran, where its record is, its summary."""
        r = self.record
        return {"lang": self.lang, "attack": self.attack, "target": self.target, "status": self.status,
                "search": r.cell.search if r else None, "reason": self.reason or None,
                "path": str(self.path) if self.path else None,
                "adversarial": str(self.adversarial) if self.adversarial else None,
                "summary": r.summary.to_dict() if r else None, "changed": changed_stats(r).to_dict() if r else None}


@dataclass(frozen=True)
class CellSettings:
    """Everything but the model and rows that defines the cells of one run: typed, checked once."""

    attacks: tuple[AttackSpec, ...]
    targets: tuple[Target, ...] = (Target.AUTO,)
    strength: float = 0.2
    seed: int = 0
    mode: str = "squad"
    criterion: Criterion = Criterion()
    search: SearchSpec | None = None
    n_resamples: int = 1000
    data_name: str = ""
    min_similarity: float | None = None  # static cells: re-draw, then leave unchanged, a question below it

    def __post_init__(self) -> None:
        check_resamples(self.n_resamples, "bootstrap resamples")
        check_threshold(self.min_similarity)
        if self.min_similarity is not None and self.search is not None:
            raise XadvError("with a search, the similarity floor is a search setting (SearchSpec.min_similarity)")
        if self.search is not None and self.criterion != self.search.criterion:
            raise XadvError("with a search the goal sets the ASR criterion: use --goal f1-below:T instead of "
                            "--f1-threshold")

    @property
    def effective_strength(self) -> float:
        return float(self.search.max_share if self.search is not None else self.strength)


@dataclass(frozen=True)
class _Resolved:
    """One attack item made concrete: its static attack, or its search families, and their params."""

    spec: AttackSpec
    families: tuple  # the static attack alone, or the per-word families a search draws from
    params: dict
    targets: tuple[str, ...]

    def cell_targets(self, wanted: Sequence[Target]) -> list[str]:
        pinned = [self.spec.target] if self.spec.target is not None else list(wanted)
        return list(dict.fromkeys(t.resolve(self.targets) for t in pinned))


def resolve_attack(spec: AttackSpec, params: Mapping[str, Any], search: SearchSpec | None) -> _Resolved:
    """XadvError for an unknown name, or a family a word-level search cannot use: before any model call."""
    mine = spec.params_for(params)
    if search is None:
        atk = spec.build(mine)
        return _Resolved(spec, (atk,), mine, tuple(atk.targets))
    families = tuple(searchable_attacks(spec, dict(params)))
    targets = tuple(t for t in ("question", "context", "both") if all(t in f.targets for f in families))
    return _Resolved(spec, families, mine, targets)


def cell_refusal(families: tuple, lang: str, target: str, strength: float, mode: str, question_lang: str = "") -> str:
    """Why a cell cannot run ("" when it can): an attack refusing the (language, target) (a question in
    `question_lang` when it differs), or a scorer mode without rules for the (context) language (`mlqa` knows
    only the official script's languages)."""
    if mode == "mlqa" and (why := mlqa_refusal(lang)):
        return why
    try:
        for family in families:
            family.check(lang, target, strength, question_lang or None)
    except XadvError as exc:
        return str(exc)
    return ""


def _warn_if_noop(out: CellOutcome) -> None:
    """One warning for a cell where the attack changed fewer than half the examples (`xadv.runs.changed`)."""
    assert out.record is not None
    message = changed_stats(out.record).warning(f"{out.lang}/{out.attack}/{out.target}")
    if message:
        warnings.warn(XadvWarning(message), stacklevel=2)


def run_attacks(loaded: Any, rows: Sequence[Mapping], settings: CellSettings, *,
                attack_params: Mapping[str, Any] | None = None, store: ResultsStore | None = None,
                engine: QAEngine | None = None, on_cell: Callable[[CellOutcome], None] | None = None,
                write_adversarial: str | Path | None = None, progress: bool = False) -> list[CellOutcome]:
    """Evaluate `loaded` clean and under every cell of `settings` on `rows`, per language.

    `attack_params` go to every attack that takes them (e.g. `data_dir` for codemix); a cell an attack
    cannot serve (language or target) is skipped with its reason. `write_adversarial`: a directory for
    each computed cell's adversarial examples (SQuAD JSON named like the record, edit log beside it).
    `progress`: a progress bar over examples for searches (stderr)."""
    if not rows:
        raise XadvError("no examples to attack")
    params = dict(attack_params or {})
    resolved = [resolve_attack(a, params, settings.search) for a in settings.attacks]
    engine = engine or QAEngine.from_loaded(loaded)
    by_lang: dict[tuple[str, str], list[Mapping]] = {}
    for r in rows:  # (context, question) language: a cross-lingual pair is its own group of cells
        by_lang.setdefault((r["lang"], r.get("question_lang") or r["lang"]), []).append(r)
    job = _Job(loaded, settings, engine, store, params, write_adversarial, progress, key=results_key())
    outcomes: list[CellOutcome] = []
    for (lang, qlang), lang_rows in by_lang.items():
        for out in job.language(lang, lang_rows, resolved, qlang):
            outcomes.append(out)
            if out.record is not None:
                _warn_if_noop(out)
            if on_cell:
                on_cell(out)
    if all(o.status == "skipped" for o in outcomes):
        raise XadvError("no attack could run: " + "; ".join(sorted({o.reason for o in outcomes})))
    return outcomes


@dataclass
class _Job:
    loaded: Any
    settings: CellSettings
    engine: QAEngine
    store: ResultsStore | None
    params: dict
    write_adversarial: str | Path | None
    progress: bool
    key: bytes | None = None  # XADV_RESULTS_KEY: records are sealed with it, and reused only when their seal verifies

    def language(self, lang: str, rows: list[Mapping], resolved: list[_Resolved], question_lang: str | None = None):
        """Yield the outcome of every cell of one language (context `lang`, questions in `question_lang`);
        the clean pass runs once, when first needed."""
        data_sha = rows_sha256(rows)
        qlang = question_lang if question_lang not in (None, lang) else ""
        label = pair_label(lang, qlang)
        clean: _Clean | None = None
        for res in resolved:
            for target in res.cell_targets(self.settings.targets):
                cell = self.cell_key(lang, res, target, data_sha, qlang)
                why = self.refusal(res, lang, target, qlang)
                if why:
                    yield CellOutcome(label, res.spec.label, target, "skipped", reason=why)
                    continue
                if self.store is not None and (found := self.store.get(cell, self.key)) is not None:
                    yield CellOutcome(label, res.spec.label, target, "cached", found, self.store.path_for(cell))
                    continue
                if self.write_adversarial is not None:  # both files of the cell, before any computing
                    adv = Path(self.write_adversarial) / cell.filename()
                    check_output_path(adv)
                    check_output_path(edit_log_path(adv))
                t0 = time.perf_counter()
                clean = clean or _Clean.of(self.engine, rows, self.settings.mode)
                yield self.compute(cell, res, rows, clean, t0)

    def cell_key(self, lang: str, res: _Resolved, target: str, data_sha: str, question_lang: str = "") -> CellKey:
        s = self.settings
        params_key = res.spec.cell_params(res.params)  # paths excluded, changed attack versions included
        if s.min_similarity is not None:  # a constraint is part of the attack (TextAttack's view): another cell
            params_key.update(min_similarity=s.min_similarity, similarity_encoder=ENCODER_ID)
        return CellKey(self.loaded.fingerprint, lang, res.spec.name, params_key, target, s.effective_strength,
                       int(s.seed), data_sha, s.mode, s.criterion.format(),
                       search=s.search.cell() if s.search is not None else None,
                       engine=self.engine.settings_key(), question_lang=question_lang)

    def refusal(self, res: _Resolved, lang: str, target: str, question_lang: str = "") -> str:
        return cell_refusal(res.families, lang, target, self.settings.effective_strength, self.settings.mode,
                            question_lang)

    def compute(self, cell: CellKey, res: _Resolved, rows: list[Mapping], clean: _Clean, t0: float) -> CellOutcome:
        counts: dict[str, int] = {}
        if self.settings.search is None:
            stats = getattr(self.engine, "stats", None)  # an engine without counters (a test double) records none
            hits = stats.cache_hits if stats is not None else 0
            encoder = shared_encoder() if self.settings.min_similarity is not None else None  # loaded once
            summary, examples, perturbed = _static_cell(rows, res, cell, clean, self.engine, self.settings, encoder)
            if stats is not None:
                reused = stats.cache_hits - hits  # unchanged inputs: answered from the clean pass's predictions
                counts = {"reused": reused, "computed": len(rows) - reused}
        else:
            summary, examples, perturbed = _search_cell(rows, res, cell, clean, self.engine, self.settings,
                                                        self.params, self.progress)
        env = Provenance.capture(device=str(getattr(self.loaded, "device", "cpu")),
                                 threads=getattr(self.engine, "num_threads", None))
        record = AttackRecord(
            cell=cell, model=ModelInfo.of(self.loaded, cell.lang, cell.question_lang or None),
            data=DataInfo(self.settings.data_name, cell.lang, len(rows), cell.data_sha256,
                          question_lang=cell.question_lang or None),
            summary=summary, examples=tuple(examples),
            env=RunEnv(xadv_version=env.xadv_version, git_commit=env.git_commit, created=env.created,
                       seconds=round(time.perf_counter() - t0, 3), engine=cell.engine, device=env.device,
                       threads=env.threads, python=env.python, packages=env.packages, **counts)).sealed(self.key)
        adv_path = None
        if self.write_adversarial is not None:  # before the record: a record on disk means the cell is done
            adv_path, _ = write_perturbed(perturbed, Path(self.write_adversarial) / cell.filename())
        path = self.store.put(record) if self.store is not None else None
        return CellOutcome(cell.lang_label, res.spec.label, cell.target, "computed", record, path, adversarial=adv_path)


@dataclass(frozen=True)
class _Clean:
    """The clean side of a language, shared by all its cells: predictions and their scores."""

    gold: GoldAnswers
    texts: dict[str, str]
    scores: Any  # xadv.score.ScoreResult

    @classmethod
    def of(cls, engine: QAEngine, rows: list[Mapping], mode: str) -> _Clean:
        gold = GoldAnswers.from_rows(rows)
        texts = {i: p.text for i, p in engine.predict(rows).items()}
        return cls(gold, texts, score_predictions(gold, texts, mode=mode))


def _outcomes(rows, adv_rows, clean: _Clean, adv_texts, scored, perturbed, searches=None,
              checks: list[_Constrained] | None = None) -> list[ExampleOutcome]:
    searches = searches or [None] * len(rows)
    checks_: list[_Constrained | None] = list(checks) if checks else [None] * len(rows)
    return [ExampleOutcome.of(r, a, clean.texts[r["id"]], adv_texts[r["id"]], scored.clean[r["id"]],
                              scored.adv[r["id"]], p.strength_applied, len(p.edits), search=x,
                              similarity=c.similarity if c else None, reverted=c.reverted if c else None)
            for r, a, p, x, c in zip(rows, adv_rows, perturbed, searches, checks_)]


MAX_REDRAWS = 4  # draws after the first before a question below --min-similarity is left unchanged


@dataclass(frozen=True)
class _Constrained:
    """The question similarity of the kept perturbation (None: the question is unchanged) and whether
    every draw fell below the threshold, so the example was left unchanged."""

    similarity: float | None
    reverted: bool


def constrain(rows: Sequence[Mapping], perturbed: list[PerturbedExample], attack: Any, target: str,
              strength: float, seed: int, threshold: float, encoder: Any,
              ) -> tuple[list[PerturbedExample], list[_Constrained]]:
    """Keep each perturbation whose question stays at least `threshold` similar to the original; re-draw
    the others (streams `attack#redrawK`, so still per example and order-free) up to MAX_REDRAWS times,
    then leave the example unchanged and say so. Similarities are computed in one batch per round."""
    out = list(perturbed)
    todo = [i for i, p in enumerate(out) if p.example["question"] != rows[i]["question"]]
    sims: dict[int, float] = {}
    for k in range(MAX_REDRAWS + 1):
        if not todo:
            break
        if k:
            for i in todo:
                rng = make_rng(seed, rows[i]["id"], f"{attack.name}#redraw{k}")
                out[i] = attack.perturb(dict(rows[i]), target, strength, rng)
        values = encoder.similarities([rows[i]["question"] for i in todo], [out[i].example["question"] for i in todo])
        sims.update(zip(todo, values))
        todo = [i for i in todo if sims[i] < threshold]
    for i in todo:  # still below after every draw: unchanged, counted
        out[i] = PerturbedExample(dict(rows[i], lang=out[i].example["lang"]), out[i].attack, target,
                                  out[i].strength_requested, 0.0, out[i].unit, [], [])
    checks = [_Constrained(None if (i in todo or i not in sims) else sims[i], i in todo) for i in range(len(out))]
    return out, checks


def _static_cell(rows, res: _Resolved, cell: CellKey, clean: _Clean, engine: QAEngine, s: CellSettings,
                 encoder: Any = None):
    """(summary, per-example outcomes, PerturbedExamples) of one seeded perturbation of every row."""
    perturbed = list(iter_perturbed(rows, res.families[0], cell.target, s.strength, s.seed))
    checks = None
    if s.min_similarity is not None:
        perturbed, checks = constrain(rows, perturbed, res.families[0], cell.target, s.strength, s.seed,
                                      s.min_similarity, encoder)
    adv_texts = {i: p.text for i, p in engine.predict([p.example for p in perturbed]).items()}
    scored = score_cell(clean.gold, clean.scores, adv_texts, criterion=s.criterion, n_resamples=s.n_resamples,
                        seed=s.seed)
    summary = Summary(scored.comparison.to_dict(), _mean_strength(perturbed))
    examples = _outcomes(rows, [p.example for p in perturbed], clean, adv_texts, scored, perturbed, checks=checks)
    return summary, examples, perturbed


def _mean_strength(perturbed: list[PerturbedExample]) -> float:
    return sum(p.strength_applied for p in perturbed) / len(perturbed)


def _search_cell(rows, res: _Resolved, cell: CellKey, clean: _Clean, engine: QAEngine, s: CellSettings,
                 params: dict, progress: bool):
    """(summary, per-example outcomes, PerturbedExamples) of a model-in-the-loop search on every row.

    Scored by the same `score_cell` as a static cell (clean side shared with every other cell of the
    language), so the leaderboard recomputes both alike; the search's own numbers are added beside."""
    spec = s.search
    assert spec is not None
    run = run_search(engine, rows, spec, transformation=res.spec, target=cell.target, seed=s.seed, mode=s.mode,
                     attack_params=params or None, progress=progress)
    by_id = {o.id: o for o in run.outcomes}
    found = [by_id[r["id"]] for r in rows]
    perturbed = [PerturbedExample(o.example, res.spec.name, cell.target, float(spec.max_share), o.share_changed,
                                  "words", [EditRecord(**d) for d in o.edits]) for o in found]
    adv_texts = {o.id: o.adv_prediction for o in found}
    scored = score_cell(clean.gold, clean.scores, adv_texts, criterion=s.criterion, n_resamples=s.n_resamples,
                        seed=s.seed)
    searches = [ExampleSearch(o.status, o.queries, o.success_query, o.words_changed, o.words_total,
                              round(o.seconds, 4)) for o in found]
    own = run.summary(n_resamples=0)
    search = SearchSummary(goal=own["goal"], skipped=own["skipped"], succeeded=own["succeeded"],
                           failed=len(found) - own["skipped"] - own["succeeded"],
                           mean_queries=own["mean_queries"], mean_queries_to_success=own["mean_queries_to_success"],
                           mean_share_changed=own["mean_share_changed"],
                           mean_share_changed_successful=own["mean_share_changed_successful"],
                           seconds_per_example=own["seconds_per_example"],
                           examples_per_second=own["examples_per_second"],
                           forward_passes=run.engine.get("forward_passes"), cache_hits=run.engine.get("cache_hits"))
    summary = Summary(scored.comparison.to_dict(), _mean_strength(perturbed), search)
    examples = _outcomes(rows, [o.example for o in found], clean, adv_texts, scored, perturbed, searches)
    return summary, examples, perturbed
