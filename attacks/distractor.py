"""Distractor insertion: `distractor` (AddSent, Jia & Liang 2017) and `distractor-conflict`.

`distractor` first MUTATES the question (`attacks.mutate`: dates, numbers, names, English antonyms;
whole words only), then turns the mutated question into a statement: its question word (per-language
lists below; a prefix for Korean, so 몇년 -> 1987년) becomes a fake answer of the gold answer's kind
(`attacks.fakes`) and the question mark the language's full stop (। in Bengali). The sentence thus
resembles the question but answers a different one; the gold answer stays the only right answer.
An example whose question offers no slot to mutate is left unchanged (it counts as unchanged). Every
inserted sentence contains no gold answer (casefolded), and at least one slot differs from the
question's. Its cells carry `attack_version: distractor/3` in their key (`Attack.version`), so records
of the old attack, also named `distractor` then, are never reused for it.

`distractor-conflict` is that old attack, kept as a conflicting-evidence probe: the UNMUTATED question
stated with a fake answer, i.e. a second, contradicting answer to the same question (`1825 was the
Isle of Wight Railway first constructed.`); a model that picks it is not necessarily wrong to.

Both insert at sentence boundaries, never inside a sentence that holds an answer; the gold answers keep
their text and their offsets are remapped. Context only; every registry language but th and zh (refused:
`NO_TEMPLATE`). de es ro tr vi el hi have their question words and multi-word question phrases (de "wie
viele", vi "bao nhiêu", tr "ne zaman", replaced whole); vi, tr and hi ask in situ, so their statements read
naturally; German capitalises every noun, so a "name" slot there may be any noun. `strength` is the share of
the context's sentences to add (at least one). The template replaces the question word in place, so
statements keep question word order: natural in en fi id sw ru for wh-fronted questions only
(`1831 was the Eiffel Tower built.`), and in ar (question word first) the fake answer leads a nominal
sentence; ko bn te are verb-final and read naturally; swapped names are not re-inflected (fi, ru cases).

Example (en, strength 0.3, seed 0, title "Eiffel Tower"): question "When was the Eiffel Tower built?",
context "The Eiffel Tower is in Paris. It was built in 1889 for the World's Fair. It is 330 metres tall."
-> distractor appends "1800 was the Paris built." (the name slot mutated: it no longer answers the
question); distractor-conflict inserts "1802 was the Eiffel Tower built." (a rival answer to it).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import regex

from .base import CONTEXT_ONLY, Attack, FieldEdits, FieldInput, draw_count
from .fakes import answer_kind, fake_answers, month_names
from .mutate import Mutation, mutate_question
from .text import Edit, EditPlan, sentences, words

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
    # XQuAD languages (casefolded below: Greek final ς folds to σ)
    "de": "was wer wen wem wessen wann wo wohin woher warum wieso weshalb weswegen wie welche welcher welches "
          "welchen welchem wieviel wieviele womit wofür worüber wodurch wovon worauf woraus",
    "es": "qué quién quiénes cuándo dónde adónde cuál cuáles cuánto cuánta cuántos cuántas cómo",
    "ro": "ce cine când unde care cât câtă câți câte cum căror cărui cui",
    "tr": "ne neyi neye neden nerede nereye nereden neresi kim kimi kime kimin kimden hangi hangisi kaç kaçta "
          "kaçıncı nasıl niçin niye",
    "vi": "gì ai đâu nào mấy sao",
    "el": "τι ποιος ποια ποιο ποιοι ποιες ποιον ποιου ποιας ποιων πότε πού πώς πόσο πόση πόσα πόσοι πόσες "
          "πόσους πόσων γιατί",
    "hi": "क्या कौन कौनसा कौनसी कौनसे कब कहाँ कहां कितना कितने कितनी क्यों कैसे किस किसे किसने किसका किसकी "
          "किसके किन किनके किसको किसमें",
}.items()}
QUESTION_WORDS.update({k: frozenset(w.casefold() for w in v) for k, v in QUESTION_WORDS.items()
                       if k in ("de", "es", "ro", "tr", "vi", "el", "hi")})
# Question phrases of several words, replaced as a whole (matched before single question words).
QUESTION_PHRASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "de": tuple(("wie", w) for w in ("viele", "viel", "lange", "alt", "groß", "hoch", "weit", "oft")),
    "es": (("por", "qué"),),
    "ro": (("de", "ce"),),
    "tr": (("ne", "zaman"), ("ne", "kadar")),
    "vi": (("như", "thế", "nào"), ("bao", "nhiêu"), ("bao", "lâu"), ("bao", "giờ"), ("khi", "nào"), ("lúc", "nào"),
           ("tại", "sao"), ("vì", "sao"), ("thế", "nào"), ("ở", "đâu")),
}
# Languages the statement template cannot serve, and why.
NO_TEMPLATE = {
    "th": "Thai has no sentence terminator and no spaces between words, so a statement cannot be placed "
          "between sentences nor its question word found",
    "zh": "the AddSent templates are not built for Chinese (its question words are not separate words without "
          "a segmenter-aware template)",
}
# Korean interrogative endings turned into the declarative copula.
_KO_ENDINGS = (("인가요", "이다"), ("입니까", "이다"), ("인가", "이다"), ("일까", "이다"), ("였나요", "였다"),
               ("었나요", "었다"), ("았나요", "았다"), ("나요", "다"), ("습니까", "습니다"), ("을까요", "다"))
_EN_HOW = {"many", "much", "long", "old", "far", "tall", "big", "large", "high"}
_FULL_STOP = {"bn": "।", "hi": "।"}
_QUESTION_MARKS = {"el": ";\u037e", "es": "¿"}  # Greek asks with ; (and U+037E), Spanish opens with ¿
CROSS_LINGUAL = ("its sentence is the question restated, so it would put the question's language into the "
                 "context's (no translation here)")


def distractor_sentence(question: str, fake: str, lang: str) -> str:
    """The question turned into a statement whose answer slot holds `fake`."""
    q = question.strip().rstrip("?？؟ ").strip()
    if lang == "sw":
        q = regex.sub(r"^Je\s*,?\s*", "", q)
    if lang in _QUESTION_MARKS:
        q = q.strip(_QUESTION_MARKS[lang] + "? ").strip()
    ws = words(q)
    qwords = QUESTION_WORDS[lang]
    keys = [unicodedata.normalize("NFC", w.text.casefold()) for w in ws]
    for phrase_at, phrase in ((i, p) for i in range(len(ws)) for p in QUESTION_PHRASES.get(lang, ())):
        if tuple(keys[phrase_at : phrase_at + len(phrase)]) == phrase:
            end = ws[phrase_at + len(phrase) - 1].end
            return _finish(q[: ws[phrase_at].start] + fake + q[end:], lang)
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


def _insert(inp: FieldInput, strength: float, rng: random.Random, statement: Callable[[str], str | None],
            ) -> FieldEdits:
    """Insert `statement(fake)` for fake answers in turn (None: skip that fake) at shuffled sentence
    boundaries, until strength x sentences (at least one) are in."""
    text = inp.text
    sents = sentences(text, inp.lang)
    n = max(1, draw_count(strength, len(sents), rng)) if strength > 0 else 0
    plan = EditPlan(text, inp.protected)
    if not n:
        return FieldEdits([], len(sents), 0)
    fakes = fake_answers(inp.example, inp.lang, rng)
    nfc = unicodedata.is_normalized("NFC", text)
    bounds = [s.start for s in sents] + [len(text)]
    rng.shuffle(bounds)
    added = 0
    for fake in fakes:
        if added >= n or not bounds:
            break
        sent = statement(fake)
        if sent is None:
            continue
        if nfc:
            sent = unicodedata.normalize("NFC", sent)
        at = bounds.pop()
        new = (" " + sent) if at == len(text) else (sent + " ")
        if plan.add(Edit(at, at, new, "distractor")):
            added += 1
    return FieldEdits(plan.edits, len(sents), added)


def addsent_statement(mutation: Mutation, fake: str, golds: list[str], lang: str,
                      question: str | None = None) -> str | None:
    """The mutated question stated with `fake`, or None when it would name a gold answer, keep every
    original slot, or (given the original `question`) keep all of its content words, e.g. when the fake
    answer brings the swapped name back: then it would restate the question's content."""
    sent = distractor_sentence(mutation.question, fake, lang)
    key = unicodedata.normalize("NFC", sent).casefold()
    if any(unicodedata.normalize("NFC", g).casefold() in key for g in golds):
        return None
    if all(unicodedata.normalize("NFC", s.old).casefold() in key for s in mutation.slots):
        return None
    if question is not None and restates_question(sent, question, lang):
        return None
    return sent


