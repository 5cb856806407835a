"""Is a perturbed text still a text of its language? Validity measures and before/after samples.

An attack that turns Telugu into something a language identifier no longer calls Telugu measures
the model on noise, not on the language. `measure_validity` reports per attack, language and field:
the share of texts identified as their language before and after (py3langid restricted to the nine
TyDi languages), the mean character edit rate (Levenshtein distance / original length), the share of
texts actually changed, the mean applied strength, and how many outputs are malformed
(`attacks.text.text_problems`: orphan marks, broken UTF-8, lost NFC). `sample_pairs` and
`write_samples` give readable before/after pairs for a report.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from xadv.errors import XadvError
from xadv.langs import LANGUAGES, TYDI_LANGS

from .base import Attack, PerturbedExample, check_example, target_fields
from .distractor import restates_question
from .registry import get_attack
from .text import LANG_SCRIPT, char_script, sentences, text_problems, words


@dataclass
class ValidityRow:
    attack: str
    lang: str
    field: str
    n: int
    langid_clean: float
    langid_perturbed: float
    char_edit_rate: float
    changed: float
    strength_applied: float
    malformed: int


@lru_cache(maxsize=2)
def _identifier(langs: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages(list(langs))
    return ident


def identify_language(text: str, lang: str = "") -> str:
    """The most likely language of `text`: among TyDi's nine when `lang` is one of them or not given (so
    the committed TyDi figures keep their meaning), else among all registry languages (the set under
    which `Language.langid_reliable` was measured)."""
    langs = TYDI_LANGS if not lang or lang in TYDI_LANGS else tuple(LANGUAGES)
    return _identifier(langs).classify(text)[0]


def char_edit_rate(before: str, after: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(before, after) / max(1, len(before))


@dataclass(frozen=True)
class FieldValidity:
    """What one attack did to one field of one example, measured without a model.

    `foreign_letters`: letters in the output whose script is neither the language's nor one the input
    already used (a homoglyph's Cyrillic in English text, codemix's Latin in Telugu; by design for
    some attacks, which is why it is measured and not refused). `answer_sentence_touched` and
    `inserted_with_gold` (None and 0 for questions): the sentence holding a gold answer was edited, and an
    inserted sentence spells out a gold answer more often than the question does (a distractor that
    answers the question; "Czech" in "... spoken in Czech Republic" comes from the question itself)."""

    changed: bool
    char_edit_rate: float
    n_edits: int
    foreign_letters: int
    malformed: bool
    answer_sentence_touched: bool | None = None
    inserted_sentences: int = 0
    inserted_with_gold: int = 0
    inserted_restating: int = 0  # inserted sentences that keep every content word of the question


def foreign_letters(before: str, after: str, lang: str) -> int:
    """Letters of `after` in a script that is neither `lang`'s nor any script `before` uses."""
    allowed = {char_script(ch) for ch in before if unicodedata.category(ch).startswith("L")}
    allowed.add(LANG_SCRIPT.get(lang, "Latin"))
    return sum(1 for ch in after if unicodedata.category(ch).startswith("L") and char_script(ch) not in allowed)


