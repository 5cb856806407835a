"""The attack interface: an Attack perturbs one QA example and says exactly what it changed.

An example is a data-layer row: `{id, lang, title, context, question, answers: {text: [...],
answer_start: [...]}}`, optionally with `question_lang` (MLQA's cross-lingual pairs: the question in
another language than the context). Each field is edited in its own language: the question in
`question_lang` (a German question gets German QWERTZ typos), the context in `lang`.
`Attack.perturb(example, target, strength, rng)` returns a `PerturbedExample`: the same row
with the same id, its `target` field(s) edited, answers remapped so that
`context[answer_start:answer_start+len(text)] == text` still holds, an edit log, and the strength
requested next to the strength actually applied (the share of words / sentences touched).

Families only decide *what* to edit (`Attack.plan` returns `Edit`s); this module applies the edits
through `attacks.text`, remaps the answers and logs, so the offset invariant is proven once.
Randomness is seeded per (seed, example id, attack name) with a stable hash, so the same seed gives
byte-identical output in any process and in any order of examples.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Callable, ClassVar, Iterable, Mapping

from xadv.errors import XadvError
from xadv.langs import LANGUAGES, lang_from_tydi_id, unsupported
from xadv.types import Target

from .text import Edit, EditPlan, Span, apply_edits, graphemes, orphan_marks, remap_answers, segment, segmenter_missing

ALL_LANGS: tuple[str, ...] = tuple(LANGUAGES)  # every registry language, TyDi's nine first

TARGETS = tuple(t.value for t in Target if t is not Target.AUTO)  # what an attack can edit ("auto" resolves to one)
ALL_TARGETS = TARGETS
CONTEXT_ONLY = ("context",)
TARGET_FIELDS = {"question": ("question",), "context": ("context",), "both": ("question", "context")}


def target_fields(target: str) -> tuple[str, ...]:
    """The fields a target edits ("both": question, then context); XadvError for an unknown target."""
    try:
        return TARGET_FIELDS[target]
    except KeyError:
        raise XadvError(f"unknown target {target!r} (question, context or both)") from None


@dataclass(frozen=True)
class EditRecord:
    """One edit as logged: `old` at `[start, end)` of `field` (offsets in the text the edit was
    applied to, i.e. after any earlier step of a composition) became `new`."""

    field: str
    start: int
    end: int
    old: str
    new: str
    kind: str
    attack: str

    def to_dict(self) -> dict:
        return {"field": self.field, "start": self.start, "end": self.end, "old": self.old,
                "new": self.new, "kind": self.kind, "attack": self.attack}


@dataclass
class PerturbedExample:
    example: dict
    attack: str
    target: str
    strength_requested: float
    strength_applied: float
    unit: str
    edits: list[EditRecord] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "example": self.example,
            "attack": self.attack,
            "target": self.target,
            "strength_requested": self.strength_requested,
            "strength_applied": self.strength_applied,
            "unit": self.unit,
            "edits": [e.to_dict() for e in self.edits],
            "steps": self.steps,
        }


@dataclass(frozen=True)
class FieldInput:
    """What a family sees of one field: its text, the language, and the spans it must not touch."""

    text: str
    lang: str
    field: str
    protected: tuple[tuple[int, int], ...]
    example: dict


@dataclass
class FieldEdits:
    """A family's proposal for one field: the edits, and how many units it touched out of all."""

    edits: list[Edit]
    units_total: int
    units_touched: int


