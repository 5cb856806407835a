"""Segmentation and the edit engine: the ONE place that splits text and changes it.

Why one place: every attack must keep the gold answer spans valid
(`context[answer_start:answer_start+len(text)] == text`) and must never tear a base letter from its
combining marks. Tools built for English get both wrong (TextAttack's `\\w` drops Bengali vowel signs;
ASCII inserted into Telugu leaves dangling viramas), so attacks here never slice text themselves:
they segment with `words` / `graphemes` / `sentences`, propose `Edit`s to an `EditPlan` (which
refuses overlapping edits and edits that touch a protected answer span), and `apply_edits` returns
the new text with a monotone `OffsetMap` that remaps answer offsets.
"""

from __future__ import annotations

import bisect
import importlib.util
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import regex

from xadv.langs import LANGUAGES

# --------------------------------------------------------------------------- segmentation

# Invisible format characters that may sit *inside* a word (ZWNJ/ZWJ shape Indic and Arabic words;
# the invisible-character attack inserts the others). A word never starts with one.
JOINERS = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060"
_WORD = regex.compile(
    r"[\p{L}\p{N}]"
    r"(?:[\p{L}\p{N}\p{M}]"
    r"|[" + JOINERS + r"]+(?=[\p{L}\p{N}\p{M}])"
    r"|['\u2019\-](?=[\p{L}\p{N}]))*"
)
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class Span:
    """A half-open character span `[start, end)` of some text, with its text."""

    start: int
    end: int
    text: str


