"""SQuAD v1.1 JSON <-> a flat `datasets.Dataset` of QA examples.

TyDi QA GoldP, SQuAD, XQuAD and MLQA all ship as SQuAD v1.1 JSON (`data -> paragraphs -> qas`).
Everything downstream (attacks, the QA engine, the scorer) works on one flat row per question:

    id, lang, question_lang, title, context, question, answers{text: [str], answer_start: [int]}

`lang` is the language of the context and the answers (what scoring uses, as MLQA's official
evaluation does); `question_lang` differs from it only in MLQA's cross-lingual pairs.

Reading validates what the rest of the pipeline silently relies on (unique ids, and answer offsets
that point at the answer text), so a bad file fails here with one line naming the file and the
example, instead of producing quietly wrong F1 later. Nothing is stripped or normalised: offsets
are character offsets into the exact context string.
"""

from __future__ import annotations

import json
import operator
import os
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xadv.errors import DataError
from xadv.io import atomic_open, lone_surrogate, one_line, parse_json
from xadv.langs import TYDI_ID_PREFIX, lang_from_tydi_id

if TYPE_CHECKING:  # `datasets` costs ~1.5 s to import; only functions that build a Dataset pay it.
    from datasets import Dataset, Features

QA_COLUMNS: tuple[str, ...] = ("id", "lang", "question_lang", "title", "context", "question", "answers")
UNKNOWN_LANG = "und"  # BCP-47 "undetermined": no language from the dataset, a TyDi id prefix or --lang

# answer_start is an int32 column (`qa_features`), so larger offsets cannot even be stored.
MAX_OFFSET = 2**31 - 1

def qa_features() -> Features:
    """The column types of a QA dataset (the Hugging Face `squad` layout plus `lang`)."""
    from datasets import Features, Sequence, Value

    return Features(
        {
            "id": Value("string"),
            "lang": Value("string"),
            "question_lang": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")}),
        }
    )


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file, or the single `.json` member of a `.zip` (the SQuAD dev download), strictly
    (`xadv.io.parse_json`: a duplicate key, non-UTF-8 bytes or nesting too deep is a DataError)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    try:
        raw = _read_zip_member(path) if path.suffix.lower() == ".zip" else path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_json(raw, str(path), "dataset", DataError)


def _read_zip_member(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist()
                       if n.lower().endswith(".json") and not n.startswith("__MACOSX/")]
            if len(members) != 1:
                raise DataError(f"{path}: expected exactly one .json file inside the zip, found {len(members)}")
            return zf.read(members[0])
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not a valid zip file") from None