def make_rng(seed: int, example_id: str, attack_name: str) -> random.Random:
    """A Random seeded from (seed, example id, attack name) via blake2b (never Python's hash())."""
    digest = hashlib.blake2b(f"{seed}\x1f{example_id}\x1f{attack_name}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def draw_count(strength: float, n: float, rng: random.Random) -> int:
    """How many of `n` units to touch: strength*n, rounded up or down at random so that the
    expected share equals the requested strength even for short questions."""
    x = strength * n
    k = math.floor(x)
    if rng.random() < x - k:
        k += 1
    return min(k, math.floor(n))


def check_example(example: dict) -> str:
    """Validate a row and return its language; XadvError naming the id otherwise."""
    if not isinstance(example, dict):
        raise XadvError(f"an example must be a dict, got {type(example).__name__}")
    ex_id = example.get("id", "<no id>")
    for key in ("id", "context", "question"):
        if not isinstance(example.get(key), str):
            raise XadvError(f"example {ex_id}: field {key!r} is missing or not a string")
    answers = example.get("answers")
    if not isinstance(answers, dict) or "text" not in answers or "answer_start" not in answers:
        raise XadvError(f"example {ex_id}: 'answers' must be {{'text': [...], 'answer_start': [...]}}")
    if len(answers["text"]) != len(answers["answer_start"]):
        raise XadvError(f"example {ex_id}: answers have {len(answers['text'])} texts but "
                        f"{len(answers['answer_start'])} starts")
    ctx = example["context"]
    for t, s in zip(answers["text"], answers["answer_start"]):
        if not isinstance(s, int) or ctx[s : s + len(t)] != t:
            raise XadvError(f"example {ex_id}: answer {t!r} is not at offset {s} of the context")
    lang = example.get("lang") or lang_from_tydi_id(ex_id)
    if lang not in LANGUAGES:
        raise XadvError(f"example {ex_id}: unknown language {lang!r} (expected one of {' '.join(LANGUAGES)})")
    return lang


def question_language(example: dict, lang: str) -> str:
    """The question's language: `question_lang` where the row has one (MLQA's cross-lingual pairs), else the
    row's `lang`; XadvError naming the id for a code outside the registry."""
    qlang = example.get("question_lang") or lang
    if qlang not in LANGUAGES:
        raise XadvError(f"example {example.get('id', '<no id>')}: unknown question language {qlang!r} "
                        f"(expected one of {' '.join(LANGUAGES)})")
    return qlang


def field_langs(target: str, lang: str, question_lang: str | None = None) -> tuple[str, ...]:
    """The languages a target's fields are written in (the question in `question_lang`, the context in `lang`)."""
    return tuple(dict.fromkeys((question_lang or lang) if f == "question" else lang for f in target_fields(target)))


def answer_spans(example: dict) -> tuple[tuple[int, int], ...]:
    a = example["answers"]
    return tuple((s, s + len(t)) for t, s in zip(a["text"], a["answer_start"]))


def overlaps_any(span: Span | tuple[int, int], protected) -> bool:
    s, e = (span.start, span.end) if isinstance(span, Span) else span
    return any(s < pe and ps < e for ps, pe in protected)


@dataclass(frozen=True)
class Attack:
    """Base class of every attack: a small, frozen, parameterised object.

    Subclasses set the class-level defaults below and implement `plan`; parameters are further
    dataclass fields (see `attacks.get_attack(name, **params)`).
    """

    name: str = ""
    description: str = ""
    targets: tuple[str, ...] = ALL_TARGETS
    languages: tuple[str, ...] = ALL_LANGS
    unit: str = "words"
    edits_answers: bool = False  # True: the answer spans may be edited too (answers follow the edits)
    keeps_nfc: bool = True
    # Character-level families may be asked to edit the answers (`edits_answers=True`); structural
    # ones (deleting, moving, inserting text) never do.
    can_edit_answers: ClassVar[bool] = False
    # Bumped when an attack's behaviour changes under the same name: a version other than 1 enters the
    # cell key (`AttackSpec.cell_params`), so records of the old behaviour are never reused for the new.
    version: ClassVar[int] = 1
    # Language -> why this attack cannot be linguistically valid there (one line, shown as the refusal).
    refusals: ClassVar[Mapping[str, str]] = {}
    # Why this attack cannot serve a question and a context in different languages (None: it can, each
    # field edited in its own language); e.g. distractor writes a statement made from the question into
    # the context.
    cross_lingual: ClassVar[str | None] = None

    # -- what subclasses implement ---------------------------------------------------------
    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        raise NotImplementedError

    def refusal(self, lang: str) -> str | None:
        """Why this attack cannot serve `lang` (None when it can): a reason from `refusals`, a
        word-level attack on an unspaced language without its segmenter, or a language not listed."""
        why = self.refusals.get(lang) or (segmenter_missing(lang) if self.unit == "words" else None)
        if why:
            return unsupported(f"attack {self.name!r}", lang, self.languages, why)
        if lang not in self.languages:
            return unsupported(f"attack {self.name!r}", lang, self.languages)
        return None

    # -- the shared machinery --------------------------------------------------------------
    def describe(self) -> dict:
        params = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _BASE_FIELDS}
        return {"name": self.name, "description": self.description, "targets": list(self.targets),
                "languages": [lang for lang in self.languages if lang not in self.refusals], "unit": self.unit,
                "edits_answers": self.edits_answers, "can_edit_answers": self.can_edit_answers,
                "params": params}

    def pair_refusal(self, lang: str, question_lang: str | None) -> str | None:
        """Why this attack cannot serve a question in `question_lang` with a context in `lang` (None: it can)."""
        if question_lang in (None, "", lang) or not self.cross_lingual:
            return None
        return f"attack {self.name!r} on {lang}-{question_lang} (context-question) pairs: {self.cross_lingual}"

    def check(self, lang: str, target: str, strength: float, question_lang: str | None = None) -> None:
        """XadvError (one line) unless this attack can edit `target` of a row whose context is in `lang` and
        question in `question_lang` (default: `lang`) at `strength`: each edited field's language is checked."""
        if target not in TARGETS:
            raise XadvError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
        if target not in self.targets:
            raise XadvError(f"attack {self.name!r} cannot edit the {target} "
                            f"(it edits: {', '.join(self.targets)})")
        if not (isinstance(strength, (int, float)) and 0.0 <= strength <= 1.0):
            raise XadvError(f"strength must be a number in [0, 1], got {strength!r}")
        why = self.pair_refusal(lang, question_lang) or next(
            (w for w in map(self.refusal, field_langs(target, lang, question_lang)) if w), None)
        if why:
            raise XadvError(why)

    def perturb(self, example: dict, target: str = "context", strength: float = 0.1,
                rng: int | random.Random = 0) -> PerturbedExample:
        """Perturb `target` ("question", "context" or "both") of one example.

        `rng` is a seed (the stream is derived from seed, example id and attack name) or a
        `random.Random` to draw from directly.
        """
        lang = check_example(example)
        qlang = question_language(example, lang)
        self.check(lang, target, strength, qlang)
        if not isinstance(rng, random.Random):
            if not isinstance(rng, int):
                raise XadvError(f"rng must be an integer seed or a random.Random, got {type(rng).__name__}")
            rng = make_rng(rng, example["id"], self.name)
        out = copy.deepcopy(example)
        out["lang"] = lang
        records: list[EditRecord] = []
        total = touched = 0
        for fname in target_fields(target):
            text = out[fname]
            protected = answer_spans(out) if fname == "context" and not self.edits_answers else ()
            flang = qlang if fname == "question" else lang
            proposal = self.plan(FieldInput(text, flang, fname, protected, out), strength, rng)
            total += proposal.units_total
            touched += proposal.units_touched
            new_text, offsets = apply_edits(text, proposal.edits, protected, self.edits_answers)
            records.extend(EditRecord(fname, e.start, e.end, text[e.start:e.end], e.new, e.kind, self.name)
                           for e in offsets.edits)
            out[fname] = new_text
            if fname == "context":
                out["answers"] = remap_answers(out["answers"], new_text, offsets, self.edits_answers)
        applied = touched / total if total else 0.0
        return PerturbedExample(out, self.name, target, float(strength), applied, self.unit, records,
                                [{"attack": self.name, "strength_applied": applied}])


