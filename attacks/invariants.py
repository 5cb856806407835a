"""The invariants every attack promises, as a checker usable by tests and by the full-data benchmark.

For an example, target, strength and seed: every gold answer still sits at its offset with its text
unchanged (unless the attack edits answers); the field not attacked is byte-identical; the edit log
reproduces the output; no orphan combining mark, invalid UTF-8 or lost NFC appears; the requested
strength is reported and the applied one is a share that never exceeds it beyond rounding; and the
same seed gives byte-identical output.
"""

from __future__ import annotations

import json

from .base import Attack, PerturbedExample, target_fields
from .text import Edit, apply_edits, segment, sentences, text_problems


def violations(attack: Attack, row: dict, target: str, strength: float, seed: int,
               result: PerturbedExample | None = None) -> list[str]:
    """Every invariant `attack.perturb(row, target, strength, seed)` breaks, as short messages ([] = fine)."""
    result = result or attack.perturb(row, target, strength, seed)
    ex, bad = result.example, []
    if ex["id"] != row["id"]:
        bad.append("id changed")
    for t, s in zip(ex["answers"]["text"], ex["answers"]["answer_start"]):
        if not t or ex["context"][s:s + len(t)] != t:
            bad.append(f"answer {t!r} not at offset {s}")
    if not attack.edits_answers and ex["answers"]["text"] != row["answers"]["text"]:
        bad.append("answer text changed")
    if target == "question" and (ex["context"] != row["context"] or ex["answers"] != row["answers"]):
        bad.append("question attack changed the context")
    if target == "context" and ex["question"] != row["question"]:
        bad.append("context attack changed the question")
    for f in target_fields(target):
        text = row[f]
        for step in dict.fromkeys(e.attack for e in result.edits):  # a composition's offsets are per step
            logged = [e for e in result.edits if e.field == f and e.attack == step]
            if not all(text[e.start:e.end] == e.old for e in logged):
                bad.append(f"edit log of {step} does not match the {f}")
                break
            text = apply_edits(text, [Edit(e.start, e.end, e.new) for e in logged])[0]
        if text != ex[f]:
            bad.append(f"edit log does not reproduce the {f}")
        bad += [f"{f}: {p}" for p in text_problems(row[f], ex[f], expect_nfc=attack.keeps_nfc)]
    if result.strength_requested != strength:
        bad.append("requested strength not reported")
    if not 0.0 <= result.strength_applied <= 1.0:
        bad.append(f"applied strength {result.strength_applied} is not a share")
    lang = ex.get("lang", "")
    total = sum(len(segment(row[f], lang) if attack.unit == "words" else sentences(row[f], lang))
                for f in target_fields(target))
    if total:
        # rounding happens per field (a swap touches two words); a distractor adds at least one sentence
        slack = (2 * len(target_fields(target)) / total if attack.name not in ("distractor", "distractor-conflict")
                 else max(strength, 1 / total) - strength + 1 / total)
        if result.strength_applied > strength + slack + 1e-9:
            bad.append(f"applied strength {result.strength_applied:.3f} exceeds {strength}")
    if strength == 0 and (result.edits or ex != dict(row, lang=row.get("lang", ex.get("lang")))):
        bad.append("strength 0 changed something")
    again = attack.perturb(row, target, strength, seed)
    if json.dumps(again.to_dict(), ensure_ascii=False) != json.dumps(result.to_dict(), ensure_ascii=False):
        bad.append("same seed, different output")
    return bad
