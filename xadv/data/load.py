"""The two entry points the rest of xadv uses: `load_qa` and `load_pairs`.

Both take a dataset name (`tydiqa:all:dev`) or a plain file path, and return one in-memory
`datasets.Dataset` whose `lang` column says where each row came from, so per-language results
never depend on file order.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from xadv.data.names import SPECS, looks_like_path, resolve, row_langs
from xadv.data.pairs import LABEL_NAMES, PAIR_COLUMNS, pair_features, parse_pairs
from xadv.data.squad import QA_COLUMNS, load_json, parse_squad, qa_dataset
from xadv.errors import DataError
from xadv.langs import LANGUAGES

if TYPE_CHECKING:
    from datasets import Dataset


def load_qa(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
            lang: str | None = None) -> Dataset:
    """QA examples (`QA_COLUMNS`) from a name or a SQuAD JSON path; each row's language from the name.

    lang applies to a plain path only (a name already fixes the language of each file; a file name
    never does): a registry code, else rows are `und` unless their ids carry a TyDi prefix.
    Ids must be unique across all files of a name, and there must be at least one question. Datasets
    whose files share ids across languages (XQuAD, MLQA) keep the published ids for one file and
    qualify them as `<lang>/<id>` (`en-de/<id>` for an MLQA pair) when a name combines several.
    """
    if looks_like_path(name_or_path):
        if lang is not None and lang not in LANGUAGES:
            raise DataError(f"unknown language {lang!r} for {name_or_path}; known: {' '.join(LANGUAGES)}")
        columns = parse_squad(load_json(name_or_path), name_or_path, lang)
    else:
        if lang is not None:
            raise DataError(f"--lang applies to a file; the dataset name {name_or_path} already fixes "
                            "the language of every row")
        files = resolve(str(name_or_path), data_dir)
        if files[0].kind != "qa":
            raise DataError(f"{name_or_path}: {files[0].dataset} is a sentence-pair dataset; use load_pairs")
        qualify = SPECS[files[0].dataset].shared_ids and len(files) > 1
        seen: set[str] = set()
        columns = {c: [] for c in QA_COLUMNS}
        for rf in files:
            context_lang, question_lang = row_langs(rf.lang)
            part = parse_squad(load_json(rf.path), rf.path, context_lang, seen_ids=seen,
                               question_lang=question_lang, id_prefix=f"{rf.lang}/" if qualify else "")
            for c in QA_COLUMNS:
                columns[c].extend(part[c])
    if not columns["id"]:  # scoring, attacking or training on nothing would report numbers about nothing
        raise DataError(f"no questions in {name_or_path}")
    return qa_dataset(columns)


def load_pairs(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
               task: str | None = None) -> Dataset:
    """Sentence pairs (sentence1, sentence2, label, lang) from `xnli:ar:dev`, `pawsx:all:dev` or a TSV."""
    from datasets import Dataset

    if looks_like_path(name_or_path):
        task, cols = parse_pairs(name_or_path, task)
        return Dataset.from_dict(cols, features=pair_features(task))
    files = resolve(str(name_or_path), data_dir)
    if files[0].kind != "pairs":
        raise DataError(f"{name_or_path}: {files[0].dataset} is a QA dataset; use load_qa")
    task = files[0].dataset
    assert task in LABEL_NAMES
    columns: dict[str, list] = {c: [] for c in PAIR_COLUMNS}
    for rf in files:
        _, part = parse_pairs(rf.path, task, rf.lang)
        for c in PAIR_COLUMNS:
            columns[c].extend(part[c])
    return Dataset.from_dict(columns, features=pair_features(task))
