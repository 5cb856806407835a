"""Training data per task: read the sources, apply the data mix, remember exactly what was used.

A mix decides which languages of a task's sources train the model:
    en     English rows only;
    multi  non-English rows only, spread evenly over the languages available (water-filling);
    mixed  both, with `en_share` of the task's examples in English.
With `max_examples` (per task) the three mixes see the same number of examples, which is what makes
their comparison fair; without it each mix takes all it can (mixed: as many as keep the share exact).
Selection is a seeded shuffle per language, so the same config picks the same rows every time.

Content-matched sources (XQuAD, XNLI, PAWS-X: the same items translated into every language) can be
selected by *item* instead (`content_matched`, `matched_select`): every item enters at most once, in one
language, so en, multi and mixed see the same content and differ only in its language; a share of the
items (`holdout`, whole paragraphs / premises) is kept out of every mix for held-out checks.

Every file read is recorded with its sha256 and example count for the model card.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attacks.adversarial import AugmentSpec, adversarial_copies
from xadv.errors import DataError
from xadv.io import sha256_file
from xadv.train.config import TASKS, ConfigError

QA_KEYS = ("id", "lang", "question", "context", "answers")
PAIR_KEYS = ("sentence1", "sentence2", "label", "lang")


@dataclass(frozen=True)
class DataFileRecord:
    """One data file that fed training, as the model card lists it."""

    source: str  # the name in the config (tydiqa:en:train) or the path given
    lang: str
    path: str
    sha256: str
    examples: int


@dataclass
class TaskData:
    """The examples one task trains on, after mixing, and where they came from."""

    task: str  # qa | xnli | pawsx | target
    kind: str  # qa | pairs
    rows: list[dict[str, Any]]
    counts: dict[str, int]  # examples used per language
    available: dict[str, int]  # examples in the sources per language (before the mix)
    files: list[DataFileRecord] = field(default_factory=list)
    n_labels: int = 0  # pairs tasks: number of classes
    augmentation: dict[str, Any] | None = None  # target: the adversarial copies among `rows` (`add_adversarial`)
    matched: dict[str, Any] | None = None  # content-matched selection: items, held-out items (`matched_select`)
    held_out: list[dict[str, Any]] = field(default_factory=list)  # rows of held-out items (every language)

    @property
    def languages(self) -> list[str]:
        return sorted(lang for lang, n in self.counts.items() if n > 0)


def _file_record(source: str, lang: str, path: Path, examples: int, data_dir: Path | None) -> DataFileRecord:
    try:
        shown = path.resolve().relative_to(data_dir.resolve()).as_posix() if data_dir else str(path)
    except ValueError:
        shown = str(path)
    return DataFileRecord(source, lang, shown, sha256_file(path), examples)


def source_files(source: str, kind: str, data_dir: str | os.PathLike | None,
                 task: str | None = None) -> list[tuple[str, Path]]:
    """(name, path) of each file behind a source, checked to be data of the right kind."""
    from xadv.data.names import looks_like_path, resolve

    if looks_like_path(source):
        return [(source, Path(source))]
    resolved = resolve(source, data_dir)
    if resolved[0].kind != kind:
        want = "a SQuAD-format QA dataset" if kind == "qa" else "a sentence-pair dataset (xnli, pawsx)"
        raise ConfigError(f"source {source!r} is not {want}")
    if kind == "pairs" and task and resolved[0].dataset != task:
        raise ConfigError(f"source {source!r} is {resolved[0].dataset} data, not {task}")
    return [(rf.name, rf.path) for rf in resolved]


def read_source(source: str, kind: str, data_dir: str | os.PathLike | None,
                task: str | None = None) -> tuple[list[dict[str, Any]], list[DataFileRecord]]:
    """Rows of one source (a dataset name or a file path) plus a record of each file read."""
    from xadv.paths import data_dir as default_data_dir

    root = default_data_dir(data_dir)
    rows: list[dict[str, Any]] = []
    records = []
    for name, path in source_files(source, kind, data_dir, task):
        stat = path.stat() if path.is_file() else None
        stamp = (str(path.resolve()), stat.st_size, stat.st_mtime_ns) if stat else (str(path), 0, 0)
        part = _read_file(name, path, kind, task, str(root), stamp)
        langs = sorted({r["lang"] for r in part})
        records.append(_file_record(name, ",".join(langs), path, len(part), root))
        rows.extend(part)
    return rows, records


@functools.lru_cache(maxsize=32)
def _read_file(name: str, path: Path, kind: str, task: str | None, root: str,
               stamp: tuple) -> tuple[dict[str, Any], ...]:
    """Parsed rows of one file, memoised per process by (path, size, mtime): the mixes of one benchmark
    (and the tests) read the same files again and again. Rows are shared: callers must not modify them."""
    from xadv.data import load_pairs, load_qa
    from xadv.data.names import looks_like_path

    ref = path if looks_like_path(name) else name
    if kind == "qa":
        return tuple(load_qa(ref, root).select_columns(list(QA_KEYS)).to_list())
    return tuple(load_pairs(ref, root, task=task).select_columns(list(PAIR_KEYS)).to_list())


def allocate(available: dict[str, int], total: int) -> dict[str, int]:
    """Split `total` examples as evenly as possible over languages, none taking more than it has."""
    out: dict[str, int] = {}
    remaining = total
    langs = sorted(available, key=lambda lang: (available[lang], lang))
    for i, lang in enumerate(langs):
        fair = -(-remaining // (len(langs) - i))
        out[lang] = min(available[lang], fair)
        remaining -= out[lang]
    return out


def mix_counts(available: dict[str, int], mix: str, en_share: float, max_examples: int) -> dict[str, int]:
    """Examples to take per language for a mix (see the module docstring)."""
    en = {k: v for k, v in available.items() if k == "en" and v > 0}
    multi = {k: v for k, v in available.items() if k != "en" and v > 0}
    n_en, n_multi = sum(en.values()), sum(multi.values())
    if mix == "en":
        return {"en": min(n_en, max_examples or n_en)} if en else {}
    if mix == "multi":
        return allocate(multi, min(n_multi, max_examples or n_multi))
    if not en or not multi:
        return {}
    if max_examples:
        want_en = round(max_examples * en_share)
        want_multi = max_examples - want_en
    else:
        total = min(n_en / en_share, n_multi / (1 - en_share))
        want_en = round(total * en_share)
        want_multi = round(total * (1 - en_share))
    return {"en": min(want_en, n_en), **allocate(multi, min(want_multi, n_multi))}


def select(rows: list[dict[str, Any]], counts: dict[str, int], seed: int) -> list[dict[str, Any]]:
    """The first counts[lang] rows of each language after a seeded shuffle (reproducible subsets)."""
    by_lang: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_lang.setdefault(row["lang"], []).append(i)
    chosen: list[int] = []
    for lang in sorted(counts):
        idx = np.asarray(by_lang.get(lang, []))
        rng = np.random.default_rng([seed, sum(map(ord, lang))])
        chosen.extend(idx[rng.permutation(len(idx))][: counts[lang]].tolist())
    return [rows[i] for i in sorted(chosen)]


def _available(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["lang"]] = out.get(r["lang"], 0) + 1
    return dict(sorted(out.items()))


def load_task(task: str, sources: list[str], *, mix: str, en_share: float, max_examples: int, seed: int,
              data_dir: str | os.PathLike | None, content_matched: bool = False, holdout: float = 0.0) -> TaskData:
    """One intermediate task's examples under the mix (by item when `content_matched`)."""
    from xadv.data.pairs import LABEL_NAMES

    kind = TASKS[task]
    rows: list[dict[str, Any]] = []
    files: list[DataFileRecord] = []
    for source in sources:
        part, recs = read_source(source, kind, data_dir, task=task if kind == "pairs" else None)
        rows.extend(part)
        files.extend(recs)
    if content_matched:
        data = matched_select(task, kind, rows, mix=mix, en_share=en_share, max_examples=max_examples,
                              seed=seed, holdout=holdout)
    else:
        available = _available(rows)
        counts = mix_counts(available, mix, en_share, max_examples)
        if not counts or not sum(counts.values()):
            need = {"en": "English", "multi": "non-English", "mixed": "both English and non-English"}[mix]
            raise ConfigError(f"task {task}: its sources ({', '.join(sources)}) have no {need} data for mix "
                              f"{mix!r} (languages there: {', '.join(available) or 'none'})")
        data = TaskData(task, kind, select(rows, counts, seed), counts, available)
    used = {r["lang"] for r in data.rows}
    return dataclasses.replace(data, files=[f for f in files if set(f.lang.split(",")) & used],
                               n_labels=len(LABEL_NAMES[task]) if kind == "pairs" else 0)


