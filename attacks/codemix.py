"""Code-mixing: words replaced by their translation, as bilingual speakers mix languages.

For every language but English, touched words become English; for English text, English words become
words of a `partner` language. Translations come from both bilingual dictionaries in
`<data>/dictionaries` (MUSE `xx @ en`, tried first because it lists frequent forms first, then
Wiktionary `en<TAB>xx`; merged in that file order, first entry wins, so no hash order is involved;
parameter `data_dir`, default `xadv.paths.data_dir()`). The source side of an entry is one word in
its script; the target side may be a phrase of up to three words ("ఎంత" -> "how much").

Dictionaries list lemmas, questions use inflected forms, so a word without an exact entry is looked
up through its stems (`stem_candidates`): Korean particles, copula and 하-endings, Korean verb endings
back to the 다-lemma, Telugu case/plural suffixes (and the modern -ం for the dictionary's -ము), Bengali
case suffixes, Swahili subject/tense prefixes, Arabic proclitics; then, for ar fi id ru, a Snowball
stem shared with a dictionary entry (`snowballstemmer`). A hit replaces the whole word, never part of
it; only Korean keeps its particle/ending on the English stem, as Korean-English code-mixing is
written ("서울에서" -> "Seoul에서", "사망했나요" -> "death했나요"). A capitalised word gets a
capitalised translation. Only words with a (stem) entry can be touched, so the applied strength can
fall short of the requested one (it is reported, never padded).

Coverage (`benchmarks/codemix_coverage.py`, first 200 TyDi dev questions per language, question
target, strength 0.2, seed 0), share of questions left unchanged before -> after stems and phrases: te 0.56 -> 0.08,
ko 0.205 -> 0.155, ru 0.085 -> 0.075, id 0.055 -> 0.05, others unchanged (ar 0.11, bn 0.035, fi 0.12,
sw 0.035); what remains is mostly questions too short for strength 0.2 to draw any word.

XQuAD languages (de el es hi ro th tr vi zh, into English) use the same two dictionaries; de el es hi
ro tr add their Snowball stemmer. Chinese and Thai have no spaces: their words come from the registry's
segmenter (jieba, pythainlp newmm; `attacks.text.segment`), each a whole dictionary entry or nothing,
and the English replaces the word in place with no spaces added ("在职业生涯中" -> "在career中"), as
Chinese-English mixing is written. Without the segmenter installed both are refused (`xadv[zh]`, `xadv[th]`).

Example (sw, id "swahili-1", strength 0.4, seed 2): "Mji mkuu wa Kenya ni upi?" -> "Town mkuu be Kenya ni upi?"
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import regex

from xadv.errors import XadvError
from xadv.langs import LANGUAGES

from .alphabets import char_class
from .base import Attack, FieldEdits, FieldInput, perturb_words
from .text import LANG_SCRIPT, Edit, Span, word_script

_SCRIPT_WORD = {s: regex.compile(r"^[\p{Script=" + s + r"}\p{M}]+$") for s in set(LANG_SCRIPT.values())}
_MAX_PHRASE = 3  # words on the target side of an entry

def _longest_first(words: str) -> tuple[str, ...]:
    return tuple(sorted(words.split(), key=len, reverse=True))  # stable: ties keep the written order


# Korean endings kept after a translated stem: particles and copula (after any noun), and the
# endings of 하/되-verbs (after a noun of two syllables or more: 사망했나요 -> death했나요).
_KO_KEPT = _longest_first("으로부터 에서부터 에서는 에서도 으로는 에게서 이라는 이었나요 이었는가 였나요 였는가 인가요 "
                          "입니까 이에요 로부터 에서 으로 에게 부터 까지 이다 에는 라는 인가 인지 이며 이고 이나 "
                          "은 는 이 가 을 를 에 의 로 와 과 도 만")
_KO_VERBAL = _longest_first("하였나요 했습니까 했는가 했나요 하였다 했던 했다 하는 하나요 합니까 되었나요 되었는가 "
                            "됐나요 되었다 되는 된 한 해 하여")
# Korean predicate endings stripped before the 다-lemma is looked up (the whole word is then replaced).
_KO_PREDICATE = _longest_first("습니까 었나요 았나요 었는가 았는가 나요 는가 는지 니까 는 은 던 다")
_SUFFIXES = {
    # Telugu case and plural suffixes (postpositions written attached), Bengali case/classifier suffixes,
    # the Swahili locative -ni
    "te": _longest_first("ాలలో ాలకు ాలు ాల యొక్క నుండి నుంచి లోని లోను లలో లకు లను లతో వారు గారు లో కు కి ను ని తో పై గా లు ల డు"),
    "bn": _longest_first("গুলোর গুলো গুলি দের টির েরা রা টি টা কে তে ের র য় ে"),
    "sw": ("ni",),
}
_PREFIXES = {
    "ar": _longest_first("وبال وال بال كال فال لل ال و ب ل ف"),
    # subject + tense prefixes of Swahili verbs (a-li-zaliwa): the root, then ku+root (the infinitive)
    "sw": tuple(s + t for s in ("ni", "u", "a", "tu", "m", "wa", "i", "zi", "ki", "vi", "li", "ya", "ku", "pa")
                for t in ("li", "na", "ta", "me", "ki")),
}
_SNOWBALL = {"ar": "arabic", "fi": "finnish", "id": "indonesian", "ru": "russian",
             "de": "german", "el": "greek", "es": "spanish", "hi": "hindi", "ro": "romanian", "tr": "turkish"}
# Every registry language but English has en-XX dictionaries in the data folder.
DICT_LANGS: tuple[str, ...] = tuple(code for code in LANGUAGES if code != "en")
_MIN_STEM = 3  # characters (Korean: syllables, below)


def default_dict_dir() -> Path:
    from xadv.paths import data_dir

    return data_dir() / "dictionaries"


def _ok(text: str, script: str, max_words: int = 1) -> bool:
    """One word (or a phrase of up to `max_words`) written in `script` only (letters and marks)."""
    parts = text.split(" ")
    return len(parts) <= max_words and all(_SCRIPT_WORD[script].match(p) for p in parts)


@lru_cache(maxsize=16)
def _pairs(dict_dir: str, lang: str) -> tuple[tuple[str, str], ...]:
    """Usable (xx, en) pairs, MUSE first then Wiktionary, each in file order, NFC; each side one word
    or a short phrase (a lexicon keys single words only)."""
    root = Path(dict_dir)
    muse = root / "muse" / f"en-{lang}.dict"
    wiki = root / "wechsel_wiktionary" / f"en-{lang}.tsv"
    if not muse.is_file() and not wiki.is_file():
        raise XadvError(f"no dictionary for en-{lang}: neither {muse} nor {wiki} exists")
    raw: list[tuple[str, str]] = []
    if muse.is_file():
        for line in muse.read_text(encoding="utf-8").splitlines():
            xx, sep, en = line.partition(" @ ")
            if sep:
                raw.append((xx.strip(), en.strip()))
    if wiki.is_file():
        for line in wiki.read_text(encoding="utf-8").splitlines():
            en, sep, xx = line.partition("\t")
            if sep:
                raw.append((xx.strip(), en.strip()))
    script = LANG_SCRIPT[lang]
    out = [(unicodedata.normalize("NFC", xx), en) for xx, en in raw
           if _ok(xx, script, _MAX_PHRASE) and _ok(en, "Latin", _MAX_PHRASE) and xx.casefold() != en.casefold()]
    if not any(" " not in xx for xx, _ in out):
        raise XadvError(f"dictionary for en-{lang} in {root} has no usable single-word entries")
    return tuple(out)


@lru_cache(maxsize=32)
def load_lexicon(dict_dir: str, lang: str, to_english: bool) -> dict[str, str]:
    """lower-cased source word -> translation (a word or short phrase), for lang->English
    (`to_english`) or English->lang; the first entry in `_pairs` order wins."""
    lexicon: dict[str, str] = {}
    for xx, en in _pairs(dict_dir, lang):
        src, dst = (xx, en) if to_english else (en, xx)
        if " " not in src:
            lexicon.setdefault(src.casefold(), dst)
    return lexicon


@lru_cache(maxsize=8)
def _stemmer(lang: str):
    import snowballstemmer  # picks PyStemmer's C stemmers when installed (a dependency), else pure Python

    return snowballstemmer.stemmer(_SNOWBALL[lang])


def snowball_stem(word: str, lang: str) -> str | None:
    """The Snowball stem of a word of ar fi id ru (None elsewhere or when too short to trust)."""
    if lang not in _SNOWBALL:
        return None
    stem = _stemmer(lang).stemWord(word.casefold())
    return stem if len(stem) >= _MIN_STEM else None


@lru_cache(maxsize=16)
def load_stem_index(dict_dir: str, lang: str) -> dict[str, str]:
    """Snowball stem -> English, from the to-English lexicon in its order (first entry wins): an
    inflected word finds the entry of its lemma when both stem alike (Finnish "kaupungissa" and
    "kaupungin"). Empty for languages without a Snowball stemmer."""
    index: dict[str, str] = {}
    if lang in _SNOWBALL:
        for src, dst in load_lexicon(dict_dir, lang, True).items():
            stem = snowball_stem(src, lang)
            if stem:
                index.setdefault(stem, dst)
    return index


_HANGUL_BASE, _JONG_N, _JONG_SS = 0xAC00, 4, 20


def _ko_lemma(stem: str) -> str | None:
    """A Korean predicate stem back to its 다-lemma: a final ㄴ/ㅆ (attributive, past) is dropped,
    a contracted ㅕ (졌, 렸, 였) reopens to ㅣ: 가진 -> 가지다, 태어났 -> 태어나다, 열렸 -> 열리다."""
    if not stem or not 0xAC00 <= ord(stem[-1]) <= 0xD7A3:
        return None
    code = ord(stem[-1]) - _HANGUL_BASE
    lead, vowel, tail = code // 588, (code % 588) // 28, code % 28
    if tail == _JONG_SS and vowel == 6:  # ㅕ + ㅆ: 지+었 -> 졌
        vowel = 20  # ㅣ
    if tail in (_JONG_N, _JONG_SS):
        tail = 0
    return stem[:-1] + chr(_HANGUL_BASE + lead * 588 + vowel * 28 + tail) + "다"


def _te_forms(stem: str) -> tuple[str, ...]:
    """Telugu dictionary spellings of a stem: the entries use the older -ము where text writes -ం,
    and an oblique stem (గ్రామ) lacks the ending altogether."""
    if stem.endswith("ం"):
        return (stem, stem[:-1] + "ము")
    return (stem, stem + "ము", stem + "ం")


def _strip(word: str, affixes: tuple[str, ...], suffix: bool, min_len: int) -> list[str]:
    """`word` without each matching affix (longest first), when enough of it is left."""
    out = []
    for a in affixes:
        if (word.endswith(a) if suffix else word.startswith(a)) and len(word) - len(a) >= min_len:
            out.append(word[: -len(a)] if suffix else word[len(a):])
    return out


def stem_candidates(word: str, lang: str) -> list[tuple[str, str]]:
    """(dictionary form to look up, ending kept after the translation), most likely first, for an
    inflected `word` (lower-cased, NFC); the kept ending is non-empty only for Korean."""
    if lang == "ko":
        out = [(s, word[len(s):]) for s in _strip(word, _KO_KEPT, True, 1)]
        out += [(s, word[len(s):]) for s in _strip(word, _KO_VERBAL, True, 2)]
        for s in _strip(word, _KO_PREDICATE, True, 1):
            out.append((s + "다", ""))  # the final consonant is the stem's (있는 -> 있다)
            lemma = _ko_lemma(s)  # or the ending's (가진 -> 가지다)
            if lemma:
                out.append((lemma, ""))
        if len(word) >= 2 and _ko_lemma(word):
            out.append((_ko_lemma(word) or "", ""))  # the ending is a final ㄴ/ㅆ alone (가진 -> 가지다)
        return list(dict.fromkeys(out))
    forms = [word]
    for pre in _strip(word, _PREFIXES.get(lang, ()), False, _MIN_STEM):
        forms += [pre, "ku" + pre] if lang == "sw" else [pre]
    once = [s for f in forms for s in _strip(f, _SUFFIXES.get(lang, ()), True, _MIN_STEM)]
    twice = [s for f in once for s in _strip(f, _SUFFIXES.get(lang, ()), True, _MIN_STEM)]
    stems = forms[1:] + once + twice
    if lang == "te":
        stems = [t for s in [word, *stems] for t in _te_forms(s)][1:]
    return [(s, "") for s in dict.fromkeys(stems)]


def _cased_like(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() and new[:1].islower() else new


def translate_word(word: str, lexicon: dict[str, str], lang: str,
                   stem_index: dict[str, str] | None = None, name_like: bool = False) -> str | None:
    """The translation of one whole word, or None without an entry: the exact entry, else a stem
    from `stem_candidates` (a Korean ending stays attached), else a Snowball stem in `stem_index`.
    A `name_like` word (capitalised, not sentence-initial) takes no Snowball match: stems of names
    collide with common words (Finnish "Kurt" would become "Fold", Indonesian "Penang" "Winning")."""
    if len(word) > 1 and word.isupper():
        return None  # acronyms stay
    key = unicodedata.normalize("NFC", word.casefold())
    hit = lexicon.get(key)
    if not hit:
        for stem, kept in stem_candidates(key, lang):
            if stem in lexicon:
                hit = lexicon[stem] + kept
                break
    if not hit and stem_index and not name_like:
        stem = snowball_stem(key, lang)
        hit = stem_index.get(stem) if stem else None
    return _cased_like(hit, word) if hit else None


@dataclass(frozen=True)
class CodeMix(Attack):
    name: str = "codemix"
    description: str = ("Replace a share of the words by their dictionary translation: into English "
                        "for every other language, into `partner` for English text.")
    partner: str = ""
    version: ClassVar[int] = 2  # 2: inflected forms matched through stems (more words replaced than by 1)
    data_dir: str = ""  # the data directory holding dictionaries/ (default: xadv.paths.data_dir())

    def __post_init__(self) -> None:
        """A partner without an en-XX dictionary is an error when the attack is made (an attack name such as
        `codemix:partner=xx` fails when parsed), not a refusal per cell later."""
        if self.partner not in ("", "en", *DICT_LANGS):
            raise XadvError(f"codemix partner {self.partner!r} is not one of en {' '.join(DICT_LANGS)} "
                            "(the en-XX dictionaries)")

    def refusal(self, lang: str) -> str | None:
        if lang == "en":
            if not self.partner or self.partner == "en":
                return ("attack 'codemix' on 'en' (English) text needs a partner language: --attack "
                        "codemix:partner=sw (Python: get_attack('codemix', partner='sw')); one of "
                        f"{' '.join(DICT_LANGS)}")
        elif self.partner not in ("", "en"):
            return (f"codemix mixes {lang!r} text with English only (dictionaries are en-XX); "
                    f"got partner={self.partner!r}")
        return super().refusal(lang)

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        root = str(Path(self.data_dir) / "dictionaries") if self.data_dir else str(default_dict_dir())
        if inp.lang == "en":
            lexicon, src_script, key_lang = load_lexicon(root, self.partner, False), "Latin", "en"
            stems: dict[str, str] = {}
        else:
            lexicon, src_script, key_lang = load_lexicon(root, inp.lang, True), LANG_SCRIPT[inp.lang], inp.lang
            stems = load_stem_index(root, inp.lang)

        def edit(w: Span, r: random.Random) -> list[Edit] | None:
            if word_script(w.text) != src_script:
                return None
            if inp.lang == "th" and sum(char_class(c) == "consonant" for c in w.text) < 2:
                return None  # a lone Thai letter is a segmentation leftover of a name, not a word
            name_like = w.text[:1].isupper() and bool(inp.text[: w.start].strip())
            new = translate_word(w.text, lexicon, key_lang, stems, name_like)
            return [Edit(w.start, w.end, new, "codemix")] if new else None

        out = perturb_words(inp, strength, rng, edit)
        if not LANGUAGES[inp.lang].spaced:
            out = FieldEdits(spaced_out(inp.text, out.edits), out.units_total, out.units_touched)
        return out


def _joins(ch: str) -> bool:
    return bool(ch) and unicodedata.category(ch)[0] in "LNM"


def spaced_out(text: str, edits: list[Edit]) -> list[Edit]:
    """English put into unspaced text (zh, th) set off by one space from a neighbouring letter or digit,
    so two translated neighbours never run together ("timesalways"); a space between two adjacent
    translations is added once (by the right one)."""
    edits = sorted(edits, key=lambda e: e.start)
    out = []
    for i, e in enumerate(edits):
        prev = edits[i - 1] if i and edits[i - 1].end == e.start else None
        after_next = i + 1 < len(edits) and edits[i + 1].start == e.end
        left = _joins(prev.new[-1:] if prev else text[e.start - 1 : e.start])
        right = not after_next and _joins(text[e.end : e.end + 1])
        out.append(Edit(e.start, e.end, " " * left + e.new + " " * right, e.kind))
    return out
