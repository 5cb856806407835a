"""`xadv report`: one run's results as a readable Markdown or HTML report, with before/after examples.

Per model and language: the attack table (numbers recomputed from the per-example outcomes), then for
each attack up to `k` questions where it succeeded (right on clean input, wrong under attack), showing
the question or the context window around the first edit before and after, and the answers before and
after. Many attacks are invisible to the eye (zero-width characters, homoglyphs, NFD): the report
spells such edits out with code points, so a reader can see what changed.
"""

from __future__ import annotations

import difflib
import html
import os
import unicodedata
from dataclasses import dataclass

from xadv.errors import XadvError
from xadv.leaderboard.aggregate import Row, build_rows, sort_rows
from xadv.leaderboard.entries import Entry, keep_langs, load_entries
from xadv.leaderboard.render import check_lines, fmt, fmt_asr, fmt_ci, zero_shot_word

REPORT_FORMATS = ("md", "html")


def visible(text: str) -> str:
    """Zero-width and other format characters as ⟨U+200B⟩, so an invisible edit shows."""
    return "".join(f"⟨U+{ord(ch):04X}⟩" if unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp") and ch not in "\n\t"
                   else ch for ch in text)


def _short(s: str, limit: int = 60) -> str:
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _cp(s: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in s)


def _opcodes(before: str, after: str) -> list[tuple]:
    """difflib opcodes; for two snippets cut at their ends ("…"), the last change is dropped when it
    only reaches the cut (the windows end at different places, not an edit)."""
    ops = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    if (before.endswith("…") and after.endswith("…") and len(ops) > 1 and ops[-1][0] == "equal"
            and ops[-1][2] - ops[-1][1] == 1 and ops[-2][0] != "equal"):
        tail = ops[-2]
        ops = ops[:-2] + [("cut", tail[1], ops[-1][2], tail[3], ops[-1][4])]
    return ops


def changes(before: str, after: str, limit: int = 6) -> list[str]:
    """Character-level edits, e.g. "'a' → 'а' (U+0061 → U+0430)"; code points for short segments."""
    out = []
    for op, a0, a1, b0, b1 in _opcodes(before, after):
        if op in ("equal", "cut"):
            continue
        a, b = before[a0:a1], after[b0:b1]
        item = f"{_short(visible(a))!r} → {_short(visible(b))!r}"
        if len(a) <= 2 and len(b) <= 2:  # lookalikes and invisibles: the code points tell them apart
            item += f" ({_cp(a) or '∅'} → {_cp(b) or '∅'})"
        out.append(item)
    if len(out) > limit:
        out = out[:limit] + [f"… {len(out) - limit} more"]
    return out


@dataclass
class Example:
    """One successful attack, before and after."""

    id: str
    seed: int
    what: str                 # "question" or "context"
    before: str | None        # None: the record predates storing it
    after: str | None
    pred_before: str
    pred_after: str
    f1_before: float
    f1_after: float


def successes(entry: Entry, k: int) -> list[Example]:
    """Up to `k` examples the attack flipped (right on clean, wrong under attack), in data order."""
    flipped = entry.right() & ~entry.right(adv=True)
    out = []
    for e, hit in zip(entry.examples(), flipped):
        if not hit:
            continue
        if e.get("adv_question") is not None:
            what, before, after = "question", e.get("question"), e["adv_question"]
        else:
            snip = e.get("context_snippet") or {}
            what, before, after = "context", snip.get("clean"), snip.get("adv")
        out.append(Example(str(e["id"]), entry.seed, what, before, after, str(e.get("clean_pred", "")),
                           str(e.get("adv_pred", "")), float(e["clean_f1"]), float(e["adv_f1"])))
        if len(out) >= k:
            break
    return out


@dataclass
class Section:
    model: str
    fingerprint: str
    lang: str
    zero_shot: bool | None
    rows: list[Row]
    examples: dict[str, list[Example]]   # row label -> examples
    flipped: dict[str, int]