_BASE_FIELDS = {f.name for f in fields(Attack)}


def settle_in_clusters(word: Span, edit: Edit) -> Edit:
    """Widen a replacement inside `word` to whole grapheme clusters and, if those clusters were NFC,
    return them in NFC: a new base letter before an existing mark may compose (и + U+0300 -> ѝ), and
    NFC text must stay NFC."""
    if edit.start == edit.end:
        return edit
    clusters = graphemes(word.text, word.start)
    cs = max((g.start for g in clusters if g.start <= edit.start), default=edit.start)
    ce = min((g.end for g in clusters if g.end >= edit.end), default=edit.end)
    rel = lambda i: i - word.start  # noqa: E731
    old = word.text[rel(cs) : rel(ce)]
    new = word.text[rel(cs) : rel(edit.start)] + edit.new + word.text[rel(edit.end) : rel(ce)]
    if unicodedata.is_normalized("NFC", old):
        new = unicodedata.normalize("NFC", new)
    return Edit(cs, ce, new, edit.kind)


def _keeps_marks_seated(word: Span, edits: list[Edit]) -> bool:
    """The safety net under every word-level family: the edited word has no more orphan marks
    than before (e.g. a vowel typed for the অ of অ্য would leave its virama dangling)."""
    if not all(word.start <= e.start <= e.end <= word.end for e in edits):
        return True  # not a within-word edit; apply_edits and the tests check the whole text
    local = [Edit(e.start - word.start, e.end - word.start, e.new, e.kind) for e in edits]
    return len(orphan_marks(apply_edits(word.text, local)[0])) <= len(orphan_marks(word.text))


