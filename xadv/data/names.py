"""Dataset names (`tydiqa:sw:dev`) resolved to files in a data directory.

A name is `dataset:lang:split`. `lang` may be `all` (every language of the dataset, all required)
or a comma list (`en,ko,sw`); `split` defaults to the dataset's first split (`dev`; `test` for
XQuAD). MLQA's `lang` is a `context-question` pair (`mlqa:en-de:test`: English contexts, German
questions); a single code is the same-language pair (`mlqa:de:dev` = `mlqa:de-de:dev`), and `all` is
the seven same-language pairs. The directory layout is the one of the reference data
(`../shared/data`), of the official MLQA zip and of `xadv data download`:

    tydiqa_goldp/tydiqa.goldp.<lang>.<split>.json    squad_v1.1/<split>-v1.1.json[.zip]
    xquad/xquad.<lang>.json                          MLQA_V1/<split>/<split>-context-<c>-question-<q>.json
    xnli/<split>-<lang>.tsv                          pawsx/<split>-<lang>.tsv

The languages of each dataset come from the registry (`xadv.langs`), and the language of every
row from the name (never from a file name).

Failures say what does exist, so a user can fix the name without reading the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xadv.errors import DataError
from xadv.langs import dataset_langs
from xadv.paths import data_dir as default_data_dir

XNLI_LANGS: tuple[str, ...] = tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split())
PAWSX_LANGS: tuple[str, ...] = tuple("de en es fr ja ko zh".split())


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's files live and what they contain."""

    name: str
    kind: str  # "qa" (SQuAD JSON) or "pairs" (sentence-pair TSV)
    langs: tuple[str, ...]
    splits: tuple[str, ...]
    patterns: tuple[str, ...]  # relative paths, formatted with lang and split; first existing wins
    manifest_name: str  # the `dataset` column of MANIFEST.tsv
    hint: str = ""  # how to get missing files
    pairs: bool = False  # keys are `context-question` language pairs (MLQA)
    shared_ids: bool = False  # the same ids in every language: qualified as `<key>/<id>` when combined

    @property
    def keys(self) -> tuple[str, ...]:
        """Every `lang` part a name may use (pairs: all context-question combinations)."""
        if self.pairs:
            return tuple(f"{c}-{q}" for c in self.langs for q in self.langs)
        return self.langs

    @property
    def all_keys(self) -> tuple[str, ...]:
        """What `all` expands to: every language (pairs: the same-language ones)."""
        return tuple(f"{c}-{c}" for c in self.langs) if self.pairs else self.langs

    def key(self, lang_part: str) -> str:
        """A name's language part as a key (`de` -> `de-de` for pair datasets)."""
        return f"{lang_part}-{lang_part}" if self.pairs and "-" not in lang_part else lang_part

    def candidates(self, root: Path, lang: str, split: str) -> list[Path]:
        context, question = row_langs(lang)
        return [root / p.format(lang=lang, split=split, c=context, q=question) for p in self.patterns]

    def find(self, root: Path, lang: str, split: str) -> Path | None:
        return next((p for p in self.candidates(root, lang, split) if p.is_file()), None)


def row_langs(key: str) -> tuple[str, str]:
    """(context language, question language) of a key: `en-de` -> (en, de), `sw` -> (sw, sw)."""
    context, _, question = key.partition("-")
    return context, question or context


SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec("tydiqa", "qa", dataset_langs("tydiqa"), ("dev", "train"),
                    ("tydiqa_goldp/tydiqa.goldp.{lang}.{split}.json",), "tydiqa_goldp",
                    "run `xadv data download tydiqa` to fetch all languages"),
        DatasetSpec("squad", "qa", ("en",), ("dev", "train"),
                    ("squad_v1.1/{split}-v1.1.json.zip", "squad_v1.1/{split}-v1.1.json"), "squad_v1.1"),
        DatasetSpec("xquad", "qa", dataset_langs("xquad"), ("test",), ("xquad/xquad.{lang}.json",), "xquad",
                    "get the files from github.com/google-deepmind/xquad", shared_ids=True),
        DatasetSpec("mlqa", "qa", dataset_langs("mlqa"), ("dev", "test"),
                    ("MLQA_V1/{split}/{split}-context-{c}-question-{q}.json",), "mlqa",
                    "run `xadv data download mlqa`", pairs=True, shared_ids=True),
        DatasetSpec("xnli", "pairs", XNLI_LANGS, ("dev", "test"), ("xnli/{split}-{lang}.tsv",), "xnli"),
        DatasetSpec("pawsx", "pairs", PAWSX_LANGS, ("dev", "test"), ("pawsx/{split}-{lang}.tsv",), "pawsx"),
    )
}
ALIASES: dict[str, str] = {"mlqa_v1": "mlqa", "tydi": "tydiqa", "tydiqa_goldp": "tydiqa", "tydiqa-goldp": "tydiqa",
                           "squad_v1.1": "squad", "squad1": "squad", "squad-v1.1": "squad",
                           "paws-x": "pawsx", "paws_x": "pawsx"}