def item_keys(kind: str, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(item, group) of every row. QA: the id (without a `lang/` prefix; XQuAD shares ids across languages)
    and the paragraph; pairs: the row's position in its language's file and the
    first sentence (an XNLI premise carries three hypotheses). Groups are named by their text in one
    language (the smallest code of the item's languages), so a paragraph is one group in all of them."""
    position: dict[str, int] = {}
    raw: list[tuple[str, str]] = []
    for row in rows:
        lang = row["lang"]
        if kind == "qa":
            prefix, sep, rest = str(row["id"]).partition("/")
            raw.append((rest if sep and prefix == lang else str(row["id"]), row["context"]))
        else:
            raw.append((str(position.get(lang, 0)), row["sentence1"]))
            position[lang] = position.get(lang, 0) + 1
    first: dict[str, tuple[str, str]] = {}  # item -> (lang, group text) of its smallest language
    for row, (item, text) in zip(rows, raw):
        if item not in first or row["lang"] < first[item][0]:
            first[item] = (row["lang"], text)
    return [(item, first[item][1]) for item, _ in raw]


def _unit(*parts: object) -> float:
    """A number in [0, 1) from a SHA-256 of the parts: order- and process-independent draws."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).hexdigest()[:15], 16) / 16**15


def matched_select(task: str, kind: str, rows: list[dict[str, Any]], *, mix: str, en_share: float,
                   max_examples: int, seed: int, holdout: float = 0.0) -> TaskData:
    """Content-matched selection: items (not rows) are drawn, each used once in one language.

    Groups whose hash falls below `holdout` are held out of every mix and seed (their rows are returned in
    `held_out`). The other items are ordered by a seeded hash and the first `max_examples` taken (all when
    0), the same items for en, multi and mixed; en puts every item in English, multi deals them round-robin
    over the non-English languages (in a seeded order), mixed puts the first round(n * en_share) in English
    and deals the rest. An item missing in its dealt language goes to the next language that has it."""
    keys = item_keys(kind, rows)
    if len({row["lang"] for row in rows}) > 1 and len({item for item, _ in keys}) == len(keys):
        raise ConfigError(f"task {task}: content_matched needs sources whose items are shared across languages "
                          f"(XQuAD ids, XNLI / PAWS-X lines); these share none")
    langs_of: dict[str, dict[str, int]] = {}
    held: set[str] = set()
    for i, (row, (item, group)) in enumerate(zip(rows, keys)):
        if row["lang"] in langs_of.setdefault(item, {}):
            raise ConfigError(f"task {task}: item {item!r} appears twice in {row['lang']} "
                              f"(content_matched reads each language from one source)")
        langs_of[item][row["lang"]] = i
        if _unit("holdout", group) < holdout:
            held.add(item)
    available = _available(rows)
    multi = sorted((lang for lang in available if lang != "en"), key=lambda lang: _unit(seed, task, "lang", lang))
    items = sorted((k for k in langs_of if k not in held), key=lambda k: _unit(seed, task, k))
    items = items[: max_examples or len(items)]
    n_en = {"en": len(items), "multi": 0}.get(mix, round(len(items) * en_share))
    if (n_en and "en" not in available) or (len(items) > n_en and not multi) or not items:
        need = "English" if n_en else "non-English"
        raise ConfigError(f"task {task}: its sources have no {need} data for mix {mix!r} "
                          f"(languages there: {', '.join(available) or 'none'})")
    chosen: list[int] = []
    for k, item in enumerate(items):
        have = langs_of[item]
        order = ["en"] if k < n_en else [multi[(k - n_en + j) % len(multi)] for j in range(len(multi))]
        lang = next((x for x in order if x in have), None)
        if lang is not None:
            chosen.append(have[lang])
    # rows are copied with their item key (`item`): a pair's key is its line, which the row alone lacks
    picked = [dict(rows[i], item=keys[i][0]) for i in sorted(chosen)]
    return TaskData(task, kind, picked, _available(picked), available,
                    matched={"items": len(picked), "held_out_items": len(held), "holdout": holdout},
                    held_out=[dict(r, item=item) for r, (item, _) in zip(rows, keys) if item in held])


def load_target(source: str, *, max_examples: int, seed: int, data_dir: str | os.PathLike | None) -> TaskData:
    """The target-task QA data (all languages it holds; `max_examples` caps it, spread evenly)."""
    rows, files = read_source(source, "qa", data_dir)
    if not rows:
        raise DataError(f"target data {source!r} has no examples")
    available = _available(rows)
    counts = allocate(available, min(len(rows), max_examples or len(rows)))
    return TaskData("target", "qa", select(rows, counts, seed), counts, available, files)


def add_adversarial(target: TaskData, spec: AugmentSpec | None, *, seed: int,
                    data_dir: str | os.PathLike | None) -> TaskData:
    """The target data with adversarial copies added after the originals (`attacks.adversarial`): `counts`
    stay the original examples (the languages seen do not change), `augmentation` says what was added."""
    if spec is None:
        return target
    made = adversarial_copies(target.rows, spec, seed=seed, data_dir=data_dir)
    return dataclasses.replace(target, rows=[*target.rows, *made.rows],
                               augmentation={**made.to_dict(), "mode": "added", "originals": len(target.rows)})


def check_no_leak(train_files: list[DataFileRecord], eval_source: str,
                  data_dir: str | os.PathLike | None) -> None:
    """Refuse to train on the very files the run is evaluated on (results would be meaningless)."""
    if not eval_source:
        return
    held_out = {sha256_file(path) for _, path in source_files(eval_source, "qa", data_dir) if path.is_file()}
    for f in train_files:
        if f.sha256 in held_out:
            raise ConfigError(f"training data {f.source} ({f.path}) is also the evaluation data "
                              f"{eval_source}: keep evaluation files out of training")
