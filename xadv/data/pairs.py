"""XNLI and PAWS-X sentence-pair TSV files -> Dataset(sentence1, sentence2, label, lang).

These are intermediate-task training data (XTREME format: `s1<TAB>s2<TAB>label`, no header).
Lines are split on tabs only, never parsed as CSV: sentences contain quotes that a CSV reader
would swallow. A malformed line fails with `file:line`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from xadv.data.squad import UNKNOWN_LANG
from xadv.errors import DataError
from xadv.io import one_line

if TYPE_CHECKING:
    from datasets import Dataset, Features

# Language codes recognised in pair-file names (`dev-ar.tsv`); QA rows never take a file's word for it.
KNOWN_LANG_CODES: frozenset[str] = frozenset(
    "ar bg bn de el en es fi fr hi id ja ko ro ru sw te th tr ur vi zh".split()
)


def lang_from_filename(path: str | os.PathLike) -> str | None:
    """The first known language code among a file name's dot/dash/underscore-separated parts."""
    for part in re.split(r"[._\-]", Path(path).name.lower()):
        if part in KNOWN_LANG_CODES:
            return part
    return None


PAIR_COLUMNS: tuple[str, ...] = ("sentence1", "sentence2", "label", "lang")

# Label names in id order: XNLI's strings map to 0/1/2; PAWS-X files already hold 0/1.
LABEL_NAMES: dict[str, tuple[str, ...]] = {
    "xnli": ("entailment", "neutral", "contradiction"),
    "pawsx": ("not_paraphrase", "paraphrase"),
}
_FILE_LABELS: dict[str, dict[str, int]] = {
    "xnli": {name: i for i, name in enumerate(LABEL_NAMES["xnli"])},
    "pawsx": {"0": 0, "1": 1},
}


def pair_features(task: str) -> Features:
    from datasets import ClassLabel, Features, Value

    return Features({"sentence1": Value("string"), "sentence2": Value("string"),
                     "label": ClassLabel(names=list(LABEL_NAMES[task])), "lang": Value("string")})


def _guess_task(path: Path, first_label: str) -> str:
    for task in LABEL_NAMES:
        if task in {p.lower().replace("-", "") for p in path.parts}:
            return task
    return "pawsx" if first_label in _FILE_LABELS["pawsx"] else "xnli"


def parse_pairs(path: str | os.PathLike, task: str | None = None,
                lang: str | None = None) -> tuple[str, dict[str, list]]:
    """Read and validate a pair TSV into columns; returns (task, columns).

    task: "xnli" or "pawsx"; None infers it from the folder name, else from the first label.
    lang: None takes the language code in the file name (`dev-ar.tsv` -> ar).
    """
    path = Path(path)
    if task is not None and task not in LABEL_NAMES:
        raise DataError(f"unknown pair task '{task}'; known: {', '.join(LABEL_NAMES)}")
    if not path.is_file():
        raise DataError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    lang = lang or lang_from_filename(path) or UNKNOWN_LANG
    cols: dict[str, list] = {c: [] for c in PAIR_COLUMNS}
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            for lineno, line in enumerate(fh, start=1):
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != 3:
                    raise DataError(f"{path}:{lineno}: expected 3 tab-separated fields "
                                    f"(sentence1, sentence2, label), got {len(fields)}")
                s1, s2, raw = fields
                if task is None:
                    task = _guess_task(path, raw.strip())
                label = _FILE_LABELS[task].get(raw.strip())
                if label is None:
                    raise DataError(f"{path}:{lineno}: unknown {task} label {one_line(raw)}; "
                                    f"expected one of {', '.join(_FILE_LABELS[task])}")
                cols["sentence1"].append(s1)
                cols["sentence2"].append(s2)
                cols["label"].append(label)
                cols["lang"].append(lang)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if task is None:
        raise DataError(f"{path}: empty file")
    return task, cols


def read_pairs(path: str | os.PathLike, task: str | None = None, lang: str | None = None) -> Dataset:
    """One XNLI / PAWS-X TSV file as a Dataset; `label` is a ClassLabel (ints, with names)."""
    from datasets import Dataset

    task, cols = parse_pairs(path, task, lang)
    return Dataset.from_dict(cols, features=pair_features(task))
