"""What a data directory holds (`xadv data list`) and whether it is intact (`xadv data verify`).

`verify` parses every known file with the same validation as the loaders (ids, answer offsets,
TSV fields) and, where the directory has manifests (`MANIFEST.tsv`, and `MANIFEST.next.tsv` for files
not yet promoted: the reference data has both; every `MANIFEST*.tsv` is read), compares each
listed file's sha256 and example count. It reports every problem rather than stopping at the first.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xadv.data.names import SPECS, ResolvedFile, available, row_langs
from xadv.data.pairs import parse_pairs
from xadv.data.squad import load_json, parse_squad
from xadv.errors import DataError, XadvError
from xadv.io import sha256_file
from xadv.paths import data_dir as default_data_dir

MANIFEST_NAME = "MANIFEST.tsv"
MANIFEST_GLOB = "MANIFEST*.tsv"
_MANIFEST_FIELDS = ("dataset", "language", "split", "file", "examples", "sha256")


@dataclass(frozen=True)
class DataFile:
    """One dataset file and its example count."""

    dataset: str
    lang: str
    split: str
    file: str  # relative to the data directory
    examples: int


@dataclass(frozen=True)
class ManifestRow:
    dataset: str
    lang: str
    split: str
    file: str
    examples: int
    sha256: str
    manifest: str = MANIFEST_NAME  # the manifest file that lists it


@dataclass
class FileCheck:
    """The verdict on one file: ok when `problems` is empty."""

    dataset: str
    lang: str
    split: str
    file: str
    examples: int | None = None
    expected_examples: int | None = None
    sha256_ok: bool | None = None  # None: no manifest entry to compare with
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _root(data_dir: str | os.PathLike | None) -> Path:
    root = default_data_dir(data_dir)
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist; run `xadv data download tydiqa` "
                        "or pass --data-dir")
    return root


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def count_examples(rf: ResolvedFile) -> int:
    """Fast count (no validation): questions in a SQuAD file, lines in a TSV."""
    if rf.kind == "qa":
        obj = load_json(rf.path)
        try:
            return sum(len(p["qas"]) for a in obj["data"] for p in a["paragraphs"])
        except (KeyError, TypeError):
            raise DataError(f"{rf.path}: not SQuAD v1.1 JSON (data -> paragraphs -> qas)") from None
    with open(rf.path, "rb") as fh:
        return sum(1 for _ in fh)


def list_data(data_dir: str | os.PathLike | None = None) -> list[DataFile]:
    """Every known dataset file in the data directory with its example count ([] if it does not exist)."""
    root = default_data_dir(data_dir)
    return [DataFile(rf.dataset, rf.lang, rf.split, _rel(root, rf.path), count_examples(rf))
            for rf in available(root)]


def read_manifests(root: Path) -> list[ManifestRow]:
    """The rows of every `<root>/MANIFEST*.tsv`, MANIFEST.tsv first, then by name ([] if there is none)."""
    paths = sorted(root.glob(MANIFEST_GLOB), key=lambda p: (p.name != MANIFEST_NAME, p.name))
    return [row for path in paths if path.is_file() for row in read_manifest(path)]


def read_manifest(path: Path) -> list[ManifestRow]:
    """The rows of one manifest (tab-separated UTF-8, with a header), or [] if there is none."""
    if not path.is_file():
        return []
    rows = []
    lineno = 1
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            missing = [f for f in _MANIFEST_FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: header lacks column '{missing[0]}'")
            for lineno, rec in enumerate(reader, start=2):
                values = [rec.get(f) for f in _MANIFEST_FIELDS]
                if any(v is None for v in values):
                    raise DataError(f"{path}:{lineno}: bad manifest row (fewer than {len(_MANIFEST_FIELDS)} "
                                    "tab-separated fields)")
                try:
                    rows.append(ManifestRow(rec["dataset"], rec["language"], rec["split"], rec["file"],
                                            int(rec["examples"]), rec["sha256"].strip().lower(), path.name))
                except ValueError:
                    raise DataError(f"{path}:{lineno}: bad manifest row (examples must be an integer)") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason}); is it a binary file?") from None
    except csv.Error as exc:
        raise DataError(f"{path}:{lineno}: not a tab-separated manifest ({exc})") from None
    return rows


def _parse_count(rf: ResolvedFile) -> int:
    if rf.kind == "qa":
        context_lang, question_lang = row_langs(rf.lang)
        return len(parse_squad(load_json(rf.path), rf.path, context_lang, question_lang=question_lang)["id"])
    return len(parse_pairs(rf.path, rf.dataset, rf.lang)[1]["label"])


def _line_count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def verify_data(data_dir: str | os.PathLike | None = None,
                on_file: Callable[[str], None] | None = None) -> list[FileCheck]:
    """Check every known file (parse + offsets) and every manifest entry (sha256 + count)."""
    root = _root(data_dir)
    manifest = {row.file: row for row in read_manifests(root)}
    checks: dict[str, FileCheck] = {}
    for rf in available(root):
        rel = _rel(root, rf.path)
        check = checks[rel] = FileCheck(rf.dataset, rf.lang, rf.split, rel)
        if on_file:
            on_file(rel)
        try:
            check.examples = _parse_count(rf)
        except XadvError as exc:
            check.problems.append(str(exc))
    manifest_datasets = {spec.manifest_name: spec.name for spec in SPECS.values()}
    for rel, row in manifest.items():
        path = root / rel
        check = checks.get(rel)
        listed_only = check is None
        if check is None:
            check = checks[rel] = FileCheck(manifest_datasets.get(row.dataset, row.dataset),
                                            row.lang, row.split, rel)
            if on_file:
                on_file(rel)
            if not path.is_file():
                check.problems.append(f"{path}: listed in {row.manifest} but missing")
                continue
        check.expected_examples = row.examples
        try:
            if listed_only:
                check.examples = _line_count(path)  # other listed files (dictionaries): one entry a line
            check.sha256_ok = sha256_file(path) == row.sha256
        except OSError as exc:
            check.problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        if not check.sha256_ok:
            check.problems.append(f"{path}: sha256 differs from {row.manifest} (file changed or corrupted)")
        if check.examples is not None and check.examples != row.examples:
            check.problems.append(f"{path}: {check.examples} examples, {row.manifest} says {row.examples}")
    if not checks:
        raise DataError(f"no datasets found in {root}; run `xadv data download tydiqa` or pass --data-dir")
    return sorted(checks.values(), key=lambda c: (c.dataset, c.split, c.lang, c.file))