def field_validity(row: dict, result: PerturbedExample, field: str, expect_nfc: bool = True) -> FieldValidity:
    """The model-free validity measures of one field of `result` (a perturbation of `row`)."""
    lang = result.example["lang"]  # the context's; a question in another language (MLQA en-de) is its own
    flang = (result.example.get("question_lang") or lang) if field == "question" else lang
    before, after = row[field], result.example[field]
    edits = [e for e in result.edits if e.field == field]
    touched: bool | None = None
    inserted = with_gold = restating = 0
    if field == "context":
        golds = [g.casefold() for g in row["answers"]["text"] if g]
        spans = [(s, s + len(t)) for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
        answer_sents = [s for s in sentences(before) if any(s.start < b and a < s.end for a, b in spans)]
        first_step = edits[0].attack if edits else None  # a composition's later offsets are in edited text
        touched = any(_inside(e.start, e.end, s.start, s.end) for e in edits if e.attack == first_step
                      for s in answer_sents) if edits else False
        for e in edits:
            if e.start == e.end and len(words(e.new)) >= 2:  # an inserted sentence, not a zero-width mark
                inserted += 1
                q = row["question"].casefold()  # a gold string the question itself holds is not an answer
                with_gold += any(e.new.casefold().count(g) > q.count(g) for g in golds)
                restating += restates_question(e.new, row["question"], lang)
    return FieldValidity(before != after, round(char_edit_rate(before, after), 6), len(edits),
                         foreign_letters(before, after, flang),
                         bool(text_problems(before, after, expect_nfc=expect_nfc)), touched, inserted, with_gold,
                         restating)


def _inside(start: int, end: int, lo: int, hi: int) -> bool:
    """Whether an edit of [start, end) changes text strictly inside [lo, hi) (an insertion at a sentence's
    edge leaves the sentence as it was)."""
    if start == end:
        return lo < start < hi
    return start < hi and lo < end



def measure_validity(rows: Iterable[dict], attacks: Iterable[Attack | str], target: str = "question",
                     strength: float = 0.1, seed: int = 0) -> list[ValidityRow]:
    """One ValidityRow per (attack, language, field) over `rows`; languages an attack refuses are
    skipped (they have no row)."""
    rows = list(rows)
    out: list[ValidityRow] = []
    for spec in attacks:
        attack = get_attack(spec) if isinstance(spec, str) else spec
        stats: dict[tuple[str, str], list] = {}
        for row in rows:
            lang = check_example(row)
            if attack.refusal(lang) or target not in attack.targets:
                continue
            result = attack.perturb(row, target, strength, seed)
            for f in target_fields(target):
                before, after = row[f], result.example[f]
                s = stats.setdefault((lang, f), [0, 0, 0, 0.0, 0, 0.0, 0])
                s[0] += 1
                s[1] += identify_language(before, lang) == lang
                s[2] += identify_language(after, lang) == lang
                s[3] += char_edit_rate(before, after)
                s[4] += before != after
                s[5] += result.strength_applied
                s[6] += bool(text_problems(before, after, expect_nfc=attack.keeps_nfc))
        for (lang, f), (n, c, p, rate, changed, applied, bad) in sorted(stats.items()):
            out.append(ValidityRow(attack.name, lang, f, n, c / n, p / n, rate / n, changed / n,
                                   applied / n, bad))
    return out


def sample_pairs(rows: Iterable[dict], attack: Attack | str, target: str = "question",
                 strength: float = 0.1, seed: int = 0, n: int = 20) -> list[dict]:
    """Up to `n` before/after pairs (rows drawn with `seed`), each with its edit log."""
    attack = get_attack(attack) if isinstance(attack, str) else attack
    rows = [r for r in rows if not attack.refusal(check_example(r))]
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    pairs = []
    for row in picked:
        result = attack.perturb(row, target, strength, seed)
        for f in target_fields(target):
            pairs.append({
                "id": row["id"], "lang": result.example["lang"], "attack": attack.name, "field": f,
                "strength_requested": result.strength_requested,
                "strength_applied": result.strength_applied,
                "before": row[f], "after": result.example[f],
                "edits": [e.to_dict() for e in result.edits if e.field == f],
            })
    return pairs


def write_samples(pairs: list[dict], path: str | Path) -> Path:
    """Write pairs as JSON Lines (`.jsonl`) or as a Markdown list for reading (`.md`)."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".md"):
        raise XadvError(f"sample file must end in .jsonl or .md: {path}")
    if path.suffix == ".jsonl":
        text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)
    else:
        parts = []
        for p in pairs:
            parts.append(f"### {p['attack']} · {p['lang']} · {p['field']} · {p['id']}\n\n"
                         f"- before: {p['before']}\n- after:  {p['after']}\n"
                         f"- edits: {', '.join(repr(e['old']) + '→' + repr(e['new']) for e in p['edits']) or 'none'}\n")
        text = "\n".join(parts)
    from xadv.io import atomic_write_text

    return atomic_write_text(path, text)
