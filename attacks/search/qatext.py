"""`QAText`: TextAttack's `AttackedText` for a QA example, with xadv's words and answer offsets.

TextAttack's own `AttackedText` splits words with `\\w` (Bengali and Telugu lose their vowel signs)
and rebuilds edited text by searching for each word's string (`str.index`), which can hit the wrong
occurrence and knows nothing about answer offsets. `QAText` keeps TextAttack's interface (`words`,
`words_per_input`, `replace_words_at_indices`, `attack_attrs["modified_indices"]`,
`original_index_map`, equality and hashing by text), so TextAttack's search methods and
constraints run unchanged, but:

- words are `attacks.text.words` of the question, then of the context (script-aware);
- every edit is an `attacks.text.Edit` at exact offsets, applied by `apply_edits` with the gold
  answer spans protected, and the answers are remapped (`remap_answers`), so the row stays a valid
  SQuAD example: `context[answer_start:answer_start+len(text)] == text`;
- the edit log (`attack_attrs["xadv_edits"]`) and the set of *original* word indices changed
  (`attack_attrs["xadv_changed"]`) travel with the text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

from attacks.base import EditRecord, answer_spans
from attacks.text import Edit, EditRefused, Span, apply_edits, remap_answers, words

from .bootstrap import ensure_textattack

ensure_textattack()

from textattack.shared import AttackedText

FIELDS = ("question", "context")


class QAText(AttackedText):
    """An `AttackedText` over (question, context) of one QA row (`id, lang, question, context, answers`)."""

    def __init__(self, row: dict, attack_attrs: dict | None = None,
                 base_counts: tuple[int, int] | None = None, n_words: int | None = None):
        self.row = row
        self._spans: list[tuple[str, Span]] | None = None
        self._n_words = n_words  # known from the edit that made this text: saves a segmentation
        super().__init__(OrderedDict((f, row[f]) for f in FIELDS), attack_attrs)
        # words per field in the *original* example: the denominator of "share of words changed"
        self.base_counts = base_counts or (len(self.field_words("question")), len(self.field_words("context")))
        self.attack_attrs.setdefault("xadv_edits", ())
        self.attack_attrs.setdefault("xadv_changed", frozenset())

    # --- words ----------------------------------------------------------------------------------

    @property
    def word_spans(self) -> list[tuple[str, Span]]:
        """(field, span) of every word: the question's, then the context's."""
        if self._spans is None:
            self._spans = [(f, s) for f in FIELDS for s in words(self.row[f])]
        return self._spans

    def field_words(self, field: str) -> list[Span]:
        return [s for f, s in self.word_spans if f == field]

    @property
    def words(self) -> list[str]:
        return [s.text for _, s in self.word_spans]

    @property
    def num_words(self) -> int:
        if self._n_words is None:
            self._n_words = len(self.word_spans)
        return self._n_words

    @property
    def words_per_input(self) -> list[list[str]]:
        return [[s.text for s in self.field_words(f)] for f in FIELDS]

    def window(self, index: int) -> tuple[str, int, int]:
        """(field, start, end) of word `index` with the separators around it, up to its neighbours:
        a family can plan edits for this one word (and its spacing) on that slice alone."""
        field, span = self.word_spans[index]
        same = [s for f, s in self.word_spans if f == field]
        k = next(j for j, s in enumerate(same) if s.start == span.start)
        lo = same[k - 1].end if k > 0 else 0
        hi = same[k + 1].start if k + 1 < len(same) else len(self.row[field])
        return field, lo, hi

    def original_index(self, index: int) -> int:
        """The index in the original text of current word `index` (-1 for a word that is new)."""
        hits = np.flatnonzero(self.attack_attrs["original_index_map"] == index)
        return int(hits[0]) if len(hits) else -1

    # --- edits ----------------------------------------------------------------------------------

    def with_word_edits(self, index: int, edits: Sequence[Edit], attack: str = "") -> QAText:
        """A new QAText with `edits` (absolute offsets in word `index`'s field) applied.

        Raises `EditRefused` if an edit overlaps another or touches a gold answer span.
        """
        field, _ = self.word_spans[index]
        text = self.row[field]
        protected = answer_spans(self.row) if field == "context" else ()
        new_text, offsets = apply_edits(text, edits, protected)
        row = dict(self.row)
        row[field] = new_text
        if field == "context":
            row["answers"] = remap_answers(self.row["answers"], new_text, offsets)
        records = tuple(EditRecord(field, e.start, e.end, text[e.start:e.end], e.new, e.kind, attack)
                        for e in offsets.edits)
        delta = self._word_count_delta(index, edits, new_text)
        attrs = _shifted_attrs(self.attack_attrs, index, delta)
        attrs["previous_attacked_text"] = self
        attrs["xadv_edits"] = tuple(self.attack_attrs["xadv_edits"]) + records
        orig = self.original_index(index)
        attrs["xadv_changed"] = self.attack_attrs["xadv_changed"] | ({orig} if orig >= 0 else set())
        attrs["xadv_last"] = records
        return QAText(row, attrs, self.base_counts, self.num_words + delta)

    def _word_count_delta(self, index: int, edits: Sequence[Edit], new_text: str) -> int:
        """How many words the field gained. Candidates are made by the thousand and most are never
        looked at again, so this re-segments only word `index` with its two neighbours when every
        edit lies between those neighbours (text outside them is unchanged, and a word boundary
        cannot move past an unchanged neighbour); otherwise the whole field."""
        field, span = self.word_spans[index]
        same = [s for f, s in self.word_spans if f == field]
        old_text = self.row[field]
        k = next(j for j, s in enumerate(same) if s.start == span.start)
        lo = same[k - 1].end if k > 0 else 0
        hi = same[k + 1].start if k + 1 < len(same) else len(old_text)
        if not all(lo <= e.start <= e.end <= hi for e in edits):
            return len(words(new_text)) - len(same)
        a = same[k - 1].start if k > 0 else 0
        b = same[k + 1].end if k + 1 < len(same) else len(old_text)
        grown = len(new_text) - len(old_text)
        before = 1 + (k > 0) + (k + 1 < len(same))
        return len(words(new_text[a:b + grown])) - before

    def replace_words_at_indices(self, indices: Iterable[int], new_words: Iterable[str]) -> QAText:
        """TextAttack's word replacement (used by its word-importance ranking), done with exact
        offsets; an empty new word deletes the word with one adjacent run of spaces."""
        pairs = sorted(zip(list(indices), list(new_words)), reverse=True)  # last first: offsets stay valid
        out: QAText = self
        changed: set[int] = set()
        for i, new in pairs:
            field, span = out.word_spans[i]
            edit = _deletion(out.row[field], span) if new == "" else Edit(span.start, span.end, new, "replace")
            out = out.with_word_edits(i, [edit], "search")
            changed |= out.attack_attrs["newly_modified_indices"]
        out.attack_attrs["previous_attacked_text"] = self
        out.attack_attrs["newly_modified_indices"] = changed
        return out

    def generate_new_attacked_text(self, new_words: Iterable[str]) -> QAText:
        new_words = list(new_words)
        idx = [i for i, (a, b) in enumerate(zip(self.words, new_words)) if a != b]
        return self.replace_words_at_indices(idx, [new_words[i] for i in idx])

    # --- what the search reports ------------------------------------------------------------

    @property
    def edits(self) -> tuple[EditRecord, ...]:
        return tuple(self.attack_attrs.get("xadv_edits", ()))

    @property
    def changed(self) -> frozenset[int]:
        """Original word indices that some edit touched."""
        return frozenset(self.attack_attrs.get("xadv_changed", frozenset()))


def _deletion(text: str, span: Span) -> Edit:
    """Delete a word with the spaces after it (or, at a line end, before it): no double spaces."""
    start, end = span.start, span.end
    while end < len(text) and text[end] in " \t":
        end += 1
    if end == span.end:
        while start > 0 and text[start - 1] in " \t":
            start -= 1
    return Edit(start, end, "", "delete")


def _shifted_attrs(attrs: dict, index: int, delta: int) -> dict:
    """TextAttack's index bookkeeping after word `index` became 1 + `delta` words."""
    modified = set(attrs["modified_indices"])
    index_map = attrs["original_index_map"].copy()
    if delta:
        modified = {m if m < index else m + delta for m in modified if m != index}
        if delta < 0:
            index_map[index_map == index] = -1
        index_map[index_map > index] += delta
    newly = set(range(index, index + 1 + delta)) if delta >= 0 else set()  # a deleted word is gone
    modified |= newly
    out = {"modified_indices": modified, "original_index_map": index_map, "newly_modified_indices": newly}
    if "label_names" in attrs:
        out["label_names"] = attrs["label_names"]
    return out


__all__ = ["FIELDS", "EditRefused", "QAText"]
