"""How often `codemix` leaves a TyDi QA question unchanged, per language, at the default settings.

    PYTHONPATH=. python benchmarks/codemix_coverage.py --data-dir ../shared/data [--n 200] [--strength 0.2]
        [--seed 0] [--baseline benchmarks/results/codemix_coverage.json]

For the first N dev questions of each language (bn has 113): the share left unchanged by
`codemix:question` (strength and seed as in `EvalSuite`'s defaults), the share where the stochastic
rounding drew no word at all (a floor no dictionary can lower), the mean applied strength, and the
share of question words that have a translation. `--baseline FILE` carries an earlier run's numbers
into the output as `before` (so one file shows a change). Writes benchmarks/results/codemix_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from attacks import get_attack  # noqa: E402
from attacks.base import draw_count, make_rng  # noqa: E402
from attacks.codemix import load_lexicon, load_stem_index, translate_word  # noqa: E402
from attacks.text import LANG_SCRIPT, word_script, words  # noqa: E402
from xadv.data.squad import load_json, parse_squad  # noqa: E402
from xadv.io import atomic_write_text, read_json  # noqa: E402
from xadv.langs import TYDI_LANGS  # noqa: E402

LANGS = tuple(lang for lang in TYDI_LANGS if lang != "en")  # en mixes into a partner, not into English


def first_rows(data_dir: Path, lang: str, n: int) -> list[dict]:
    """The first `n` dev questions of `lang`, as the data layer reads them (no datasets import)."""
    path = data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json"
    cols = parse_squad(load_json(path), path, lang)
    rows = [dict(zip(cols, vals)) for vals in zip(*cols.values())]
    return rows[:n]


def measure(data_dir: Path, lang: str, n: int, strength: float, seed: int) -> dict:
    rows = first_rows(data_dir, lang, n)
    attack = get_attack("codemix", data_dir=str(data_dir))
    lexicon = load_lexicon(str(data_dir / "dictionaries"), lang, True)
    stems = load_stem_index(str(data_dir / "dictionaries"), lang)
    unchanged = nothing_drawn = hits = total = 0
    applied = 0.0
    for row in rows:
        res = attack.perturb(row, "question", strength, seed)
        unchanged += res.example["question"] == row["question"]
        applied += res.strength_applied
        ws = words(row["question"])
        nothing_drawn += draw_count(strength, len(ws), make_rng(seed, row["id"], attack.name)) == 0
        native = [w.text for w in ws if word_script(w.text) == LANG_SCRIPT[lang]]
        total += len(native)
        hits += sum(translate_word(w, lexicon, lang, stems) is not None for w in native)
    return {"n": len(rows), "unchanged_share": round(unchanged / len(rows), 4),
            "nothing_drawn_share": round(nothing_drawn / len(rows), 4),
            "strength_applied_mean": round(applied / len(rows), 4),
            "word_coverage": round(hits / total, 4) if total else None}


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "attacks"], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--strength", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", default=None, help="an earlier output of this script, kept as `before`")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "codemix_coverage.json"))
    args = ap.parse_args(argv)
    data_dir = Path(args.data_dir)
    before = None
    if args.baseline:
        old = read_json(args.baseline)
        before = {k: old[k] for k in ("command", "commit", "langs")}
    langs = {}
    for lang in LANGS:
        langs[lang] = measure(data_dir, lang, args.n, args.strength, args.seed)
        print(lang, langs[lang], flush=True)
    result = {
        "command": "PYTHONPATH=. python benchmarks/codemix_coverage.py " + " ".join(argv or sys.argv[1:]),
        "commit": git_commit(),
        "machine": f"{platform.machine()} python {platform.python_version()}",
        "attack": "codemix:question", "strength": args.strength, "seed": args.seed, "n_per_lang": args.n,
        "langs": langs,
    }
    if before is not None:
        result["before"] = before
    atomic_write_text(Path(args.out), json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print("->", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
