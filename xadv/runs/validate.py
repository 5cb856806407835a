"""Are an attack's outputs still valid questions and contexts? One table per attack x language x target.

A robustness number is worth the validity of the examples under it (AdvGLUE: most automatic adversarial
examples fail human checks; Morris et al. 2020: tighter constraints cut attack success by tens of
points). `validate_attacks` perturbs a sample exactly as `xadv attack` would (same seed, strength and
per-example streams) and measures, per cell: the share changed, the edit size, the semantic similarity of
the original and perturbed question (`xadv.models.similarity`, me5-small), letters in a foreign script,
whether a language identifier still names the language (and whether it did on clean text: where it does
not, the measure is marked unreliable), and for context attacks whether the answer sentence stayed
untouched and whether an inserted sentence spells out a gold answer. No QA model is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from attacks.base import check_example, question_language, target_fields
from attacks.run import iter_perturbed
from attacks.spec import AttackSpec
from attacks.validity import FieldValidity, field_validity, identify_language
from xadv.errors import XadvError
from xadv.langs import LANGUAGES
from xadv.runs.record import pair_label

LANGID_RELIABLE = 0.9  # below this share of clean texts identified correctly, "language kept" means little
DEFAULT_THRESHOLD = 0.85
TARGETS = ("question", "context", "both")


class Encoder(Protocol):
    def similarities(self, before: Sequence[str], after: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class SimilarityStats:
    """The similarity of original and perturbed question over the examples whose question changed."""

    encoder: str
    threshold: float
    n: int
    mean: float | None
    p10: float | None
    median: float | None
    min: float | None
    below: float | None  # share of the changed questions under `threshold`

    @classmethod
    def of(cls, sims: Sequence[float], encoder: str, threshold: float) -> SimilarityStats:
        if not sims:
            return cls(encoder, threshold, 0, None, None, None, None, None)
        a = np.asarray(sims, dtype=float)
        return cls(encoder, threshold, len(a), _r(a.mean()), _r(np.quantile(a, 0.1)), _r(np.median(a)),
                   _r(a.min()), _r((a < threshold).mean()))


@dataclass(frozen=True)
class ValidityCell:
    """Validity of one attack on one language and target, over `n` examples (model-free but for similarity)."""

    attack: str
    lang: str
    target: str
    n: int
    changed: float  # share of examples with any edit in the target
    edits_mean: float  # edits per changed example
    char_edit_rate: float  # Levenshtein distance / length, mean over changed fields
    foreign_script: float  # share of changed examples with letters in a script foreign to the text
    malformed: int  # outputs with orphan marks, broken UTF-8 or lost NFC (should be 0)
    langid_clean: float | None  # share of clean fields identified as their language (None: no identifier)
    langid_kept: float | None  # share of changed fields still identified as their language
    langid_reliable: bool
    similarity: SimilarityStats | None  # question field only; None when not measured
    answer_sentence_touched: float | None  # context: share of examples whose answer sentence was edited
    inserted: int  # sentences inserted into contexts
    inserted_with_gold: int  # of those, sentences that spell out a gold answer
    inserted_restating: int = 0  # of those, sentences that keep every content word of the question (no slot swapped)

    def to_dict(self) -> dict:
        return asdict(self)


def _r(x: Any) -> float:
    return round(float(x), 4)



def cell_targets(attack_targets: Sequence[str], wanted: str) -> list[str]:
    """`wanted` alone ("question", "context", "both"), or every target the attack serves for "all"."""
    if wanted == "all":
        return [t for t in TARGETS if t in attack_targets]
    if wanted not in TARGETS:
        raise XadvError(f"unknown target {wanted!r} (question, context, both or all)")
    return [wanted] if wanted in attack_targets else []


def validate_attacks(rows: Sequence[Mapping], specs: Sequence[AttackSpec], target: str = "all", *,
                     strength: float = 0.2, seed: int = 0, params: Mapping[str, Any] | None = None,
                     encoder: Encoder | None = None, encoder_id: str = "", threshold: float = DEFAULT_THRESHOLD,
                     ) -> list[ValidityCell]:
    """One `ValidityCell` per attack x language x target the attack serves (refused cells have none)."""
    by_lang: dict[tuple[str, str], list[dict]] = {}
    for r in rows:  # per (context, question) language: MLQA's cross-lingual pairs are cells of their own
        lang = check_example(dict(r))
        by_lang.setdefault((lang, question_language(dict(r), lang)), []).append(dict(r))
    out = []
    for spec in specs:
        attack = spec.build(spec.params_for(params or {}))
        for (lang, qlang), lang_rows in sorted(by_lang.items()):
            for t in cell_targets(attack.targets, target):
                try:
                    attack.check(lang, t, strength, qlang)
                except XadvError:
                    continue
                out.append(_cell(attack, lang_rows, t, strength, seed, encoder, encoder_id, threshold))
    return out


def _cell(attack, rows: list[dict], target: str, strength: float, seed: int, encoder: Encoder | None,
          encoder_id: str, threshold: float) -> ValidityCell:
    lang, qlang = rows[0]["lang"], rows[0].get("question_lang") or rows[0]["lang"]
    flang = {"question": qlang, "context": lang}  # each field is identified in its own language
    results = list(iter_perturbed(rows, attack, target, strength, seed))
    per: list[list[FieldValidity]] = [[field_validity(r, p, f, attack.keeps_nfc) for f in target_fields(target)]
                                      for r, p in zip(rows, results)]
    changed = [i for i, fv in enumerate(per) if any(v.changed for v in fv)]
    changed_fields = [v for fv in per for v in fv if v.changed]
    idable = all(LANGUAGES[x].langid_reliable if x in LANGUAGES else False
                 for x in (flang[f] for f in target_fields(target)))
    langid_clean = langid_kept = None
    if idable:
        clean = [identify_language(r[f], flang[f]) == flang[f] for r in rows for f in target_fields(target)]
        langid_clean = _r(np.mean(clean))
        kept = [identify_language(p.example[f], flang[f]) == flang[f] for i in changed
                for f in target_fields(target)
                for p in (results[i],) if p.example[f] != rows[i][f]]
        langid_kept = _r(np.mean(kept)) if kept else None
    sim = None
    if encoder is not None and "question" in target_fields(target):
        pairs = [(rows[i]["question"], results[i].example["question"]) for i in changed
                 if results[i].example["question"] != rows[i]["question"]]
        sims = encoder.similarities([b for b, _ in pairs], [a for _, a in pairs]) if pairs else []
        sim = SimilarityStats.of(sims, encoder_id, threshold)
    ctx = [fv[-1] for fv in per] if "context" in target_fields(target) else []
    return ValidityCell(
        attack=attack.name, lang=pair_label(lang, qlang), target=target, n=len(rows),
        changed=_r(len(changed) / len(rows)),
        edits_mean=_r(np.mean([sum(v.n_edits for v in per[i]) for i in changed])) if changed else 0.0,
        char_edit_rate=_r(np.mean([v.char_edit_rate for v in changed_fields])) if changed_fields else 0.0,
        foreign_script=_r(np.mean([any(v.foreign_letters for v in per[i]) for i in changed])) if changed else 0.0,
        malformed=sum(v.malformed for fv in per for v in fv),
        langid_clean=langid_clean, langid_kept=langid_kept,
        langid_reliable=bool(idable and langid_clean is not None and langid_clean >= LANGID_RELIABLE),
        similarity=sim,
        answer_sentence_touched=_r(np.mean([bool(v.answer_sentence_touched) for v in ctx])) if ctx else None,
        inserted=sum(v.inserted_sentences for v in ctx), inserted_with_gold=sum(v.inserted_with_gold for v in ctx),
        inserted_restating=sum(v.inserted_restating for v in ctx))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def validity_headers(threshold: float | None) -> list[str]:
    """The columns of the validity table (terminal and markdown alike)."""
    return ["attack", "lang", "target", "n", "changed", "edits", "char edit", "sim mean", "sim p10",
            f"sim<{threshold}", "foreign script", "langid kept", "answer sent. touched", "gold in inserted",
            "inserted restating the question"]


def validity_row(c: Mapping[str, Any], pct: Callable[[float | None], str] = _pct) -> list[str]:
    """One cell (`ValidityCell.to_dict()`) as table text; `pct` formats the shares."""
    s = c.get("similarity") or {}
    langid = pct(c["langid_kept"]) + ("" if c["langid_reliable"] or c["langid_kept"] is None else " (unreliable)")
    inserted = f"{c['inserted_with_gold']}/{c['inserted']}" if c["inserted"] else "-"
    restating = f"{c.get('inserted_restating', 0)}/{c['inserted']}" if c["inserted"] else "-"
    return [c["attack"], c["lang"], c["target"], str(c["n"]), pct(c["changed"]), f"{c['edits_mean']:.1f}",
            pct(c["char_edit_rate"]), _num(s.get("mean")), _num(s.get("p10")), pct(s.get("below")),
            pct(c["foreign_script"]), langid, pct(c["answer_sentence_touched"]), inserted, restating]


def validity_markdown(doc: Mapping[str, Any]) -> str:
    """The validity table of `xadv attacks validate --out FILE.md`: the command, then one row per cell."""
    sim = doc.get("similarity") or {}
    headers = validity_headers(sim.get("threshold"))
    lines = [f"# Attack validity on {doc['data']}", "",
             f"Produced by `{doc['command']}` (model-free measures; question similarity: "
             f"{sim.get('encoder', 'not measured')}). Shares in %.", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(validity_row(c)) + " |" for c in doc["cells"]]
    return "\n".join(lines) + "\n"
