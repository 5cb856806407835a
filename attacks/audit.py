"""A human audit of attack validity: a seeded, stratified sheet of before/after pairs, and its score.

Automatic measures (`attacks.validity`, `xadv attacks validate`) say how much an attack changed and how
similar the result stays; only a reader can say whether a perturbed question still asks the same thing
and still has the same answer. `audit_sheet` draws `n` changed examples per attack (seeded; stratified
by edit size, so that light and heavy edits are both read) and lays them out with three columns a person
fills in: `same_meaning`, `same_answer` (still answerable with the gold answer), `fluent` (y/n; blank =
not judged), plus `annotator` and `note`. `score_sheet` reads a filled sheet back: an example is
*valid* when it keeps its meaning and its answer (fluency is reported beside, not required: a typo is
meant to be disfluent); the valid share per attack and language comes with a 95 % Wilson interval.
"""

from __future__ import annotations

import csv
import html
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import atomic_write_text, read_regular_bytes

from .base import Attack, PerturbedExample, check_example
from .validity import char_edit_rate

JUDGED = ("same_meaning", "same_answer", "fluent")
COLUMNS = ("row", "id", "lang", "attack", "target", "strength", "seed", "answer", "question", "before", "after",
           "edits", *JUDGED, "annotator", "note")
_YES = {"y", "yes", "1", "true", "t"}
_NO = {"n", "no", "0", "false", "f"}
WINDOW = 90  # characters of context shown on each side of a context edit


@dataclass(frozen=True)
class AuditItem:
    """One before/after pair to judge (for a context edit: a window of the context around the edits)."""

    row: int
    id: str
    lang: str
    attack: str
    target: str
    strength: float
    seed: int
    answer: str
    question: str
    before: str
    after: str
    edits: str
    same_meaning: str = ""
    same_answer: str = ""
    fluent: str = ""
    annotator: str = ""
    note: str = ""


def _window(before: str, after: str, pad: int = WINDOW) -> tuple[str, str]:
    """Both texts from `pad` characters before their first difference to `pad` after their last one."""
    i = 0
    while i < min(len(before), len(after)) and before[i] == after[i]:
        i += 1
    j = 0
    while j < min(len(before), len(after)) - i and before[-1 - j] == after[-1 - j]:
        j += 1
    lo = max(0, i - pad)
    cut = lambda t: ("…" if lo else "") + t[lo : len(t) - j + pad] + ("…" if len(t) - j + pad < len(t) else "")  # noqa: E731
    return cut(before), cut(after)


def _item(row: Mapping, p: PerturbedExample, k: int, seed: int) -> AuditItem:
    field = "question" if p.example["question"] != row["question"] else "context"
    before, after = row[field], p.example[field]
    if field == "context":
        before, after = _window(before, after)
    edits = "; ".join(f"{e.field}: {e.old!r} -> {e.new!r}" for e in p.edits[:6]) + ("; …" if len(p.edits) > 6 else "")
    return AuditItem(k, str(row["id"]), p.example["lang"], p.attack, p.target, p.strength_requested, seed,
                     row["answers"]["text"][0], row["question"], before, after, edits)


def audit_sheet(rows: Sequence[Mapping], attacks: Iterable[tuple[Attack, str]], n: int = 50,
                strength: float = 0.2, seed: int = 0) -> tuple[list[AuditItem], dict[str, int]]:
    """(items, unchanged count per attack): `n` changed examples per (attack, target), drawn with `seed`
    from three edit-size strata (light, medium, heavy by character edit rate) in turn."""
    items: list[AuditItem] = []
    unchanged: dict[str, int] = {}
    for attack, target in attacks:
        pool = []
        for row in rows:
            lang = check_example(dict(row))
            if attack.refusal(lang) or target not in attack.targets:
                continue
            p = attack.perturb(dict(row), target, strength, seed)
            if p.example["question"] == row["question"] and p.example["context"] == row["context"]:
                unchanged[attack.name] = unchanged.get(attack.name, 0) + 1
                continue
            f = "question" if p.example["question"] != row["question"] else "context"
            pool.append((char_edit_rate(row[f], p.example[f]), str(row["id"]), row, p))
        pool.sort(key=lambda x: (x[0], x[1]))
        third = max(1, len(pool) // 3)
        strata = [pool[:third], pool[third : 2 * third], pool[2 * third :]]
        rng = random.Random(f"audit\x1f{seed}\x1f{attack.name}\x1f{target}")
        for s in strata:
            rng.shuffle(s)
        picked = []
        while len(picked) < n and any(strata):
            for s in strata:
                if s and len(picked) < n:
                    picked.append(s.pop())
        picked.sort(key=lambda x: x[1])
        items += [_item(row, p, len(items) + k + 1, seed) for k, (_, _, row, p) in enumerate(picked)]
    return items, unchanged


def write_sheet(items: Sequence[AuditItem], path: str | Path, header_note: str = "") -> Path:
    """`.csv` (to fill in: one row per pair, the judged columns blank) or `.html` (to read)."""
    path = Path(path)
    if path.suffix == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for it in items:
            w.writerow(asdict(it))
        return atomic_write_text(path, buf.getvalue())
    if path.suffix == ".html":
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in asdict(it).values()) + "</tr>\n"
                        for it in items)
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        page = (f"<!doctype html><meta charset='utf-8'><title>xadv audit sheet</title><p>{html.escape(header_note)}"
                f"</p><table border='1'><tr>{head}</tr>\n{cells}</table>\n")
        return atomic_write_text(path, page)
    raise XadvError(f"an audit sheet must end in .csv (to fill in) or .html (to read): {path}")


