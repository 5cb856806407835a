"""Distractor insertion (AddSent-style): a sentence that looks like the answer but is wrong.

The distractor is built from the question: its question word (per-language lists below; a prefix for
Korean, so 몇년 -> 1987년) is replaced by a fake answer of the same kind as the gold answer, and the
question mark becomes the language's full stop (। in Bengali). Kinds: *number* and *date* (digits
re-drawn in the same digit script, a year keeps its century, a month name becomes another month of
that language via babel), *name* (another capitalised name from the same context, for cased
scripts) and *other* (another span of as many words from a sentence without the answer). A fake
never equals or contains a gold answer. The sentence is inserted at a sentence boundary, never
inside a sentence that holds an answer; the gold answers keep their text and their offsets are
remapped. Context only; serves all nine languages. `strength` is the share of the context's
sentences to add (at least one).

Example (en, strength 0.3, seed 0): question "When was the Eiffel Tower built?", answer "1889",
context "The Eiffel Tower is in Paris. It was built in 1889 for the World's Fair. It is 330 metres
tall." -> "... It was built in 1889 for the World's Fair. 1831 was the Eiffel Tower built. It is 330
metres tall."
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

from .base import CONTEXT_ONLY, Attack, FieldEdits, FieldInput, draw_count, overlaps_any
from .text import Edit, EditPlan, Span, sentences, words

QUESTION_WORDS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "en": "what which who whom whose when where why how",
    "fi": "kauanko mikä mitä mitkä minkä missä mistä mihin millä miltä mille kuka kenen ketkä keitä kenet "
          "kenelle keneltä milloin miksi miten kuinka montako paljonko kumpi millainen minkälainen "
          "monesko",
    "id": "apa apakah siapa siapakah kapan kapankah dimana dimanakah mana manakah berapa berapakah "
          "bagaimana bagaimanakah mengapa kenapa",
    "sw": "nani nini lini wapi gani ngapi vipi kwanini ipi upi lipi kipi yupi zipi wepi kupi papi mbona",
    "ru": "что кто когда где куда откуда почему зачем сколько какой какая какое какие каком какого "
          "какую каких каким какому как чем кем кого чему кому чей чья чьё чьи который которая "
          "которое которые котором которого каков какова",
    "ar": "ما ماذا من متى أين كم كيف لماذا أي ماهو ماهي وما ومن فما بكم لمن مما ممن",
    "bn": "কি কী কে কবে কোথায় কত কেন কিভাবে কীভাবে কোন কোনটি কাকে কার কখন কতটি কয়টি কতজন কোথা "
          "কারা কিসের কীসের কততম কতো",
    "te": "ఏమిటి ఎవరు ఎప్పుడు ఎక్కడ ఎన్ని ఎంత ఏది ఎందుకు ఎలా ఏ ఎవరి ఎన్నవ ఏవి ఏమి ఎవరికి ఎంతమంది "
          "ఏయే ఎక్కడి ఏవిధంగా ఎంతకాలం ఏంటి ఎవరిని ఎక్కడికి ఏమని",
    "ko": "무엇 누구 누가 언제 어디 몇 얼마 어느 어떤 왜 어떻게 무슨 뭐 어떠한",
}.items()}
# Korean interrogative endings turned into the declarative copula.
_KO_ENDINGS = (("인가요", "이다"), ("입니까", "이다"), ("인가", "이다"), ("일까", "이다"), ("였나요", "였다"),
               ("었나요", "었다"), ("았나요", "았다"), ("나요", "다"), ("습니까", "습니다"), ("을까요", "다"))
_EN_HOW = {"many", "much", "long", "old", "far", "tall", "big", "large", "high"}
_FULL_STOP = {"bn": "।"}
_DIGIT = regex.compile(r"\p{Nd}")
_CAPITALISED = regex.compile(r"^\p{Lu}")


def answer_kind(answer: str, lang: str) -> str:
    """"date", "number", "name" or "other"."""
    if _DIGIT.search(answer):
        low = answer.casefold()
        return "date" if any(m in low for m in month_names(lang)) else "number"
    ws = [w.text for w in words(answer)]
    if ws and all(_CAPITALISED.match(w) for w in ws if len(w) > 3) and _CAPITALISED.match(ws[0]):
        return "name"
    return "other"


@lru_cache(maxsize=None)
def month_names(lang: str) -> tuple[str, ...]:
    """Lower-cased month names of `lang` (wide and abbreviated, both contexts), longest first."""
    from babel.dates import get_month_names

    names: set[str] = set()
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            names.update(n.casefold() for n in get_month_names(width, context, locale=lang).values())
    # longest first, ties in a fixed (alphabetical) order: never the set's hash order
    return tuple(sorted((n for n in names if len(n) >= 3 and not _DIGIT.search(n)), key=lambda n: (-len(n), n)))


def _redraw_digits(text: str, rng: random.Random) -> str:
    """Every run of digits re-drawn in its own digit script; four-digit years keep their century."""
    def run(m: regex.Match) -> str:
        s = m.group()
        keep = 2 if len(s) == 4 and s[0] in "12١٢১২౧౨" else 0
        out = list(s[:keep])
        for i, ch in enumerate(s[keep:], keep):
            zero = ord(ch) - unicodedata.digit(ch)
            lo = 1 if i == 0 and len(s) > 1 else 0
            out.append(chr(zero + rng.randint(lo, 9)))
        return "".join(out)

    return regex.sub(r"\p{Nd}+", run, text)


def _swap_month(text: str, lang: str, rng: random.Random) -> str:
    low = text.casefold()
    for m in month_names(lang):
        i = low.find(m)
        if i >= 0:
            others = [n for n in month_names(lang) if n != m and len(n) > 3]
            if others:
                new = rng.choice(others)
                new = new[:1].upper() + new[1:] if text[i : i + 1].isupper() else new
                return text[:i] + new + text[i + len(m) :]
    return text


def _runs(text: str, ws: list[Span], n: int, avoid=()) -> list[str]:
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
    context outside the answers (a one-sentence context)."""
    gold = example["answers"]["text"][0]
    ctx = example["context"]
    kind = answer_kind(gold, lang)
    out: list[str] = []
    if kind in ("number", "date"):
        for _ in range(8):
            fake = _redraw_digits(gold, rng)
            out.append(_swap_month(fake, lang, rng) if kind == "date" else fake)
    spans = [(s, s + len(t)) for t, s in zip(example["answers"]["text"], example["answers"]["answer_start"])]
    n = max(1, len(words(gold)))
    free = [s for s in sentences(ctx) if not overlaps_any(s, spans)]
    pools = [[(sent.text, words(sent.text), ()) for sent in free], [(ctx, words(ctx), spans)]]
    found = False
    for pool in pools:
        for length in dict.fromkeys((n, max(1, n // 2), 1)):  # long answers: shorter fakes
            names: list[str] = []
            others: list[str] = []
            for text, ws, avoid in pool:
                if kind == "name":
                    caps = [w for w in ws if _CAPITALISED.match(w.text)]
                    names += (_runs(text, caps, length, avoid)
                              or [w.text for w in caps[1:] if not overlaps_any(w, avoid)])
                others += _runs(text, ws, length, avoid)
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


def distractor_sentence(question: str, fake: str, lang: str) -> str:
    """The question turned into a statement whose answer slot holds `fake`."""
    q = question.strip().rstrip("?？؟ ").strip()
    if lang == "sw":
        q = regex.sub(r"^Je\s*,?\s*", "", q)
    ws = words(q)
    qwords = QUESTION_WORDS[lang]
    for i, w in enumerate(ws):
        low = unicodedata.normalize("NFC", w.text.casefold())
        if lang == "ko":
            stem = next((s for s in sorted(qwords, key=lambda w: (-len(w), w)) if low.startswith(s)), None)
            if stem:
                return _finish(q[: w.start] + fake + q[w.start + len(stem) :], lang)
        elif low in qwords:
            end = w.end
            if lang == "en" and low == "how" and i + 1 < len(ws) and ws[i + 1].text.lower() in _EN_HOW:
                end = ws[i + 1].end
            text = q[: w.start] + fake + q[end:]
            return _finish(text, lang)
    return _finish(f"{q} {fake}", lang)


def _finish(text: str, lang: str) -> str:
    text = regex.sub(r"\s+", " ", text).strip()
    if lang == "ko":
        for ending, declarative in _KO_ENDINGS:
            if text.endswith(ending):
                text = text[: -len(ending)] + declarative
                break
    text = text[:1].upper() + text[1:]
    return text + _FULL_STOP.get(lang, ".")


@dataclass(frozen=True)
class Distractor(Attack):
    name: str = "distractor"
    description: str = ("Insert AddSent-style sentences: the question as a statement with a fake "
                        "answer of the same kind (number, date, name, other), between sentences.")
    targets: tuple[str, ...] = CONTEXT_ONLY
    unit: str = "sentences"

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        text = inp.text
        sents = sentences(text)
        n = max(1, draw_count(strength, len(sents), rng)) if strength > 0 else 0
        plan = EditPlan(text, inp.protected)
        if not n:
            return FieldEdits([], len(sents), 0)
        fakes = fake_answers(inp.example, inp.lang, rng)
        golds = [g.casefold() for g in inp.example["answers"]["text"]]
        nfc = unicodedata.is_normalized("NFC", text)
        bounds = [s.start for s in sents] + [len(text)]
        rng.shuffle(bounds)
        added = 0
        for fake in fakes:
            if added >= n or not bounds:
                break
            sent = distractor_sentence(inp.example["question"], fake, inp.lang)
            if nfc:
                sent = unicodedata.normalize("NFC", sent)
            q = inp.example["question"].casefold()
            if any(sent.casefold().count(g) > q.count(g) for g in golds):
                continue  # the fake part spells out a gold answer
            at = bounds.pop()
            new = (" " + sent) if at == len(text) else (sent + " ")
            if plan.add(Edit(at, at, new, "distractor")):
                added += 1
        return FieldEdits(plan.edits, len(sents), added)
