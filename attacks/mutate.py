"""Question mutation for AddSent (Jia & Liang 2017): the question made to be about something else.

Why: a distractor built from the question itself states a second answer to the SAME question, so the
gold answer stops being the only right one. AddSent first swaps the question's content slots, so the
inserted sentence resembles the question but answers a different one. Slots, all whole words:
- dates: a month word (and the day / year next to it) -> another valid date (`attacks.fakes`);
- numbers: every other numeral re-drawn (a year keeps its century, never the same value);
- names: a capitalised run (cased scripts; the first word only when the title names it) or, in uncased
  scripts, a word of the example's title (Korean keeps its particle, in the form the new stem takes) -> another
  capitalised run from a context sentence without an answer, else a place from a fixed per-language pool;
- English neighbours: a small antonym list (first/last, north/south, ...).
`mutate_question` returns None when no slot can be changed: the caller then inserts nothing.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

import regex

from .base import overlaps_any
from .fakes import date_edits, number_edits
from .text import Edit, Span, apply_edits, sentences, words

# Fallback names, places every language writes in its own script (a slot's replacement when the
# context offers none); fixed tuples, drawn by index, so no hash order enters.
PLACE_POOL: dict[str, tuple[str, ...]] = {
    "en": ("Lisbon", "Oslo", "Nairobi", "Peru", "Vienna", "Bolivia", "Madagascar", "Cairo"),
    "fi": ("Lissabon", "Oslo", "Nairobi", "Peru", "Wien", "Bolivia", "Madagaskar", "Kairo"),
    "id": ("Lisabon", "Oslo", "Nairobi", "Peru", "Wina", "Bolivia", "Madagaskar", "Kairo"),
    "sw": ("Lisbon", "Oslo", "Nairobi", "Peru", "Vienna", "Bolivia", "Madagaska", "Kairo"),
    "ru": ("Лиссабон", "Осло", "Найроби", "Перу", "Вена", "Боливия", "Мадагаскар", "Каир"),
    "ar": ("لشبونة", "أوسلو", "نيروبي", "بيرو", "فيينا", "بوليفيا", "مدغشقر", "القاهرة"),
    "bn": ("লিসবন", "অসলো", "নাইরোবি", "পেরু", "ভিয়েনা", "বলিভিয়া", "মাদাগাস্কার", "কায়রো"),
    "te": ("లిస్బన్", "ఓస్లో", "నైరోబి", "పెరూ", "వియన్నా", "బొలీవియా", "మడగాస్కర్", "కైరో"),
    "ko": ("리스본", "오슬로", "나이로비", "페루", "토론토", "볼리비아", "마다가스카르", "카이로"),
    "de": ("Lissabon", "Oslo", "Nairobi", "Peru", "Wien", "Bolivien", "Madagaskar", "Kairo"),
    "es": ("Lisboa", "Oslo", "Nairobi", "Perú", "Viena", "Bolivia", "Madagascar", "El Cairo"),
    "ro": ("Lisabona", "Oslo", "Nairobi", "Peru", "Viena", "Bolivia", "Madagascar", "Cairo"),
    "tr": ("Lizbon", "Oslo", "Nairobi", "Peru", "Viyana", "Bolivya", "Madagaskar", "Kahire"),
    "vi": ("Lisboa", "Oslo", "Nairobi", "Peru", "Viên", "Bolivia", "Madagascar", "Cairo"),
    "el": ("Λισαβόνα", "Όσλο", "Ναϊρόμπι", "Περού", "Βιέννη", "Βολιβία", "Μαδαγασκάρη", "Κάιρο"),
    "hi": ("लिस्बन", "ओस्लो", "नैरोबी", "पेरू", "वियना", "बोलीविया", "मेडागास्कर", "काहिरा"),
}
# English antonyms / neighbours (both directions), for questions with no number, date or name.
_EN_PAIRS = ("first last", "largest smallest", "biggest smallest", "highest lowest", "longest shortest",
             "oldest youngest", "north south", "east west", "northern southern", "eastern western",
             "male female", "men women", "king queen", "father mother", "son daughter", "brother sister",
             "husband wife", "before after", "born died", "start end", "began ended", "won lost",
             "most least", "maximum minimum", "upper lower", "inner outer", "early late")
NEIGHBOURS: dict[str, dict[str, str]] = {"en": {}}
for _pair in _EN_PAIRS:
    _a, _b = _pair.split()
    NEIGHBOURS["en"].setdefault(_a, _b)
    NEIGHBOURS["en"].setdefault(_b, _a)
CASED = ("en", "fi", "id", "ru", "sw", "de", "el", "es", "ro", "tr", "vi")
_CAPITALISED = regex.compile(r"^\p{Lu}")
_DIGIT = regex.compile(r"\p{Nd}")
# Korean particles kept after a swapped stem; a pair's form follows the new stem's final consonant.
_KO_PARTICLES = ("에서는", "에서", "으로", "에게", "부터", "까지", "에는", "은", "는", "이", "가", "을", "를",
                 "에", "의", "로", "와", "과", "도", "만")
_KO_ALLOMORPHS = {"은": "는", "는": "은", "이": "가", "가": "이", "을": "를", "를": "을", "과": "와", "와": "과",
                  "으로": "로", "로": "으로"}
_KO_AFTER_CONSONANT = ("은", "이", "을", "과", "으로")


@dataclass(frozen=True)
class Slot:
    """One mutated slot of the question: `old` at `[start, end)` became `new`."""

    start: int
    end: int
    old: str
    new: str
    kind: str


@dataclass(frozen=True)
class Mutation:
    """The mutated question and what changed in it (at least one slot, each really different)."""

    question: str
    slots: tuple[Slot, ...]


def _ko_split(word: str) -> tuple[str, str]:
    """A Korean word as (stem, particle); particle "" when none is recognised."""
    for p in _KO_PARTICLES:
        if word.endswith(p) and len(word) > len(p) + 1:
            return word[: -len(p)], p
    return word, ""


def _ko_particle(stem: str, particle: str) -> str:
    """The particle's form after `stem` (받침 decides 은/는, 이/가, 을/를, 과/와, 으로/로)."""
    if particle not in _KO_ALLOMORPHS or not stem:
        return particle
    last = ord(stem[-1]) - 0xAC00
    final = (last % 28) if 0 <= last <= 11171 else 0
    consonant = final != 0 and not (particle in ("으로", "로") and final == 8)  # ㄹ takes 로
    wants_consonant_form = particle in _KO_AFTER_CONSONANT
    return particle if consonant == wants_consonant_form else _KO_ALLOMORPHS[particle]


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def name_slots(question: str, title: str, lang: str, qwords) -> list[Span]:
    """Spans of the question naming an entity: capitalised runs (cased scripts) and title words
    (Korean: the stem, without its particle); neighbours joined by spaces form one run."""
    title_keys = {_key(w.text) for w in words(title) if len(w.text) > 1}
    runs: list[Span] = []
    joinable = False  # the last run ended at its word's end (no particle after it)
    for i, w in enumerate(words(question)):
        stem = _ko_split(w.text)[0] if lang == "ko" else w.text
        if _key(w.text) in qwords or _DIGIT.search(w.text):
            joinable = False
            continue
        in_title = _key(stem) in title_keys or _key(w.text) in title_keys
        if lang in CASED:  # a name is capitalised; the first word only when the title names it too
            named = bool(_CAPITALISED.match(w.text)) and (i > 0 or in_title)
        else:
            named = in_title
        if not named:
            joinable = False
            continue
        end = w.start + len(stem)
        if runs and joinable and question[runs[-1].end:w.start].isspace():
            runs[-1] = Span(runs[-1].start, end, question[runs[-1].start:end])
        else:
            runs.append(Span(w.start, end, stem))
        joinable = end == w.end
    return runs


