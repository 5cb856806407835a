"""Code-mixing: words replaced by their translation, as bilingual speakers mix languages.

For ar bn fi id ko ru sw te, touched words become English; for English text, English words become
words of a `partner` language. Translations come from the bilingual dictionaries in
`<data>/dictionaries` (MUSE `xx @ en`, tried first because it lists frequent forms first, then
Wiktionary `en<TAB>xx`; parameter `data_dir`, default `xadv.paths.data_dir()`); only single-word entries whose
two sides are in the expected scripts are
used. A capitalised word gets a capitalised translation. Korean particles stay attached to the
translated stem, as Korean-English code-mixing does ("서울에서" -> "Seoul에서"). Only words with a
dictionary entry can be touched, so the applied strength can fall short of the requested one in
highly inflected languages (it is reported, never padded).

Example (sw, strength 0.4, seed 2): "Mji mkuu wa Kenya ni upi?" -> "Town chief wa Kenya ni upi?"
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex

from xadv.errors import XadvError
from xadv.langs import TYDI_LANGS

from .base import Attack, FieldEdits, FieldInput, perturb_words
from .text import LANG_SCRIPT, Edit, Span, word_script

_SCRIPT_WORD = {s: regex.compile(r"^[\p{Script=" + s + r"}\p{M}]+$") for s in set(LANG_SCRIPT.values())}
# Korean particles and copula endings, longest first, kept after a translated stem.
_KO_PARTICLES = ("에서는", "에서도", "으로는", "에게서", "이라는", "에서", "으로", "에게", "부터", "까지",
                 "이다", "에는", "라는", "은", "는", "이", "가", "을", "를", "에", "의", "로", "와", "과",
                 "도", "만")


def default_dict_dir() -> Path:
    from xadv.paths import data_dir

    return data_dir() / "dictionaries"


def _ok(word: str, script: str) -> bool:
    """A single word written in `script` only (letters and marks)."""
    return bool(_SCRIPT_WORD[script].match(word))


@lru_cache(maxsize=16)
def _pairs(dict_dir: str, lang: str) -> tuple[tuple[str, str], ...]:
    """Usable (xx, en) single-word pairs, MUSE first, NFC, in file order."""
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
    xx_ok, en_ok = _SCRIPT_WORD[LANG_SCRIPT[lang]].match, _SCRIPT_WORD["Latin"].match
    out = [(unicodedata.normalize("NFC", xx), en) for xx, en in raw
           if xx_ok(xx) and en_ok(en) and xx.casefold() != en.casefold()]
    if not out:
        raise XadvError(f"dictionary for en-{lang} in {root} has no usable single-word entries")
    return tuple(out)


@lru_cache(maxsize=32)
def load_lexicon(dict_dir: str, lang: str, to_english: bool) -> dict[str, str]:
    """lower-cased source word -> translation, for lang->English (`to_english`) or English->lang."""
    lexicon: dict[str, str] = {}
    for xx, en in _pairs(dict_dir, lang):
        src, dst = (xx, en) if to_english else (en, xx)
        lexicon.setdefault(src.casefold(), dst)
    return lexicon


def _cased_like(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() and new[:1].islower() else new


def translate_word(word: str, lexicon: dict[str, str], lang: str) -> str | None:
    """The translation of one word (keeping a Korean particle), or None without an entry."""
    if len(word) > 1 and word.isupper():
        return None  # acronyms stay
    hit = lexicon.get(unicodedata.normalize("NFC", word.casefold()))
    if hit:
        return _cased_like(hit, word)
    if lang == "ko":
        for p in _KO_PARTICLES:
            if word.endswith(p) and len(word) > len(p):
                stem = lexicon.get(word[: -len(p)])
                if stem:
                    return stem + p
    return None


@dataclass(frozen=True)
class CodeMix(Attack):
    name: str = "codemix"
    description: str = ("Replace a share of the words by their dictionary translation: into English "
                        "for ar bn fi id ko ru sw te, into `partner` for English text.")
    partner: str = ""
    data_dir: str = ""  # the data directory holding dictionaries/ (default: xadv.paths.data_dir())

    def refusal(self, lang: str) -> str | None:
        if lang == "en":
            if not self.partner or self.partner == "en":
                return ("attack 'codemix' on 'en' (English) text needs a partner language: "
                        "get_attack('codemix', partner='sw') (one of ar bn fi id ko ru sw te)")
            if self.partner not in TYDI_LANGS:
                return f"codemix partner {self.partner!r} is not one of ar bn fi id ko ru sw te"
        elif self.partner not in ("", "en"):
            return (f"codemix mixes {lang!r} text with English only (dictionaries are en-XX); "
                    f"got partner={self.partner!r}")
        return super().refusal(lang)

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        root = str(Path(self.data_dir) / "dictionaries") if self.data_dir else str(default_dict_dir())
        if inp.lang == "en":
            lexicon, src_script, key_lang = load_lexicon(root, self.partner, False), "Latin", "en"
        else:
            lexicon, src_script, key_lang = load_lexicon(root, inp.lang, True), LANG_SCRIPT[inp.lang], inp.lang

        def edit(w: Span, r: random.Random) -> list[Edit] | None:
            if word_script(w.text) != src_script:
                return None
            new = translate_word(w.text, lexicon, key_lang)
            return [Edit(w.start, w.end, new, "codemix")] if new else None

        return perturb_words(inp, strength, rng, edit)