def build_report(results: str | os.PathLike, *, model: str | None = None, k: int = 3,
                 langs: list[str] | None = None) -> tuple[list[Section], list[Entry], object]:
    """Sections (model x language) of a results directory or run file."""
    from xadv.leaderboard.aggregate import Leaderboard

    entries = load_entries(results)
    if model is not None:
        names = sorted({e.model for e in entries})
        if model not in names:
            raise XadvError(f"no model {model!r} in {results} (it has: {', '.join(names)})")
        entries = [e for e in entries if e.model == model]
    entries = keep_langs(entries, langs, results)
    rows = sort_rows(build_rows(entries), "model")
    sections: dict[tuple, Section] = {}
    for r in rows:
        s = sections.setdefault((r.model, r.fingerprint, r.lang),
                                Section(r.model, r.fingerprint, r.lang, r.zero_shot, [], {}, {}))
        s.rows.append(r)
        members = sorted((e for e in entries if e.fingerprint == r.fingerprint and e.lang == r.lang
                          and e.attack == r.attack and e.target == r.target and e.strength == r.strength
                          and e.params == r.params and e.mode == r.mode and e.criterion == r.criterion
                          and e.data_sha256 == r.data_sha256 and e.search == r.search), key=lambda e: e.seed)
        found: list[Example] = []
        for e in members:
            found += successes(e, k - len(found))
            if len(found) >= k:
                break
        s.examples[r.label] = found
        s.flipped[r.label] = r.asr_successes
    board = Leaderboard(source=str(results), rows=rows, models=[], entries=entries,
                        bootstrap={"resamples": 1000, "seed": 0, "level": 0.95})
    return list(sections.values()), entries, board


def _attack_table_md(rows: list[Row]) -> list[str]:
    out = ["| attack | target | n | seeds | clean F1 | adv F1 | ΔF1 [95% CI] | robust F1 | ASR % (k/right) [95% CI] |",
           "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r.label} | {r.target} | {r.n} | {','.join(map(str, r.seeds))} | {fmt(r.stats['clean_f1'])} | "
                   f"{fmt(r.stats['adv_f1'])} | {fmt(r.stats['f1_drop'])} {fmt_ci(r.ci.get('f1_drop'))} | "
                   f"{fmt(r.stats['robust_f1'])} | {fmt_asr(r)} |")
    return out


def _code(text: str) -> str:
    t = visible(text).replace("\n", " ")
    return "`` " + t.replace("``", "` `") + " ``" if t else "*(empty)*"


def to_markdown(sections: list[Section], board, source: str) -> str:
    modes = sorted({r.mode for s in sections for r in s.rows})
    crit = sorted({r.criterion for s in sections for r in s.rows})
    lines = ["# xadv attack report", "", f"results: `{source}` · scorer mode: {', '.join(modes)} · "
             f"ASR criterion: {', '.join(crit)}  ", "numbers recomputed from the per-example outcomes; "
             "examples: questions the model answered right on clean input and wrong under attack", ""]
    model = None
    for s in sections:
        if s.model != model:
            model = s.model
            lines += [f"## {s.model} (`{s.fingerprint[:12]}`)", ""]
        lines += [f"### {s.lang} ({zero_shot_word(s.zero_shot)})", ""] + _attack_table_md(s.rows) + [""]
        for r, exs in _shown(s):
            lines += [f"#### {_shown_title(s, r, exs)}", ""]
            lines += [line for x in exs for line in _example_md(x)] + [""]
    lines += ["## Checks", ""] + check_lines(board, md=True)
    return "\n".join(lines) + "\n"


def _shown(section):
    """(row, examples) of the section's attacks that have successful examples to show."""
    return [(r, section.examples[r.label]) for r in section.rows if section.examples.get(r.label)]


def _shown_title(section, r, exs) -> str:
    return f"{r.label} on the {r.target}: {section.flipped[r.label]} successful, {len(exs)} shown"


def _example_md(x) -> list[str]:
    lines = [f"- **{x.id}** (seed {x.seed})"]
    if x.before is None:
        lines.append(f"  - {x.what}: not stored in this record (written by an older xadv)")
    else:
        lines += [f"  - {x.what} before: {_code(x.before)}", f"  - {x.what} after: {_code(x.after or '')}"]
        edits = changes(x.before, x.after or "")
        if edits:
            lines.append(f"  - edits: {'; '.join(edits)}")
    return lines + [f"  - answer: {_code(x.pred_before)} (F1 {x.f1_before:.2f}) → {_code(x.pred_after)} "
                    f"(F1 {x.f1_after:.2f})"]


def _example_html(x) -> list[str]:
    e = html.escape
    out = [f"<div class=ex data-id='{e(x.id)}'><b>{e(x.id)}</b> <span class=meta>seed {x.seed}</span><br>"]
    if x.before is None:
        out.append(f"<span class=meta>{e(x.what)} not stored in this record (older xadv)</span><br>")
    else:
        b, a = _diff_html(x.before, x.after or "")
        out.append(f"{e(x.what)} before: <span class=t>{b}</span><br>{e(x.what)} after: <span class=t>{a}</span><br>")
        edits = changes(x.before, x.after or "")
        if edits:
            out.append(f"<span class=edits>edits: {e('; '.join(edits))}</span><br>")
    return out + [f"answer: <span class=t>{e(visible(x.pred_before))}</span> (F1 {x.f1_before:.2f}) → "
                  f"<span class=t>{e(visible(x.pred_after))}</span> (F1 {x.f1_after:.2f})</div>"]