SPLIT_ALIASES: dict[str, str] = {"validation": "dev", "val": "dev"}


@dataclass(frozen=True)
class ResolvedFile:
    """One file behind a dataset name."""

    dataset: str
    lang: str
    split: str
    path: Path
    kind: str

    @property
    def name(self) -> str:
        return f"{self.dataset}:{self.lang}:{self.split}"


def looks_like_path(value: str | os.PathLike) -> bool:
    """A plain file path rather than a `dataset:lang:split` name."""
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return ("/" in text or os.sep in text or Path(text).exists()
            or text.lower().endswith((".json", ".zip", ".tsv", ".jsonl")))


def parse_name(name: str) -> tuple[DatasetSpec, list[str], str]:
    """`tydiqa:en,ko:train` -> (spec, ["en", "ko"], "train"), rejecting unknown parts in one line."""
    parts = [p.strip() for p in name.strip().split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise DataError(f"bad dataset name '{name}': expected dataset:lang:split (e.g. tydiqa:sw:dev, "
                        "tydiqa:all:dev) or a path to a file")
    ds_name, lang_part = parts[0].lower(), parts[1].lower()
    spec = SPECS.get(ALIASES.get(ds_name, ds_name))
    if spec is None:
        raise DataError(f"unknown dataset '{parts[0]}' in '{name}'; known: {', '.join(SPECS)} "
                        "(or give a path to a file)")
    split = parts[2].lower() if len(parts) == 3 else spec.splits[0]
    split = SPLIT_ALIASES.get(split, split)
    if split not in spec.splits:
        raise DataError(f"unknown split '{parts[-1]}' for {spec.name} in '{name}'; known: {', '.join(spec.splits)}")
    if lang_part == "all":
        langs = list(spec.all_keys)
    else:
        langs = [spec.key(code.strip()) for code in lang_part.split(",")]
        bad = [code for code in langs if code not in spec.keys]
        if bad:
            pairs = " (or context-question pairs such as en-de)" if spec.pairs else ""
            raise DataError(f"unknown language '{bad[0]}' for {spec.name} in '{name}'; "
                            f"known: {' '.join(spec.langs)}{pairs} (or all)")
        langs = list(dict.fromkeys(langs))
    return spec, langs, split


def resolve(name: str, data_dir: str | os.PathLike | None = None) -> list[ResolvedFile]:
    """The files behind a dataset name, in language order; all must exist."""
    spec, langs, split = parse_name(name)
    root = default_data_dir(data_dir)
    found, missing = [], []
    for lang in langs:
        path = spec.find(root, lang, split)
        if path is None:
            missing.append(lang)
        else:
            found.append(ResolvedFile(spec.name, lang, split, path, spec.kind))
    if missing:
        present = [lang for lang in spec.keys if spec.find(root, lang, split) is not None]
        where = spec.candidates(root, missing[0], split)[0]
        has = ", ".join(present) if present else "none"
        hint = f"; {spec.hint}" if spec.hint else ""
        if present and len(langs) > 1:
            hint = f" (name them: {spec.name}:{','.join(present)}:{split}){hint}"
        raise DataError(f"{name}: no {spec.name} {split} file for {', '.join(missing)} (looked for {where}); "
                        f"{spec.name} {split} in {root} has: {has}{hint}")
    return found


def available(data_dir: str | os.PathLike | None = None) -> list[ResolvedFile]:
    """Every known dataset file present in the data directory."""
    root = default_data_dir(data_dir)
    out = []
    for spec in SPECS.values():
        for split in spec.splits:
            for lang in spec.keys:
                path = spec.find(root, lang, split)
                if path is not None:
                    out.append(ResolvedFile(spec.name, lang, split, path, spec.kind))
    return out
