"""Numbers, dates and fake answers for the distractor attacks: whole tokens only, valid dates only.

Why a module of its own: both `distractor` (AddSent, which also mutates the question's numbers and
dates) and `distractor-conflict` draw fakes here, and the rules that once went wrong must hold for
both: a month is a whole word (never `gauge` -> `gjanuarye`), a number is a date only when a month
word sits next to it (`3 marathons` is a number), a re-drawn day fits its month (never `47 февраля`),
a re-drawn year keeps its century and differs from the original.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

from .base import overlaps_any
from .text import Edit, Span, apply_edits, sentences, words

# Month words that are also common words: months only with a number next to them.
AMBIGUOUS_MONTHS: dict[str, frozenset[str]] = {"ro": frozenset({"mai"}), "tr": frozenset({"ocak", "ekim"})}
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: 28, the year is not known
_DIGIT = regex.compile(r"\p{Nd}")
_DIGITS = regex.compile(r"\p{Nd}+")
_CAPITALISED = regex.compile(r"^\p{Lu}")
_KO_MONTH = regex.compile(r"^(\p{Nd}{1,2})월$")
_KO_DAY = regex.compile(r"^(\p{Nd}{1,2})일$")


@dataclass(frozen=True)
class MonthForm:
    """One month word: which form list of the language it comes from, and its month (0-11)."""

    forms: int
    month: int


@lru_cache(maxsize=None)
def month_forms(lang: str) -> tuple[tuple[str, ...], ...]:
    """The language's lists of 12 month names (babel: wide format, wide stand-alone, then abbreviated
    ones of 4+ letters), each in month order; a list keeps one inflection, so a swap stays in it."""
    from babel.dates import get_month_names

    out: list[tuple[str, ...]] = []
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            names = get_month_names(width, context, locale=lang)
            row = tuple(names[m].rstrip(".") for m in range(1, 13))
            if any(_DIGIT.search(n) for n in row) or (width == "abbreviated" and min(map(len, row)) < 4):
                continue  # Korean 1월 is handled as digits; short abbreviations (Mar, Jan) are ordinary words
            if row not in out:
                out.append(row)
    return tuple(out)


def month_names(lang: str) -> tuple[str, ...]:
    """Casefolded month words of `lang`, longest first (ties alphabetical, never hash order)."""
    names = dict.fromkeys(n.casefold() for row in month_forms(lang) for n in row)
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


def month_of(word: str, lang: str) -> MonthForm | None:
    """The month a whole word names, or None. A capitalised babel name (English `May`) needs a capital."""
    low = unicodedata.normalize("NFC", word).casefold()
    for i, row in enumerate(month_forms(lang)):
        for m, name in enumerate(row):
            if low == name.casefold() and (not _CAPITALISED.match(name) or _CAPITALISED.match(word)):
                return MonthForm(i, m)
    if lang == "ko" and (k := _KO_MONTH.match(word)) and 1 <= int_of(k.group(1)) <= 12:
        return MonthForm(-1, int_of(k.group(1)) - 1)
    return None


def int_of(digits: str) -> int:
    return int("".join(str(unicodedata.digit(c)) for c in digits))


def in_script(n: int, like: str, width: int = 0) -> str:
    """`n` written in the digit script of `like` (Bengali ১৯১১ stays Bengali), zero-padded to `width`."""
    zero = ord(like[0]) - unicodedata.digit(like[0])
    return "".join(chr(zero + int(d)) for d in str(n).zfill(width))


def redraw_number(s: str, rng: random.Random) -> str:
    """A different digit run of the same length and script; a year (4 digits, 1xxx/2xxx) keeps its century."""
    value = int_of(s)
    if len(s) == 4 and s[0] in "12" or (len(s) == 4 and unicodedata.digit(s[0]) in (1, 2)):
        century = value // 100 * 100
        new = century + rng.choice([y for y in range(100) if century + y != value])
        return in_script(new, s)
    lo = 10 ** (len(s) - 1) if len(s) > 1 else 0
    choices = range(lo, 10 ** len(s))
    new = value
    while new == value:
        new = rng.choice(choices)
    return in_script(new, s, len(s))


def _cased_like(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _digit_run(w: Span) -> Span | None:
    """The numeral of a word: the whole word if all digits, or its leading digits before a suffix (1987년, 19th)."""
    m = regex.match(r"\p{Nd}+", w.text)
    if m is None or (m.end() < len(w.text) and _DIGIT.search(w.text[m.end():])):
        return None
    return Span(w.start, w.start + m.end(), m.group())


def _adjacent(text: str, a: Span, b: Span) -> bool:
    """Two words next to each other, with at most spaces, a dot or a comma between them."""
    return bool(regex.fullmatch(r"[\s.,]{0,3}", text[a.end:b.start])) and a.end <= b.start


def date_edits(text: str, lang: str, rng: random.Random) -> list[Edit]:
    """Edits that move the first date of `text` (a month word, the day next to it, a year next to
    those) to another valid date; [] when `text` holds no month word."""
    ws = words(text)
    for i, w in enumerate(ws):
        mf = month_of(w.text, lang)
        if mf is None:
            continue
        if unicodedata.normalize("NFC", w.text).casefold() in AMBIGUOUS_MONTHS.get(lang, ()) and not any(
                _digit_run(o) is not None for o in ws[max(0, i - 1): i + 2] if o is not w):
            continue  # Romanian "mai" is "more" far more often than "May": a month only next to a number
        new_month = rng.choice([m for m in range(12) if m != mf.month])
        edits = []
        if mf.forms < 0:  # Korean N월
            run = _digit_run(w)
            assert run is not None
            edits.append(Edit(run.start, run.end, in_script(new_month + 1, run.text), "date"))
        else:
            name = month_forms(lang)[mf.forms][new_month]
            edits.append(Edit(w.start, w.end, _cased_like(name, w.text), "date"))
        for j in (i - 1, i + 1, i + 2):
            if not 0 <= j < len(ws) or j == i:
                continue
            o = ws[j]
            pair = (o, w) if j < i else (w, o)
            if j == i + 2 and not _adjacent(text, w, ws[i + 1]):
                continue
            if not _adjacent(text, *pair if j != i + 2 else (ws[i + 1], o)):
                continue
            run = _digit_run(o)
            if run is None:
                continue
            is_day = len(run.text) <= 2 and 1 <= int_of(run.text) <= 31 and (
                run.end == o.end or lang != "ko" or _KO_DAY.match(o.text))
            if is_day:
                day = rng.randint(1, DAYS_IN_MONTH[new_month])
                edits.append(Edit(run.start, run.end, in_script(day, run.text), "date"))
            elif len(run.text) == 4:
                edits.append(Edit(run.start, run.end, redraw_number(run.text, rng), "date"))
        return sorted(edits, key=lambda e: e.start)
    return []


def number_edits(text: str, rng: random.Random) -> list[Edit]:
    """Every numeral of `text` re-drawn (whole digit runs of whole words; never a digit inside a word)."""
    return [Edit(r.start, r.end, redraw_number(r.text, rng), "number")
            for w in words(text) if (r := _digit_run(w)) is not None]


def has_date(text: str, lang: str) -> bool:
    """A month word (a whole word) with a number next to it: `31 March 1990`, not `3 marathons`."""
    ws = words(text)
    return any(month_of(w.text, lang) is not None and any(
        _digit_run(o) is not None and (_adjacent(text, o, w) or _adjacent(text, w, o))
        for o in ws[max(0, i - 1): i + 2] if o is not w) for i, w in enumerate(ws))


def answer_kind(answer: str, lang: str) -> str:
    """"date", "number", "name" or "other"."""
    if _DIGIT.search(answer):
        return "date" if has_date(answer, lang) else "number"
    ws = [w.text for w in words(answer)]
    if ws and all(_CAPITALISED.match(w) for w in ws if len(w) > 3) and _CAPITALISED.match(ws[0]):
        return "name"
    return "other"


def _redrawn(text: str, lang: str, kind: str, rng: random.Random) -> str:
    edits = date_edits(text, lang, rng) if kind == "date" else []
    taken = [(e.start, e.end) for e in edits]
    edits += [e for e in number_edits(text, rng) if not overlaps_any((e.start, e.end), taken)]
    return apply_edits(text, edits)[0]


def runs_of(text: str, ws: list[Span], n: int, avoid=()) -> list[str]:
    """Texts of n consecutive words joined by plain whitespace, not overlapping `avoid` spans."""
    out = []
    for i in range(len(ws) - n + 1):
        run = ws[i : i + n]
        if all(text[a.end : b.start].isspace() for a, b in zip(run, run[1:])) \
                and not overlaps_any((run[0].start, run[-1].end), avoid):
            out.append(text[run[0].start : run[-1].end])
    return out


def fake_answers(example: dict, lang: str, rng: random.Random) -> list[str]:
    """Candidate fake answers of the gold answer's kind, best first (possibly empty).

    Names and other spans come from the sentences without an answer, else from anywhere in the
    context outside the answers (a one-sentence context). No fake contains or is contained in a gold answer."""
    gold = example["answers"]["text"][0]
    ctx = example["context"]
    kind = answer_kind(gold, lang)
    out: list[str] = []
    if kind in ("number", "date"):
        out = [_redrawn(gold, lang, kind, rng) for _ in range(8)]
    spans = [(s, s + len(t)) for t, s in zip(example["answers"]["text"], example["answers"]["answer_start"])]
    n = max(1, len(words(gold)))
    free = [s for s in sentences(ctx, lang) if not overlaps_any(s, spans)]
    pools = [[(sent.text, words(sent.text), ()) for sent in free], [(ctx, words(ctx), spans)]]
    found = False
    for pool in pools:
        for length in dict.fromkeys((n, max(1, n // 2), 1)):  # long answers: shorter fakes
            names: list[str] = []
            others: list[str] = []
            for text, ws, avoid in pool:
                if kind == "name":
                    caps = [w for w in ws if _CAPITALISED.match(w.text)]
                    names += (runs_of(text, caps, length, avoid)
                              or [w.text for w in caps[1:] if not overlaps_any(w, avoid)])
                others += runs_of(text, ws, length, avoid)
            rng.shuffle(names)
            rng.shuffle(others)
            out += names + others[:50]
            found = bool(names or others)
            if found:
                break
        if found:
            break
    golds = [g.casefold() for g in example["answers"]["text"]]
    return [f for f in dict.fromkeys(out)
            if f and not any(g in f.casefold() or f.casefold() in g for g in golds)]