def restates_question(sentence: str, question: str, lang: str) -> bool:
    """Whether `sentence` keeps every content word of `question` (all but its question words; in Korean also
    its last word, whose ending a statement changes): a distractor that restates the question's content
    states a rival answer to it, where AddSent must first swap a slot (a name, number, date, antonym)."""
    def toks(text: str) -> list[str]:
        return [unicodedata.normalize("NFC", w.text).casefold() for w in words(text)]

    qwords = QUESTION_WORDS.get(lang, frozenset())
    content = [t for t in toks(question)
               if t not in qwords and not (lang == "ko" and any(t.startswith(q) for q in qwords))]
    if lang == "ko" and content:
        content = content[:-1]
    have = set(toks(sentence))
    return bool(content) and all(t in have for t in content)


_LANG_NOTE = (" Word order: the question word is replaced in place, so en fi id sw ru statements keep "
              "question order (ungrammatical for inverted questions, e.g. en `1831 was the X built.`), ar "
              "statements start with the fake answer; swapped names are not re-inflected (fi, ru).")


@dataclass(frozen=True)
class Distractor(Attack):
    """AddSent: the question mutated (dates, numbers, names, antonyms), then stated with a fake answer, so
    the inserted sentence answers a different question; nothing is inserted when no slot can be mutated."""

    name: str = "distractor"
    description: str = ("AddSent (Jia & Liang): mutate the question (dates, numbers, names, en antonyms) so it "
                        "asks something else, state it with a fake answer of the gold answer's kind, insert "
                        "between sentences; examples with nothing to mutate stay unchanged. Not the old "
                        "distractor (now distractor-conflict)." + _LANG_NOTE)
    targets: tuple[str, ...] = CONTEXT_ONLY
    unit: str = "sentences"
    refusals: ClassVar[Mapping[str, str]] = NO_TEMPLATE
    cross_lingual: ClassVar[str | None] = CROSS_LINGUAL
    # 1 was the conflicting-evidence attack, now `distractor-conflict`; 3: sentence bounds no longer split
    # `U.S. Army` or `St. Louis` (`attacks.text.sentences`), which moves insertion points in such contexts
    version: ClassVar[int] = 3

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        if strength <= 0:
            return FieldEdits([], len(sentences(inp.text, inp.lang)), 0)
        mutation = mutate_question(inp.example, inp.lang, QUESTION_WORDS[inp.lang], rng)
        if mutation is None:
            return FieldEdits([], len(sentences(inp.text, inp.lang)), 0)
        golds = list(inp.example["answers"]["text"])
        q = inp.example["question"]
        return _insert(inp, strength, rng, lambda fake: addsent_statement(mutation, fake, golds, inp.lang, q))