def context_names(example: dict, lang: str) -> list[str]:
    """Capitalised runs (not sentence-initial, no digits) of context sentences that hold no answer."""
    if lang not in CASED:
        return []
    a = example["answers"]
    spans = [(s, s + len(t)) for t, s in zip(a["text"], a["answer_start"])]
    out: list[str] = []
    for s in sentences(example["context"], lang):
        if overlaps_any(s, spans):
            continue
        run: list[Span] = []
        for w in [*words(s.text)[1:], None]:
            if w is not None and _CAPITALISED.match(w.text) and not _DIGIT.search(w.text) \
                    and (not run or s.text[run[-1].end:w.start].isspace()):
                run.append(w)
                continue
            if run:
                out.append(s.text[run[0].start:run[-1].end])
            run = [w] if w is not None and _CAPITALISED.match(w.text) and not _DIGIT.search(w.text) else []
    return list(dict.fromkeys(out))


def _replacement(old: str, candidates: list[str], pool: list[str], banned: list[str],
                 rng: random.Random) -> str | None:
    """A name for slot `old`: a context name with as many words, else any context name, else a pool place;
    never one that contains or sits inside a banned text (the question, a gold answer)."""
    def fine(c: str) -> bool:  # not the same words in another order ("Louvre Museum" for "Museum Louvre")
        return (_key(c) != _key(old) and set(_key(c).split()) != set(_key(old).split())
                and not any(b in _key(c) or _key(c) in b for b in banned))

    ok = [c for c in candidates if fine(c)]
    n = len(old.split())
    for choices in ([c for c in ok if len(c.split()) == n], ok, [p for p in pool if fine(p)]):
        if choices:
            return choices[rng.randrange(len(choices))]
    return None


def mutate_question(example: dict, lang: str, qwords, rng: random.Random) -> Mutation | None:
    """The question with every date, number, name slot (and English neighbour word) swapped, or None."""
    q = example["question"]
    edits: list[Edit] = date_edits(q, lang, rng)
    taken = [(e.start, e.end) for e in edits]
    edits += [e for e in number_edits(q, rng) if not overlaps_any((e.start, e.end), taken)]
    banned = [_key(q), *(_key(g) for g in example["answers"]["text"])]
    names = context_names(example, lang)
    ctx_key = _key(example["context"])
    pool = [p for p in PLACE_POOL[lang] if _key(p) not in ctx_key]  # a place the context names is on topic
    for span in name_slots(q, example.get("title", ""), lang, qwords):
        if overlaps_any(span, [(e.start, e.end) for e in edits]):
            continue
        new = _replacement(span.text, names, pool, banned, rng)
        if new is None:
            continue
        if lang == "ko":  # the particle after the stem agrees with the new stem
            word = next(w for w in words(q) if w.start < span.end <= w.end)
            edits.append(Edit(span.start, word.end, new + _ko_particle(new, q[span.end:word.end]), "name"))
        else:
            edits.append(Edit(span.start, span.end, new, "name"))
    for w in words(q):
        other = NEIGHBOURS.get(lang, {}).get(w.text.casefold())
        if other and not overlaps_any(w, [(e.start, e.end) for e in edits]):
            edits.append(Edit(w.start, w.end, other[:1].upper() + other[1:] if w.text[:1].isupper() else other,
                              "neighbour"))
    slots = tuple(Slot(e.start, e.end, q[e.start:e.end], e.new, e.kind) for e in sorted(edits, key=lambda e: e.start)
                  if _key(q[e.start:e.end]) != _key(e.new))
    if not slots:
        return None
    new_q = apply_edits(q, [Edit(s.start, s.end, s.new) for s in slots])[0]
    return Mutation(new_q, slots)