def read_sheet(path: str | Path) -> list[AuditItem]:
    """The items of a (filled) CSV sheet; XadvError naming the problem when it is not one."""
    try:
        raw = read_regular_bytes(Path(path), "audit sheet")
    except FileNotFoundError:
        raise XadvError(f"{path}: no such audit sheet") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise XadvError(f"{path}: an audit sheet must be UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise XadvError(f"{path}: not an xadv audit sheet (missing column(s) {', '.join(missing)})")
    out = []
    for i, r in enumerate(reader, 2):
        try:
            out.append(AuditItem(**{c: (r[c] or "").strip() for c in COLUMNS if c not in ("row", "strength", "seed")},
                                 row=int(r["row"]), strength=float(r["strength"]), seed=int(r["seed"])))
        except (TypeError, ValueError):
            raise XadvError(f"{path}: line {i} is malformed (row, strength and seed must be numbers)") from None
    return out


def judgement(value: str, where: str) -> bool | None:
    """y/yes/1/true -> True, n/no/0/false -> False, blank -> None (not judged); anything else is an error."""
    v = value.strip().lower()
    if not v:
        return None
    if v in _YES or v in _NO:
        return v in _YES
    raise XadvError(f"{where}: {value!r:.20} is not a judgement (y or n; blank = not judged)")


@dataclass(frozen=True)
class AuditScore:
    """Human validity of one attack in one language: judged pairs, valid share and its 95 % Wilson interval."""

    attack: str
    lang: str
    target: str
    n: int  # rows in the sheet
    judged: int  # rows with both same_meaning and same_answer filled in
    valid: int  # of those, same meaning and same answer
    valid_share: float | None
    ci: tuple[float, float] | None
    same_meaning: float | None
    same_answer: float | None
    fluent: float | None
    annotators: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of k successes in n (scipy's binomtest), None for n = 0."""
    if not n:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return (round(float(ci.low), 4), round(float(ci.high), 4))


def score_sheet(items: Sequence[AuditItem], where: str = "sheet") -> list[AuditScore]:
    """One AuditScore per (attack, lang, target) of a filled sheet."""
    groups: dict[tuple[str, str, str], list[AuditItem]] = {}
    for it in items:
        groups.setdefault((it.attack, it.lang, it.target), []).append(it)
    out = []
    for (attack, lang, target), its in sorted(groups.items()):
        j = [{c: judgement(getattr(it, c), f"{where} row {it.row} {c}") for c in JUDGED} for it in its]
        both = [x for x in j if x["same_meaning"] is not None and x["same_answer"] is not None]
        valid = sum(x["same_meaning"] and x["same_answer"] for x in both)

        def share(c: str) -> float | None:
            vals = [x[c] for x in j if x[c] is not None]
            return round(sum(vals) / len(vals), 4) if vals else None

        out.append(AuditScore(attack, lang, target, len(its), len(both), valid,
                              round(valid / len(both), 4) if both else None, wilson(valid, len(both)),
                              share("same_meaning"), share("same_answer"), share("fluent"),
                              tuple(sorted({it.annotator for it in its if it.annotator}))))
    return out


def read_scores(path: str | Path) -> list[AuditScore]:
    """The scores a `xadv attacks audit --score SHEET --out FILE.json` wrote; XadvError when it is not that."""
    from xadv.io import read_json

    doc = read_json(Path(path), "audit scores", unicode_only=True)
    scores = doc.get("scores") if isinstance(doc, dict) else None
    if not isinstance(scores, list):
        raise XadvError(f"{path}: not audit scores (expected an object with 'scores', written by "
                        f"`xadv attacks audit --score SHEET --out FILE.json`)")
    out = []
    for i, s in enumerate(scores):
        try:
            ci = tuple(s["ci"]) if s.get("ci") is not None else None
            score = AuditScore(str(s["attack"]), str(s["lang"]), str(s["target"]), int(s["n"]), int(s["judged"]),
                               int(s["valid"]), s.get("valid_share"), ci, s.get("same_meaning"),
                               s.get("same_answer"), s.get("fluent"), tuple(map(str, s.get("annotators", ()))))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise XadvError(f"{path}: audit score {i + 1} is malformed") from None
        if not 0 <= score.valid <= score.judged <= score.n:
            raise XadvError(f"{path}: audit score {i + 1} counts are impossible (valid <= judged <= n)")
        # the share is recomputed, never trusted
        out.append(replace(score, valid_share=round(score.valid / score.judged, 4) if score.judged else None,
                           ci=wilson(score.valid, score.judged)))
    return out