@dataclass(frozen=True)
class DistractorConflict(Attack):
    """The pre-AddSent distractor: the UNMUTATED question stated with a fake answer, i.e. conflicting
    evidence for the same question (the gold answer is no longer the only answer the context supports)."""

    name: str = "distractor-conflict"
    description: str = ("Conflicting-evidence probe (the old distractor): the question itself stated with a "
                        "fake answer of the gold answer's kind, inserted between sentences; it answers the SAME "
                        "question, so it contradicts the gold answer." + _LANG_NOTE)
    targets: tuple[str, ...] = CONTEXT_ONLY
    unit: str = "sentences"
    refusals: ClassVar[Mapping[str, str]] = NO_TEMPLATE
    cross_lingual: ClassVar[str | None] = CROSS_LINGUAL
    version: ClassVar[int] = 2  # sentence bounds no longer split `U.S. Army` / `St. Louis` (insertion points)

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        q = inp.example["question"]
        golds = [g.casefold() for g in inp.example["answers"]["text"]]

        def statement(fake: str) -> str | None:
            sent = distractor_sentence(q, fake, inp.lang)
            # the fake part spells out a gold answer
            return None if any(sent.casefold().count(g) > q.casefold().count(g) for g in golds) else sent

        return _insert(inp, strength, rng, statement)


__all__ = ["QUESTION_WORDS", "Distractor", "DistractorConflict", "addsent_statement", "answer_kind",
           "restates_question",
           "distractor_sentence", "fake_answers", "month_names"]