def words(text: str) -> list[Span]:
    """Script-aware words: letters/digits with all their combining marks and in-word joiners.

    A word never splits a base letter from its marks (Bengali/Telugu vowel signs and viramas, Arabic
    harakat) and keeps Hangul syllables whole; apostrophes and hyphens between letters stay inside.
    """
    return [Span(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def graphemes(text: str, offset: int = 0) -> list[Span]:
    """Extended grapheme clusters (`regex` `\\X`, which keeps Indic conjuncts like ক্ত together)."""
    return [Span(m.start() + offset, m.end() + offset, m.group()) for m in _GRAPHEME.finditer(text)]


def segmenter_missing(lang: str) -> str | None:
    """Why the words of unspaced `lang` (zh, th) cannot be found here (its optional segmenter is not
    installed), or None: a word-level attack then refuses the language instead of treating a whole
    clause as one word."""
    info = LANGUAGES.get(lang)
    if info is None or not info.segmenter or importlib.util.find_spec(info.segmenter) is not None:
        return None
    return (f"{info.name} is written without spaces and its word segmenter is not installed "
            f"(pip install 'xadv[{lang}]', which adds {info.segmenter})")


@lru_cache(maxsize=None)
def _cutter(lang: str):
    """The segmenter of an unspaced language, imported on first use (never at `import attacks`)."""
    if lang == "zh":
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        return lambda t: jieba.lcut(t, HMM=True)
    from pythainlp.tokenize import word_tokenize

    return lambda t: word_tokenize(t, engine="newmm", keep_whitespace=True)


def _cut(span: Span, lang: str) -> list[Span]:
    """`span` (one `words` run) cut by the segmenter at grapheme boundaries only; the whole run when
    the segmenter's pieces do not spell it out exactly."""
    pieces = _cutter(lang)(span.text)
    if "".join(pieces) != span.text:
        return [span]
    bounds = {g.end for g in graphemes(span.text)}
    out: list[Span] = []
    pos = start = 0
    for piece in pieces:
        pos += len(piece)
        if pos in bounds and pos > start:
            out.append(Span(span.start + start, span.start + pos, span.text[start:pos]))
            start = pos
    return [w for w in out if _WORD.fullmatch(w.text)] if out else [span]


@lru_cache(maxsize=4096)
def _segment(text: str, lang: str) -> tuple[Span, ...]:
    return tuple(w for run in words(text) for w in _cut(run, lang))


def segment(text: str, lang: str) -> list[Span]:
    """The words of `text` in `lang`: `words` for spaced languages; for zh and th (no spaces) each
    `words` run is cut by the registry's segmenter (jieba, pythainlp newmm), never inside a grapheme
    cluster. Unspaced text without its segmenter keeps whole runs (callers refuse first:
    `segmenter_missing`)."""
    info = LANGUAGES.get(lang)
    if info is None or not info.segmenter or segmenter_missing(lang):
        return words(text)
    return list(_segment(text, lang))


# Sentence terminators of the nine languages: Latin/Cyrillic/Korean/Telugu `.`, Bengali dari `।`,
# Arabic question mark `؟` and full stop `۔`, plus `!`, `?`, `…`, `‼`, `॥`.
_TERMINATORS = ".!?\u0964\u0965\u061f\u06d4\u2026\u203c"
_SENT_END = regex.compile(
    r"[" + regex.escape(_TERMINATORS) + r"]+"  # the terminator(s)
    r"[\"'\u201d\u2019\u00bb)\]]*"  # closing quotes / brackets
    r"(?:\[\d+\])*"  # Wikipedia citation markers like [11]
    r"(?=\s)"
)
_CASED = regex.compile(r"[\p{Lu}\p{Ll}\p{Lt}]")
# A word before `.` that makes it an abbreviation, not a sentence end: dotted letters in any script
# (`U.S`, `i.e`, `т.е`: two or more one-to-three-letter groups), and English titles and labels.
_DOTTED = regex.compile(r"(?:\p{L}{1,3}\.)+\p{L}{1,3}")
_EN_ABBREVIATIONS = frozenset("Mr Mrs Ms Dr St Jr Sr Prof Gen Col Lt Capt Sgt Rev No Vol Mt Ft vs".split())


# Chinese ends sentences with full-width terminators and no space after them.
_CJK_SENT_END = regex.compile(r"[\u3002\uff01\uff1f]+[\u201d\u2019\u300d\u300f\uff09]*(?=\s*\S)")


def sentences(text: str, lang: str = "") -> list[Span]:
    """Sentence spans (without surrounding whitespace), split at script-aware terminators.

    Chinese (`lang="zh"`) also ends a sentence at 。！？ with no space after it (only there, so
    the other languages split as they always did). A `.` only ends a sentence when the next word does
    not start with a lower-case letter (so Finnish ordinals `15. toukokuuta` and `e.g. this` stay
    whole) and the word before it is not a single capital letter (initials like `J. R. R.`), dotted
    letters (`U.S. Army`, `т.е.`) or, in English (and when no language is given), a title or label like
    `St.`, `Dr.`, `No.`. The cost: a sentence that really ends in `U.S.` is not split there.
    """
    bounds: list[int] = []
    for m in _SENT_END.finditer(text):
        end = m.end()
        nxt = regex.match(r"\s+(\S)", text[end:])
        if nxt is None:
            continue
        first = nxt.group(1)
        if m.group().startswith(".") and not m.group().startswith(".."):
            if _CASED.match(first) and first.islower():
                continue
            before = regex.search(r"(?:^|\s)(\S+)$", text[: m.start()])
            word = before.group(1).lstrip("(\"'\u201c\u2018") if before else ""
            if len(word) == 1 and word.isupper():
                continue
            if _DOTTED.fullmatch(word) or (lang in ("en", "") and word in _EN_ABBREVIATIONS):
                continue
        bounds.append(end)
    if lang == "zh":
        bounds = sorted({*bounds, *(m.end() for m in _CJK_SENT_END.finditer(text))})
    spans: list[Span] = []
    start = 0
    for b in [*bounds, len(text)]:
        chunk = text[start:b]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk.rstrip())
        if trail > lead:
            spans.append(Span(start + lead, start + trail, chunk[lead:trail]))
        start = b
    return spans


# --------------------------------------------------------------------------- scripts

SCRIPTS = ("Latin", "Cyrillic", "Arabic", "Bengali", "Telugu", "Hangul", "Greek", "Devanagari", "Han", "Thai")
_SCRIPT_RES = {s: regex.compile(r"\p{Script=" + s + r"}") for s in SCRIPTS}
# ISO 15924 codes of the registry -> the Unicode script names above.
_ISO_SCRIPT = {"Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Beng": "Bengali", "Telu": "Telugu",
               "Hang": "Hangul", "Grek": "Greek", "Deva": "Devanagari", "Hani": "Han", "Thai": "Thai"}
# Each language's own script, from the registry (`xadv.langs.LANGUAGES`).
LANG_SCRIPT: dict[str, str] = {code: _ISO_SCRIPT[lang.scripts[0]] for code, lang in LANGUAGES.items()}


@lru_cache(maxsize=4096)
def char_script(ch: str) -> str:
    """The Unicode script of one character among those attacks know, else "Other"."""
    for name, rx in _SCRIPT_RES.items():
        if rx.match(ch):
            return name
    return "Other"


def word_script(word: str) -> str:
    """The majority script of a word's letters ("Other" for digits-only or unknown scripts)."""
    counts: dict[str, int] = {}
    for ch in word:
        if unicodedata.category(ch).startswith("L"):
            s = char_script(ch)
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return "Other"
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]


