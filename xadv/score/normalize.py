"""Answer normalisation: the official SQuAD v1.1 rule, the official MLQA rule, and a script-aware rule.

Three modes, chosen per run and recorded in every result:

``squad``
    Exactly `normalize_answer` of the official SQuAD v1.1 script (the one XTREME uses for TyDi QA
    GoldP), step for step and in the same order: ``str.lower`` -> delete every character of
    ``string.punctuation`` (ASCII only) -> replace the English articles ``\\b(a|an|the)\\b`` (Python
    ``re``, Unicode word boundaries, applied to every language) by a space -> ``split``/``join``
    on Unicode whitespace. Use it to report numbers comparable with published TyDi results.
    Its blind spots on TyDi: non-ASCII punctuation survives (Bengali ``।``, Arabic ``،``/``؟``,
    Russian ``«»``/``—``, curly quotes), so ``"ঢাকা।"`` does not match ``"ঢাকা"``.

``multilingual``
    The same metric (token F1 / EM over whitespace tokens) after a normalisation that treats every
    script alike. Steps, in order:

    1. NFKC, then ``str.casefold`` (full Unicode case folding: ``ß`` -> ``ss``, final ``ς`` -> ``σ``),
       then NFKC again (folding can leave a decomposed sequence). NFKC rather than NFC because
       compatibility variants are the same answer: Arabic presentation forms (``ﻻ`` -> ``لا``),
       full-width Latin and digits, ligatures (``ﬁ``), ``km²`` -> ``km2``, NBSP -> space.
    2. Delete format characters (category ``Cf``: zero-width space / (non-)joiners, soft hyphen,
       LRM/RLM bidi marks common in Arabic text, BOM) and the Arabic tatweel ``ـ`` (U+0640, a pure
       typographic elongation). They are invisible and never distinguish two answers; dropping them
       also keeps invisible-character attacks from scoring a correctly located span as wrong.
    3. Delete punctuation: every ``P*`` character (``।`` ``॥`` ``،`` ``؛`` ``؟`` ``«`` ``»`` ``—``
       ``“`` ``”`` ``、`` ...) and everything in ``string.punctuation`` (so ASCII symbols such as
       ``$ + < = > ^ ` | ~`` go exactly as in ``squad`` mode). Other symbols (``°`` ``€`` ``₹``)
       and all combining marks (``M*``: Bengali/Telugu vowel signs and viramas, Arabic harakat,
       Russian stress accents) are kept: they are part of words.
    4. NFC again (a deletion can bring a base letter and a combining mark together).
    5. Language rules (below), then ``split``/``join`` on whitespace.

    The language rules come from the registry (`xadv.langs.LANGUAGES[lang].scorer`):

    =====  ==========  ==========================================================================
    lang   script      articles / language rule
    =====  ==========  ==========================================================================
    ar     Arabic      definite article ``ال`` is a prefix, not a word: a token starting with
                       ``ال`` loses it when at least two characters remain (``القاهرة`` ->
                       ``قاهرة``, so a span with or without the article matches, as ``the`` does in
                       English; ``الله`` -> ``له`` is harmless as both sides change alike). Not
                       stripped behind clitics (``وال``, ``بال``, ``لل``): deciding those needs
                       morphology, and the squad-comparable behaviour is to leave words whole. No
                       alef/yaa unification and no diacritic removal: those change spelling.
                       (MLQA's script deletes ``ال`` anywhere, even inside words; xadv keeps its
                       TyDi rule so TyDi numbers do not move.)
    bn     Bengali     no articles (the classifiers ``-টা``/``-টি`` are suffixes of the noun).
    de     Latin       MLQA's articles ``ein eine einen einem eines einer der die das den dem des``.
    el     Greek       no rule (MLQA does not cover Greek).
    en     Latin       ``a``, ``an``, ``the`` removed as whole words, as in ``squad`` mode.
    es     Latin       MLQA's articles ``un una unos unas el la los las``.
    fi     Latin       no articles.
    hi     Devanagari  no articles (as MLQA).
    id     Latin       no articles (``si``/``sang`` are honorific particles, kept).
    ko     Hangul      no articles; particles (josa) stay attached to their eojeol, so
                       ``서울에서`` vs ``서울`` is a token mismatch, as in the official metric.
    ro     Latin       no rule (Romanian articles are suffixes; MLQA does not cover it).
    ru     Cyrillic    no articles; ``ё`` is not folded to ``е`` (a spelling change).
    sw     Latin       no articles.
    te     Telugu      no articles.
    th     Thai        no rule; whitespace tokens (Thai does not space words, so F1 is coarse).
    tr     Latin       no rule (MLQA does not cover Turkish).
    vi     Latin       MLQA's list ``của là cái chiếc những`` (not all articles, but the official rule).
    zh     Han         MLQA's mixed segmentation: each CJK ideograph (U+4E00..U+9FA5) is a token,
                       other text is split on whitespace; so ``赫尔辛基研习建筑学。`` vs ``赫尔辛基``
                       is F1 8/13 (P 4/9, R 1), as MLQA reports, instead of 0.
    =====  ==========  ==========================================================================

    The language of an example comes from its dataset (the ``lang`` column, which `xadv.data` sets
    from the dataset name, a TyDi id prefix or an explicit ``--lang``, never from a file name). A
    language without registry rules (``und``) gets the script-independent steps only, and the result
    lists it (`ScoreResult.unknown_langs`) so the CLI can say so. On plain-ASCII English text both
    modes give the same string.

``mlqa``
    Exactly `normalize_answer` of the official MLQA evaluation (``mlqa_evaluation_v1.py``, the script's
    ``answer_language`` being the example's language), step for step: ``str.lower`` (no NFKC, no
    casefold) -> delete every character of ``PUNCT`` (code points below ``sys.maxunicode`` whose
    ``unicodedata`` category starts with ``P``, plus ``string.punctuation``; ``Cf`` and symbols are kept)
    -> the language's article regex replaced by a space -> tokens (``str.split``, or for zh the script's
    ``mixed_segmentation``: each U+4E00..U+9FA5 character and each ``PUNCT`` character alone, the rest
    split on whitespace) joined by one space. The per-language rules are data in the registry
    (`xadv.langs.Language.mlqa`): en ``a an the``; es ``un una unos unas el la los las``; de ``ein eine
    einen einem eines einer der die das den dem des``; vi ``của là cái chiếc những``; ar ``ال`` deleted
    wherever it occurs (even inside a word: ``\\sال^|ال``); hi, zh none. The script knows only these
    seven languages and raises ``Unknown Language`` for any other: so does this mode, as a one-line
    `XadvError` naming the language (`mlqa_refusal`), before anything is predicted; an attack cell of such
    a language is skipped with that line. Use it to report numbers comparable with published MLQA / XQuAD
    (XTREME) results on these languages.

All modes score whitespace tokens (``str.split`` of the normalised string); multilingual and mlqa modes
return Chinese answers with a space between characters, so the same ``split`` gives MLQA's tokens.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections.abc import Container, Iterable
from functools import cache
from typing import Literal

from xadv.errors import XadvError
from xadv.langs import LANGUAGES, MlqaRules, ScorerRules

Mode = Literal["squad", "multilingual", "mlqa"]
MODES: tuple[str, ...] = ("squad", "multilingual", "mlqa")

_ARTICLES_EN = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
_TATWEEL = "\u0640"
_NO_RULES = ScorerRules()


def normalize_squad(text: str) -> str:
    """The official SQuAD v1.1 `normalize_answer` (same steps, same order, same `re` semantics)."""
    text = text.lower().translate(_ASCII_PUNCT_TABLE)
    return " ".join(_ARTICLES_EN.sub(" ", text).split())


@cache
def _multilingual_delete_table() -> dict[int, None]:
    """Code points deleted in multilingual mode: P*, Cf, tatweel and ASCII punctuation.

    Built once, lazily (a scan of all code points takes ~0.2 s), from the same `unicodedata`
    version that performs NFKC, so the two steps never disagree about a character.
    """
    drop = {cp: None for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp))[0] == "P" or unicodedata.category(chr(cp)) == "Cf"}
    drop.update({ord(ch): None for ch in string.punctuation + _TATWEEL})
    return drop


def has_rules(lang: str | None) -> bool:
    """Whether the registry has scoring rules for `lang` (False for None, `und`, unknown codes)."""
    return lang is not None and lang in LANGUAGES


@cache
def _articles(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(unicodedata.normalize("NFC", w) for w in words) + r")\b")


def _strip_prefix(token: str, prefix: str) -> str:
    if token.startswith(prefix) and len(token) - len(prefix) >= 2:
        return token[len(prefix):]
    return token


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fa5"  # the range of MLQA's mixed segmentation, exactly


def cjk_tokens(text: str, alone: Container[str] = ()) -> list[str]:
    """MLQA's mixed segmentation: each CJK ideograph (and each character in `alone`) by itself, the text
    between split on whitespace."""
    tokens: list[str] = []
    run: list[str] = []
    for ch in text:
        if _is_cjk(ch) or ch in alone:
            tokens.extend("".join(run).split())
            run = []
            tokens.append(ch)
        else:
            run.append(ch)
    tokens.extend("".join(run).split())
    return tokens


def normalize_multilingual(text: str, lang: str | None = None) -> str:
    """Script-aware normalisation (see the module docstring for every rule and its reason)."""
    rules = LANGUAGES[lang].scorer if lang is not None and lang in LANGUAGES else _NO_RULES
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = unicodedata.normalize("NFC", text.translate(_multilingual_delete_table()))
    if rules.articles:
        text = _articles(rules.articles).sub(" ", text)
    tokens = cjk_tokens(text) if rules.tokenize == "cjk_chars" else text.split()
    if rules.article_prefix:
        tokens = [_strip_prefix(t, rules.article_prefix) for t in tokens]
    return " ".join(tokens)


MLQA_LANGS: tuple[str, ...] = tuple(code for code, entry in LANGUAGES.items() if entry.mlqa is not None)


def mlqa_refusal(lang: str | None) -> str:
    """"" when the official MLQA evaluation has rules for `lang`, else the one line saying it has none."""
    if lang is not None and lang in LANGUAGES and LANGUAGES[lang].mlqa is not None:
        return ""
    known = " ".join(sorted(MLQA_LANGS))
    if lang is None or lang == "und":
        return (f"--mode mlqa needs each question's language (the official MLQA script's answer_language; it "
                f"knows {known}): use a dataset name or pass --lang")
    return (f"--mode mlqa: the official MLQA evaluation has no rules for language {lang!r} (it raises "
            f"'Unknown Language'; it knows {known}): use --mode multilingual or squad")


def check_mlqa_langs(langs: Iterable[str | None]) -> None:
    """XadvError (one line) when any of `langs` is one the official MLQA evaluation does not know."""
    bad = sorted({lang or "und" for lang in langs if mlqa_refusal(lang)})
    if bad:
        raise XadvError(mlqa_refusal(None if bad[0] == "und" else bad[0]))


def _mlqa_rules(lang: str | None) -> MlqaRules:
    why = mlqa_refusal(lang)
    if why:
        raise XadvError(why)
    rules = LANGUAGES[lang].mlqa if lang is not None else None
    assert rules is not None
    return rules


@cache
def _mlqa_punct() -> frozenset[str]:
    """The official script's PUNCT: categories P* below `sys.maxunicode` (its `range`), plus ASCII punctuation."""
    return frozenset({chr(cp) for cp in range(sys.maxunicode) if unicodedata.category(chr(cp)).startswith("P")}
                     | set(string.punctuation))


@cache
def _mlqa_delete_table() -> dict[int, None]:
    return {ord(ch): None for ch in _mlqa_punct()}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def normalize_mlqa(text: str, lang: str | None) -> str:
    """The official MLQA `normalize_answer(text, lang)` (see the module docstring); XadvError for a
    language the script does not know."""
    rules = _mlqa_rules(lang)
    text = text.lower().translate(_mlqa_delete_table())
    if rules.articles:
        text = _regex(rules.articles).sub(" ", text)
    tokens = cjk_tokens(text, _mlqa_punct()) if rules.tokenize == "cjk_chars" else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def normalize(text: str, mode: Mode = "squad", lang: str | None = None) -> str:
    """Normalise one answer string under `mode`; `lang` matters in multilingual and mlqa modes."""
    if mode == "squad":
        return normalize_squad(text)
    if mode == "multilingual":
        return normalize_multilingual(text, lang)
    if mode == "mlqa":
        return normalize_mlqa(text, lang)
    raise XadvError(f"unknown scoring mode {mode!r} (choose one of: {', '.join(MODES)})")