def _need(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise DataError(f"{where}: missing key '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DataError(f"{where}: '{key}' must be {kind.__name__}, got {type(value).__name__}")
    if kind is str:
        check_text(value, key, where)
    return value


def show_id(example_id: str) -> str:
    """An example id as messages show it: as is when it is plain text, quoted (one line) otherwise."""
    plain = example_id and example_id.isprintable() and example_id.strip() == example_id and len(example_id) <= 80
    return example_id if plain else one_line(example_id)


def check_text(value: str, key: str, where: str) -> None:
    """Raise unless `value` is valid Unicode text: JSON's `\\ud800` escapes can smuggle in a lone
    surrogate, which no file, Arrow column or terminal can hold (every later stage would crash on it)."""
    at = lone_surrogate(value)
    if at is not None:
        raise DataError(f"{where}: '{key}' holds a lone surrogate U+{ord(value[at]):04X} at character {at} "
                        "(not valid Unicode text)")


def _blank(text: str) -> bool:
    """Nothing to find or to score: empty, or only whitespace / invisible format characters."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") for ch in text)


def check_answer(context: str, text: str, start: int, where: str) -> None:
    """Raise unless `text` is a real answer (not blank) and `context[start:start+len(text)] == text`
    (the invariant every stage relies on), with `start` an int offset inside the context."""
    if _blank(text):
        raise DataError(f"{where}: answer text {one_line(text)} is empty or blank (a gold answer must have "
                        "visible text; an empty prediction would match it for free)")
    try:
        if isinstance(start, bool):
            raise TypeError
        start = operator.index(start)  # an int (numpy integers too), never a bool or a float
    except TypeError:
        raise DataError(f"{where}: answer_start must be int, got {type(start).__name__}") from None
    if not 0 <= start <= min(len(context) - len(text), MAX_OFFSET):
        raise DataError(f"{where}: answer_start {start} is outside the context (answer {one_line(text)} of "
                        f"length {len(text)}, context of length {len(context)})")
    if context[start:start + len(text)] != text:
        found = context[start:start + len(text)]
        raise DataError(f"{where}: answer_start {start} does not point at the answer {one_line(text)} "
                        f"(context there has {one_line(found)})")


def parse_squad(obj: Any, source: str | os.PathLike, lang: str | None = None,
                seen_ids: set[str] | None = None, question_lang: str | None = None,
                id_prefix: str = "") -> dict[str, list]:
    """Flatten and validate parsed SQuAD JSON into columns (`QA_COLUMNS`), without building a Dataset.

    lang: given (by the dataset name or --lang), else each example's TyDi id prefix (`swahili-...` ->
    sw), else "und"; never guessed from the file name (`xquad-id-en.json` is not Indonesian). An
    explicit lang that contradicts a TyDi id prefix is an error (a mislabelled file would otherwise be
    scored as the wrong language). question_lang: the questions' language when it differs (MLQA).
    seen_ids: ids already taken (when several files are concatenated); updated in place.
    id_prefix: prepended to every id (`de/`), for datasets whose files share ids across languages.
    """
    source = str(source)
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataError(f"{source}: not SQuAD v1.1 JSON (no top-level 'data' list)")
    seen = seen_ids if seen_ids is not None else set()
    cols: dict[str, list] = {c: [] for c in QA_COLUMNS}
    for ai, article in enumerate(obj["data"]):
        where_a = f"{source}: data[{ai}]"
        title = _need(article, "title", str, where_a)
        for pi, para in enumerate(_need(article, "paragraphs", list, where_a)):
            where_p = f"{where_a}.paragraphs[{pi}]"
            context = _need(para, "context", str, where_p)
            for qi, qa in enumerate(_need(para, "qas", list, where_p)):
                qid = id_prefix + _need(qa, "id", str, f"{where_p}.qas[{qi}]")
                where = f"{source}: example {show_id(qid)}"
                if qid in seen:
                    raise DataError(f"{where}: duplicate id")
                seen.add(qid)
                question = _need(qa, "question", str, where)
                texts, starts = [], []
                for ans in _need(qa, "answers", list, where):
                    text = _need(ans, "text", str, where)
                    start = _need(ans, "answer_start", int, where)
                    check_answer(context, text, start, where)
                    texts.append(text)
                    starts.append(start)
                cols["id"].append(qid)
                row_lang = _example_lang(qid, lang, where)
                cols["lang"].append(row_lang)
                cols["question_lang"].append(question_lang or row_lang)
                cols["title"].append(title)
                cols["context"].append(context)
                cols["question"].append(question)
                cols["answers"].append({"text": texts, "answer_start": starts})
    return cols


def _example_lang(qid: str, lang: str | None, where: str) -> str:
    id_lang = lang_from_tydi_id(qid)
    if lang is None:
        return id_lang or UNKNOWN_LANG
    if id_lang is not None and id_lang != lang:
        raise DataError(f"{where}: TyDi id prefix '{TYDI_ID_PREFIX[id_lang]}' says {id_lang}, "
                        f"but the language given is {lang}")
    return lang


def qa_dataset(columns: Mapping[str, list]) -> Dataset:
    """Build the in-memory QA Dataset from columns (no cache files are written)."""
    from datasets import Dataset

    return Dataset.from_dict({c: columns[c] for c in QA_COLUMNS}, features=qa_features())


def read_squad(path: str | os.PathLike, lang: str | None = None) -> Dataset:
    """Read and validate one SQuAD v1.1 JSON file (or `.zip` holding one) into a flat QA Dataset."""
    return qa_dataset(parse_squad(load_json(path), path, lang))


def _rows(ds: Dataset | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return ds.to_list() if hasattr(ds, "to_list") else list(ds)


def to_squad(ds: Dataset | Iterable[Mapping[str, Any]], version: str | None = "1.1") -> dict:
    """Rows back to SQuAD v1.1 JSON, order preserved.

    Consecutive rows with the same title form one article; within it, consecutive rows with the same
    context form one paragraph. Perturbed contexts therefore get their own paragraph, and every
    question/answer/offset survives the round trip exactly (two adjacent articles that share a title,
    as a few TyDi files have, come back merged into one article: same examples, one level less).
    Answers and offsets are checked again (`check_answer`: visible text, offset inside the context and
    pointing at it; text that is valid Unicode) so a broken attack can never write an unusable file.
    """
    data: list[dict] = []
    article: dict | None = None
    para: dict | None = None
    for row in _rows(ds):
        check_text(row["id"], "id", "a row to write")
        where = f"example {show_id(row['id'])}"
        for key in ("title", "context", "question"):
            check_text(row[key], key, where)
        answers = row["answers"]
        for text, start in zip(answers["text"], answers["answer_start"], strict=True):
            check_text(text, "text", where)
            check_answer(row["context"], text, start, where)
        if article is None or article["title"] != row["title"]:
            article = {"title": row["title"], "paragraphs": []}
            data.append(article)
            para = None
        if para is None or para["context"] != row["context"]:
            para = {"context": row["context"], "qas": []}
            article["paragraphs"].append(para)
        para["qas"].append({
            "id": row["id"],
            "question": row["question"],
            "answers": [{"text": t, "answer_start": int(s)}
                        for t, s in zip(answers["text"], answers["answer_start"], strict=True)],
        })
    out: dict[str, Any] = {"data": data}
    if version is not None:
        out["version"] = version
    return out


def write_squad(ds: Dataset | Iterable[Mapping[str, Any]], path: str | os.PathLike,
                version: str | None = "1.1") -> Path:
    """Write rows as SQuAD v1.1 JSON (UTF-8, atomically) and return the path."""
    obj = to_squad(ds, version=version)
    path = Path(path)
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False)
    return path


def gold_answers(ds: Dataset | Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """{id: gold answer texts} in dataset order, as the official SQuAD scorer consumes them."""
    if hasattr(ds, "select_columns"):  # one Arrow -> Python conversion, not a row loop
        cols = ds.select_columns(["id", "answers"]).to_dict()
        return {qid: list(ans["text"]) for qid, ans in zip(cols["id"], cols["answers"], strict=True)}
    return {row["id"]: list(row["answers"]["text"]) for row in ds}
