"""The languages xadv knows, as data: one frozen `Language` per code, and how TyDi names them.

Everything that depends on a language (scoring rules, which datasets cover it, whether attacks may
run on it) reads it from `LANGUAGES` instead of a hard-coded list, so adding a language is one entry.
`TYDI_LANGS` stays the nine TyDi QA GoldP languages (attacks and the research grid are built on them).

Scorer rules follow the official MLQA evaluation (`mlqa_evaluation_v1.py`, Lewis et al. 2020) where it
has one: per-language article lists for de/es/vi (and en, as SQuAD), Chinese split into characters.
Two deliberate differences, both to keep TyDi numbers unchanged: Arabic keeps xadv's prefix rule
(`ال` dropped from the start of a word; MLQA deletes the substring anywhere), and punctuation is one
set for every language (Unicode `P*` plus ASCII punctuation, as MLQA), so it is not a per-language field.

`Language.mlqa` is the official script's own rule, verbatim, for the `mlqa` scorer mode (no differences
at all); it is None for the languages the script does not know (it raises "Unknown Language" for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xadv.errors import XadvError

TYDI_LANGS: tuple[str, ...] = ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")

# TyDi QA ids start with the language's English name: "swahili-1234...".
TYDI_ID_PREFIX: dict[str, str] = {
    "ar": "arabic",
    "bn": "bengali",
    "en": "english",
    "fi": "finnish",
    "id": "indonesian",
    "ko": "korean",
    "ru": "russian",
    "sw": "swahili",
    "te": "telugu",
}
PREFIX_TO_LANG: dict[str, str] = {v: k for k, v in TYDI_ID_PREFIX.items()}

Tokenization = Literal["whitespace", "cjk_chars"]


@dataclass(frozen=True)
class ScorerRules:
    """What the multilingual scorer does for one language after the shared Unicode steps.

    articles: whole words dropped (matched with `\\b...\\b` on the case-folded text), as in MLQA.
    article_prefix: a prefix dropped from each token when two or more characters remain (Arabic `ال`).
    tokenize: `whitespace`, or `cjk_chars` (MLQA's mixed segmentation: every CJK ideograph in
    U+4E00..U+9FA5 is a token, other text is split on whitespace), for scripts without spaces.
    """

    articles: tuple[str, ...] = ()
    article_prefix: str = ""
    tokenize: Tokenization = "whitespace"


@dataclass(frozen=True)
class MlqaRules:
    """The official MLQA evaluation's (`mlqa_evaluation_v1.py`) rule for one answer language, verbatim.

    articles: the script's `remove_articles` regex for the language, character for character ("" where it
    returns the text unchanged: hi, zh); matches are replaced by a space. Arabic's `\\sال^|ال` deletes
    `ال` anywhere (its first branch can never match: `^` after consumed characters).
    tokenize: `whitespace` (the script's WHITESPACE_LANGS) or `cjk_chars` (MIXED_SEGMENTATION_LANGS:
    `mixed_segmentation`, each U+4E00..U+9FA5 character and each punctuation character alone).
    """

    articles: str = ""
    tokenize: Tokenization = "whitespace"


@dataclass(frozen=True)
class Language:
    """One language: identity, writing, scoring, and where xadv has data for it.

    spaced: words are separated by spaces (False for zh and th). Thai is unspaced but keeps
    whitespace tokens: no official QA metric segments Thai (XQuAD scores it with the SQuAD script),
    and segmenting needs a dictionary model, so Thai token F1 is coarse (close to EM).
    langid_reliable: py3langid, restricted to the registry's languages, names the language of its
    XQuAD/TyDi dev questions >= 95% of the time (measured; see `docs/ARCHITECTURE.md`).
    segmenter: for an unspaced language, the optional package that cuts its text into words
    (`jieba` for zh, `pythainlp` for th; pip extra `xadv[<code>]`); word-level attacks refuse the
    language with one line when it is not installed. "" for spaced languages.
    mlqa: the official MLQA evaluation's rule (`--mode mlqa`); None where the script has none.
    """

    code: str
    name: str
    scripts: tuple[str, ...]
    spaced: bool
    scorer: ScorerRules
    datasets: tuple[str, ...]
    langid_reliable: bool
    segmenter: str = ""
    mlqa: MlqaRules | None = None


_NONE = ScorerRules()
_TYDI = ("tydiqa",)
_XQ = ("xquad",)
_MLQA = ("mlqa",)
# The official MLQA script's articles per answer language (`mlqa_evaluation_v1.py`, remove_articles).
_MLQA_EN = MlqaRules(r"\b(a|an|the)\b")
_MLQA_ES = MlqaRules(r"\b(un|una|unos|unas|el|la|los|las)\b")
_MLQA_HI = MlqaRules()  # "Hindi does not have formal articles"
_MLQA_VI = MlqaRules(r"\b(của|là|cái|chiếc|những)\b")
_MLQA_DE = MlqaRules(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b")
_MLQA_AR = MlqaRules(r"\sال^|ال")
_MLQA_ZH = MlqaRules(tokenize="cjk_chars")  # "Chinese does not have formal articles"; mixed segmentation

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    # The nine TyDi languages: rules exactly as xadv scored them before the registry existed.
    Language("ar", "Arabic", ("Arab",), True, ScorerRules(article_prefix="ال"), _TYDI + _XQ + _MLQA, True,
             mlqa=_MLQA_AR),
    Language("bn", "Bengali", ("Beng",), True, _NONE, _TYDI, True),
    Language("en", "English", ("Latn",), True, ScorerRules(articles=("a", "an", "the")),
             _TYDI + _XQ + _MLQA + ("squad",), True, mlqa=_MLQA_EN),
    Language("fi", "Finnish", ("Latn",), True, _NONE, _TYDI, True),
    Language("id", "Indonesian", ("Latn",), True, _NONE, _TYDI, True),
    Language("ko", "Korean", ("Hang",), True, _NONE, _TYDI, True),
    Language("ru", "Russian", ("Cyrl",), True, _NONE, _TYDI + _XQ, True),
    Language("sw", "Swahili", ("Latn",), True, _NONE, _TYDI, True),
    Language("te", "Telugu", ("Telu",), True, _NONE, _TYDI, True),
    # XQuAD / MLQA languages; articles as listed by the official MLQA evaluation.
    Language("de", "German", ("Latn",), True,
             ScorerRules(articles=("ein", "eine", "einen", "einem", "eines", "einer",
                                   "der", "die", "das", "den", "dem", "des")), _XQ + _MLQA, True,
             mlqa=_MLQA_DE),
    Language("el", "Greek", ("Grek",), True, _NONE, _XQ, True),
    Language("es", "Spanish", ("Latn",), True,
             ScorerRules(articles=("un", "una", "unos", "unas", "el", "la", "los", "las")), _XQ + _MLQA, True,
             mlqa=_MLQA_ES),
    Language("hi", "Hindi", ("Deva",), True, _NONE, _XQ + _MLQA, True, mlqa=_MLQA_HI),
    Language("ro", "Romanian", ("Latn",), True, _NONE, _XQ, True),
    Language("th", "Thai", ("Thai",), False, _NONE, _XQ, True, segmenter="pythainlp"),
    Language("tr", "Turkish", ("Latn",), True, _NONE, _XQ, True),
    Language("vi", "Vietnamese", ("Latn",), True,
             ScorerRules(articles=("của", "là", "cái", "chiếc", "những")), _XQ + _MLQA, True,
             mlqa=_MLQA_VI),
    Language("zh", "Chinese", ("Hani",), False, ScorerRules(tokenize="cjk_chars"), _XQ + _MLQA, True,
             segmenter="jieba", mlqa=_MLQA_ZH),
)}


def language(code: str) -> Language:
    """The registry entry for `code`; a one-line XadvError naming the known codes otherwise."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise XadvError(f"unknown language {code!r}; known: {' '.join(LANGUAGES)}") from None


def dataset_langs(dataset: str) -> tuple[str, ...]:
    """The languages a dataset covers, by code (so `dataset_langs("tydiqa") == TYDI_LANGS`)."""
    return tuple(sorted(code for code, lang in LANGUAGES.items() if dataset in lang.datasets))


def unsupported(what: str, lang: str, supported: tuple[str, ...], why: str = "") -> str:
    """The one-line refusal for `lang` outside `supported`; with `why`, the reason instead of the list."""
    if why:
        return f"{what} does not support language {lang!r} ({LANGUAGES[lang].name}): {why}"
    return f"{what} does not support language {lang!r} (supported: {' '.join(supported)})"


def lang_from_tydi_id(example_id: str) -> str | None:
    """Language code of a TyDi QA id (`swahili-...` -> `sw`), or None if it has no known prefix."""
    prefix = example_id.split("-", 1)[0].lower()
    return PREFIX_TO_LANG.get(prefix)