def perturb_words(inp: FieldInput, strength: float, rng: random.Random,
                  edit_word: Callable[[Span, random.Random], list[Edit] | None],
                  eligible: Callable[[Span], bool] = lambda w: True, settle: bool = True) -> FieldEdits:
    """The common loop of word-level character attacks.

    Touch `strength` of the field's words (stochastic rounding), trying eligible words outside the
    protected spans in random order; `edit_word` proposes the edits for one word (absolute offsets)
    or None when that word offers nothing. Each touched word gets one edit group. With `settle`,
    replacements are widened to whole clusters and kept NFC (see `settle_in_clusters`).
    """
    ws = segment(inp.text, inp.lang)
    k = draw_count(strength, len(ws), rng)
    plan = EditPlan(inp.text, inp.protected)
    touched = 0
    if k:
        candidates = [w for w in ws if not overlaps_any(w, inp.protected) and eligible(w)]
        rng.shuffle(candidates)
        for w in candidates:
            if touched >= k:
                break
            proposal = edit_word(w, rng)
            if proposal and settle:
                proposal = [settle_in_clusters(w, e) for e in proposal]
            if proposal and not _keeps_marks_seated(w, proposal):
                continue
            if proposal and plan.add_all(proposal):
                touched += 1
    return FieldEdits(plan.edits, len(ws), touched)


@dataclass(frozen=True)
class WordAttack(Attack):
    """An attack that edits inside each touched word (keyboard, char-noise, homoglyph, invisible, nfd,
    diacritics): a subclass says how to edit one word (`edit_word`, absolute offsets, None when the word
    offers nothing); the word loop, the protected answer spans and NFC settling are `perturb_words`."""

    can_edit_answers: ClassVar[bool] = True
    settle: ClassVar[bool] = True  # widen replacements to whole clusters and keep NFC

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        raise NotImplementedError

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        return perturb_words(inp, strength, rng, lambda w, r: self.edit_word(w, inp.lang, r), settle=self.settle)


@dataclass(frozen=True)
class Composite(Attack):
    """Attacks applied one after another; answers are remapped through every step."""

    steps: tuple[Attack, ...] = ()

    def plan(self, inp, strength, rng):  # pragma: no cover - Composite overrides perturb
        raise NotImplementedError

    def describe(self) -> dict:
        info = super().describe()
        info["params"] = {"steps": [s.describe() for s in self.steps]}
        return info

    def refusal(self, lang: str) -> str | None:
        for step in self.steps:
            why = step.refusal(lang)
            if why:
                return why
        return None

    def pair_refusal(self, lang: str, question_lang: str | None) -> str | None:
        return next((w for w in (s.pair_refusal(lang, question_lang) for s in self.steps) if w), None)

    def perturb(self, example, target="context", strength=0.1, rng=0) -> PerturbedExample:
        lang = check_example(example)
        self.check(lang, target, strength, question_language(example, lang))
        current, records, steps = example, [], []
        for step in self.steps:
            r = step.perturb(current, target, strength, rng)
            current = r.example
            records.extend(r.edits)
            steps.extend(r.steps)
        applied = sum(s["strength_applied"] for s in steps) / len(steps)
        return PerturbedExample(current, self.name, target, float(strength), applied, self.unit, records, steps)


def compose(attacks: Iterable[Attack], name: str | None = None) -> Composite:
    """One attack that applies `attacks` in order (`attacks.registry.compose` also takes names).
    Its languages and targets are those all steps support; its applied strength is their mean."""
    steps = tuple(attacks)
    if not steps:
        raise XadvError("compose needs at least one attack")
    langs = tuple(lang for lang in ALL_LANGS if all(lang in s.languages for s in steps))
    targets = tuple(t for t in TARGETS if all(t in s.targets for s in steps))
    units = {s.unit for s in steps}
    return Composite(
        name=name or "+".join(s.name for s in steps),
        description="then ".join(f"{s.name} " for s in steps).strip(),
        targets=targets, languages=langs, unit=units.pop() if len(units) == 1 else "mixed",
        edits_answers=any(s.edits_answers for s in steps), keeps_nfc=all(s.keeps_nfc for s in steps),
        steps=steps,
    )


def with_params(attack: Attack, **params) -> Attack:
    """A copy of `attack` with some parameters changed; XadvError for an unknown parameter."""
    known = {f.name for f in fields(attack)} - _BASE_FIELDS
    if attack.can_edit_answers:
        known.add("edits_answers")
    for key in params:
        if key not in known:
            raise XadvError(f"attack {attack.name!r} has no parameter {key!r} "
                            f"(parameters: {', '.join(sorted(known)) or 'none'})")
    return replace(attack, **params)