def _diff_html(before: str, after: str) -> tuple[str, str]:
    """Both texts as HTML with the changed characters marked (<del> before, <ins> after)."""
    a_out, b_out = [], []
    for op, a0, a1, b0, b1 in _opcodes(before, after):
        a, b = html.escape(visible(before[a0:a1])), html.escape(visible(after[b0:b1]))
        if op in ("equal", "cut"):
            a_out.append(a)
            b_out.append(b)
        else:
            if a:
                a_out.append(f"<del>{a}</del>")
            if b:
                b_out.append(f"<ins>{b}</ins>")
    return "".join(a_out), "".join(b_out)


_CSS = """body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;max-width:1100px;
margin:24px auto;padding:0 16px;color:#1d232b}h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #dde2e8}
h3{font-size:16px}h4{font-size:14px;margin:14px 0 4px}.meta{color:#5b6672;font-size:13px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #e8ebef;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ex{border-left:3px solid #c9d2dc;padding:2px 10px;margin:6px 0}
.ex .t{font-family:ui-monospace,monospace;white-space:pre-wrap;background:#f6f8fa;padding:1px 4px}
del{background:#ffd7d5;text-decoration:line-through}ins{background:#ccf1d6;text-decoration:none}
.edits{color:#5b6672;font-size:12px}li.flag{color:#a4161a}"""


def to_html(sections: list[Section], board, source: str) -> str:
    e = html.escape
    modes = sorted({r.mode for s in sections for r in s.rows})
    crit = sorted({r.criterion for s in sections for r in s.rows})
    out = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>xadv attack report</title>"
           f"<style>{_CSS}</style></head><body><h1>xadv attack report</h1>"
           f"<p class=meta>results: {e(source)} · scorer mode: {e(', '.join(modes))} · ASR criterion: "
           f"{e(', '.join(crit))} · numbers recomputed from the per-example outcomes; examples: questions the model "
           f"answered right on clean input and wrong under attack</p>"]
    model = None
    for s in sections:
        if s.model != model:
            model = s.model
            out.append(f"<h2>{e(s.model)} <span class=meta>{e(s.fingerprint[:12])}</span></h2>")
        out.append(f"<h3 data-lang='{e(s.lang)}'>{e(s.lang)} "
                   f"<span class=meta>({e(zero_shot_word(s.zero_shot))})</span></h3>")
        out.append("<table><tr><th>attack</th><th>target</th><th>n</th><th>seeds</th><th>clean F1</th><th>adv F1</th>"
                   "<th>ΔF1 [95% CI]</th><th>robust F1</th><th>ASR % (k/right) [95% CI]</th></tr>")
        for r in s.rows:
            out.append(f"<tr><td>{e(r.label)}</td><td>{e(r.target)}</td><td class=num>{r.n}</td>"
                       f"<td>{e(','.join(map(str, r.seeds)))}</td><td class=num>{fmt(r.stats['clean_f1'])}</td>"
                       f"<td class=num>{fmt(r.stats['adv_f1'])}</td><td class=num>{fmt(r.stats['f1_drop'])} "
                       f"{fmt_ci(r.ci.get('f1_drop'))}</td><td class=num>{fmt(r.stats['robust_f1'])}</td>"
                       f"<td class=num>{e(fmt_asr(r))}</td></tr>")
        out.append("</table>")
        for r, exs in _shown(s):
            out.append(f"<h4>{e(_shown_title(s, r, exs))}</h4>")
            out += [part for x in exs for part in _example_html(x)]
    out.append("<h2>Checks</h2><ul>")
    for line in check_lines(board):
        cls = "flag" if line.startswith("FLAGGED") else "ok"
        out.append(f"<li class={cls}>{e(line)}</li>")
    out.append("</ul></body></html>")
    return "\n".join(out) + "\n"


def render_report(results: str | os.PathLike, fmt_name: str = "md", *, model: str | None = None, k: int = 3,
                  langs: list[str] | None = None) -> tuple[str, list[Section]]:
    if fmt_name not in REPORT_FORMATS:
        raise XadvError(f"unknown report format {fmt_name!r} (choose one of: {', '.join(REPORT_FORMATS)})")
    sections, _, board = build_report(results, model=model, k=k, langs=langs)
    text = (to_markdown if fmt_name == "md" else to_html)(sections, board, str(results))
    return text, sections