# --------------------------------------------------------------------------- Hangul jamo

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
# Compound jamo are typed as two keys on a Dubeolsik keyboard.
JAMO_KEYS: dict[str, str] = {
    "ㅘ": "ㅗㅏ", "ㅙ": "ㅗㅐ", "ㅚ": "ㅗㅣ", "ㅝ": "ㅜㅓ", "ㅞ": "ㅜㅔ", "ㅟ": "ㅜㅣ", "ㅢ": "ㅡㅣ",
    "ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴㅎ", "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ",
    "ㄾ": "ㄹㅌ", "ㄿ": "ㄹㅍ", "ㅀ": "ㄹㅎ", "ㅄ": "ㅂㅅ",
}
_KEYS_JAMO = {v: k for k, v in JAMO_KEYS.items()}
_SBASE, _NV, _NT = 0xAC00, 21, 28


def is_hangul_syllable(ch: str) -> bool:
    return len(ch) == 1 and 0xAC00 <= ord(ch) <= 0xD7A3


def hangul_split(syllable: str) -> tuple[str, str, str] | None:
    """A precomposed syllable as (initial, medial, final) compatibility jamo; final may be ""."""
    if not is_hangul_syllable(syllable):
        return None
    i = ord(syllable) - _SBASE
    return CHOSEONG[i // (_NV * _NT)], JUNGSEONG[(i // _NT) % _NV], JONGSEONG[i % _NT]


def hangul_join(initial: str, medial: str, final: str = "") -> str | None:
    """Compose compatibility jamo into one syllable, or None if they cannot fill those slots."""
    if initial not in CHOSEONG or medial not in JUNGSEONG or final not in JONGSEONG:
        return None
    li, vi, ti = CHOSEONG.index(initial), JUNGSEONG.index(medial), JONGSEONG.index(final)
    return chr(_SBASE + (li * _NV + vi) * _NT + ti)


def jamo_keys(jamo: str) -> str:
    """The Dubeolsik keystrokes that type one jamo (compounds take two keys)."""
    return JAMO_KEYS.get(jamo, jamo)


def jamo_from_keys(keys: str) -> str:
    """Inverse of `jamo_keys` ("" stays ""; an invalid pair returns the keys unchanged)."""
    return _KEYS_JAMO.get(keys, keys)


# --------------------------------------------------------------------------- edits and offsets


@dataclass(frozen=True)
class Edit:
    """Replace `text[start:end]` by `new` (an insertion when start == end)."""

    start: int
    end: int
    new: str
    kind: str = ""


class EditRefused(ValueError):
    """An edit overlaps another edit or a protected span (a bug in the attack that proposed it)."""


def _touches(edit: Edit, span: tuple[int, int]) -> bool:
    s, e = span
    if edit.start == edit.end:  # insertion: only strictly inside the span changes it
        return s < edit.start < e
    return edit.start < e and s < edit.end


def _span(edit: Edit) -> tuple[int, int]:
    return edit.start, edit.end


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start  # two insertions at one point: order would be ambiguous
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


@dataclass(frozen=True)
class OffsetMap:
    """Monotone map from offsets of the old text to offsets of the new text.

    `side="left"` maps a span start (an insertion exactly there goes before it), `side="right"` maps
    a span end (an insertion exactly there goes after it). Offsets inside a replaced region map to
    the start (left) or end (right) of its replacement.
    """

    edits: tuple[Edit, ...]

    def map(self, pos: int, side: str = "left") -> int:
        delta = 0
        for e in self.edits:
            if e.start == e.end:  # an insertion
                if e.start < pos or (e.start == pos and side == "left"):
                    delta += len(e.new)
                    continue
                break
            if e.end <= pos:
                delta += len(e.new) - (e.end - e.start)
                continue
            if e.start >= pos:
                break
            # pos lies strictly inside a replaced region
            return e.start + delta + (len(e.new) if side == "right" else 0)
        return pos + delta


def apply_edits(text: str, edits, protected=(), allow_protected: bool = False) -> tuple[str, OffsetMap]:
    """Apply non-overlapping edits at once; raises EditRefused on overlap or a protected touch."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for i, e in enumerate(ordered):
        if not (0 <= e.start <= e.end <= len(text)):
            raise EditRefused(f"edit {e} is outside the text of length {len(text)}")
        if i and _overlaps(ordered[i - 1], e):
            raise EditRefused(f"edits overlap: {ordered[i - 1]} and {e}")
        if not allow_protected and any(_touches(e, p) for p in protected):
            raise EditRefused(f"edit {e} touches a protected span")
    out: list[str] = []
    pos = 0
    for e in ordered:
        out.append(text[pos : e.start])
        out.append(e.new)
        pos = e.end
    out.append(text[pos:])
    return "".join(out), OffsetMap(tuple(ordered))


class EditPlan:
    """Collects edits for one text, refusing (returning False for) any that would overlap an
    accepted edit or touch a protected span, so attacks can simply try candidates in turn."""

    def __init__(self, text: str, protected=(), allow_protected: bool = False):
        self.text = text
        self.protected = tuple(protected)
        self.allow_protected = allow_protected
        self._edits: list[Edit] = []  # in the order added (add_all rolls back its tail)
        self._sorted: list[Edit] = []  # the same edits by (start, end): overlap checks look at neighbours only

    @property
    def edits(self) -> list[Edit]:
        return sorted(self._edits, key=lambda e: (e.start, e.end))

    def can_add(self, edit: Edit) -> bool:
        if not (0 <= edit.start <= edit.end <= len(self.text)):
            return False
        if self.text[edit.start : edit.end] == edit.new:
            return False  # a no-op is not an edit
        if not self.allow_protected and any(_touches(edit, p) for p in self.protected):
            return False
        # Accepted edits never overlap, so sorted by (start, end) each ends where or before the next begins:
        # an edit that overlaps any of them overlaps one next to where it would be sorted in.
        i = bisect.bisect_left(self._sorted, (edit.start, edit.end), key=_span)
        return not any(_overlaps(edit, e) for e in self._sorted[max(0, i - 2): i + 2])

    def add(self, edit: Edit) -> bool:
        if not self.can_add(edit):
            return False
        self._edits.append(edit)
        bisect.insort(self._sorted, edit, key=_span)
        return True

    def add_all(self, edits) -> bool:
        """Add a group of edits atomically: all or none."""
        edits = list(edits)
        n = len(self._edits)
        for e in edits:
            if not self.add(e):
                for undone in self._edits[n:]:
                    self._sorted.remove(undone)
                del self._edits[n:]
                return False
        return bool(edits)

    def apply(self) -> tuple[str, OffsetMap]:
        return apply_edits(self.text, self._edits, self.protected, self.allow_protected)


def remap_answers(answers: dict, context: str, offsets: OffsetMap, allow_changed: bool = False) -> dict:
    """Answers `{text: [...], answer_start: [...]}` of the old context, moved into the new context.

    Unless `allow_changed`, every answer text must be unchanged (the invariant attacks promise)."""
    texts, starts = [], []
    for t, s in zip(answers["text"], answers["answer_start"]):
        ns = offsets.map(s, "left")
        ne = offsets.map(s + len(t), "right")
        nt = context[ns:ne]
        if nt != t and not allow_changed:
            raise EditRefused(f"answer {t!r} at {s} became {nt!r}")
        texts.append(nt)
        starts.append(ns)
    return {"text": texts, "answer_start": starts}


# --------------------------------------------------------------------------- validation

_INDIC_BLOCKS = ((0x0980, 0x09FF), (0x0C00, 0x0C7F), (0x0900, 0x097F))  # Bengali, Telugu, Devanagari
VIRAMAS = "\u09cd\u0c4d\u094d"  # Bengali, Telugu, Devanagari: nothing may be inserted right after one
# Two-part vowel signs: the second part may follow the first (ো = ে + া, ৌ = ে + ৗ, ై = ె + ౖ).
_SIGN_PAIRS = {("\u09c7", "\u09be"), ("\u09c7", "\u09d7"), ("\u0c46", "\u0c56")}


@lru_cache(maxsize=1024)
def indic_class(ch: str) -> str:
    """Class of a Bengali/Telugu/Devanagari code point: consonant, vowel, sign, virama, nukta, mark or other."""
    name = unicodedata.name(ch, "")
    cat = unicodedata.category(ch)
    if "VIRAMA" in name:
        return "virama"
    if "NUKTA" in name:
        return "nukta"
    if "VOWEL SIGN" in name or "AU LENGTH MARK" in name or "AI LENGTH MARK" in name:
        return "sign"
    if cat.startswith("M"):
        return "mark"
    if cat == "Lo" and ("BENGALI LETTER" in name or "TELUGU LETTER" in name or "DEVANAGARI LETTER" in name):
        rest = name.split(" LETTER ", 1)[1]
        if rest in _INDEPENDENT_VOWELS:
            return "vowel"
        return "consonant"
    return "other"


_INDEPENDENT_VOWELS = {
    "A", "AA", "I", "II", "U", "UU", "VOCALIC R", "VOCALIC RR", "VOCALIC L", "VOCALIC LL",
    "E", "EE", "AI", "O", "OO", "AU",
    # Devanagari only
    "CANDRA E", "SHORT E", "CANDRA O", "SHORT O", "CANDRA A", "SHORT A",
}


def _indic(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _INDIC_BLOCKS)


def orphan_marks(text: str) -> list[int]:
    """Offsets of combining marks with nothing to sit on.

    Generic rule: a mark at the start of the text or after a character that is not a letter, digit
    or mark (a space, punctuation). Bengali/Telugu rule: a vowel sign or virama must follow a
    consonant (or nukta), a nukta must follow a consonant; only the second half of a two-part vowel
    sign may follow a vowel sign; a virama may also follow ZWJ or Bengali অ (অ্যা).
    """
    bad: list[int] = []
    prev = base = ""  # the previous character, and the previous one that is not ZWJ/ZWNJ
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if cat.startswith("M"):
            if not base or unicodedata.category(base)[0] not in "LNM":
                bad.append(i)
            elif _indic(ch):
                cls, pcls = indic_class(ch), indic_class(prev) if _indic(prev) else "foreign"
                if cls in ("sign", "virama"):
                    ok = pcls in ("consonant", "nukta") or (prev, ch) in _SIGN_PAIRS
                    # অ্যা (the Bengali "æ") and র‍্য (ZWJ before the virama) are standard spellings.
                    ok = ok or (cls == "virama" and prev in "\u0985\u200d")
                    if not ok:
                        bad.append(i)
                elif cls == "nukta" and pcls != "consonant":
                    bad.append(i)
        prev = ch
        if ch not in "\u200c\u200d":
            base = ch
    return bad


def text_problems(before: str, after: str, expect_nfc: bool = True) -> list[str]:
    """Why `after` (an edit of `before`) is malformed; [] when it is fine.

    Problems are only counted when the edit introduced them: more orphan marks than before, text
    that cannot be encoded as UTF-8 (lone surrogates), or a text that was NFC and no longer is
    (when `expect_nfc`; the NFD attack is the one that deliberately breaks NFC).
    """
    problems: list[str] = []
    try:
        after.encode("utf-8")
    except UnicodeEncodeError as exc:
        problems.append(f"not valid UTF-8: {exc.reason} at {exc.start}")
    n_before, orphans = len(orphan_marks(before)), orphan_marks(after)
    if len(orphans) > n_before:
        i = orphans[0]
        problems.append(f"{len(orphans) - n_before} new orphan mark(s), e.g. at {i}: {after[max(0, i - 3): i + 2]!r}")
    if expect_nfc and unicodedata.is_normalized("NFC", before) and not unicodedata.is_normalized("NFC", after):
        problems.append("text was NFC and is not any more")
    return problems
