"""`xadv data download tydiqa`: fetch the official TyDi QA GoldP v1.1 files and split them per language.

Google publishes one combined train file and one combined dev file for all languages. We verify
each against its published sha256 (the checksums the Hugging Face `tydiqa` loader records for
these exact URLs), then split by the language prefix of the example ids into the per-language
files of the reference layout (`tydiqa_goldp/tydiqa.goldp.<lang>.<split>.json`). Every file is
written atomically, so an interrupted download never leaves a file that `load_qa` would trust.

The base URL may be `https://...`, `file://...` or a plain local folder (mirrors, offline tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from xadv import __version__
from xadv.data.names import SPECS
from xadv.data.squad import load_json, parse_squad
from xadv.errors import DataError
from xadv.io import atomic_open, check_output_path, sha256_file
from xadv.langs import TYDI_ID_PREFIX, TYDI_LANGS, lang_from_tydi_id
from xadv.paths import data_dir as default_data_dir
from xadv.paths import network_timeout

TYDIQA_GOLDP_BASE_URL = "https://storage.googleapis.com/tydiqa/v1.1/"


@dataclass(frozen=True)
class RemoteFile:
    """A published file and its expected size and sha256."""

    filename: str
    split: str
    size: int | None
    sha256: str


# Sizes and sha256 as recorded by the Hugging Face `tydiqa` dataset loader (dataset_infos.json,
# download_checksums) for https://storage.googleapis.com/tydiqa/v1.1/<filename>.
TYDIQA_GOLDP_FILES: tuple[RemoteFile, ...] = (
    RemoteFile("tydiqa-goldp-v1.1-train.json", "train", 58004076,
               "cefc8e09ff2548d9b10a678d3a6bbbe5bc036be543f92418819ea676c97be23b"),
    RemoteFile("tydiqa-goldp-v1.1-dev.json", "dev", 5617409,
               "b286e0f34bc7f52259359989716f369b160565bd12ad8f3a3e311f9b0dbad1c0"),
)

# (label, bytes done, bytes total or None) -> None; the CLI draws a progress bar with it.
ProgressHook = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class LanguageFile:
    """One per-language file produced (or found already present) by a download."""

    lang: str
    split: str
    path: Path
    examples: int
    status: str  # "written" or "present"


def file_url(base_url: str, filename: str) -> str:
    """`base_url` + filename; a plain folder path becomes a file:// URL."""
    if "://" in base_url:
        return base_url.rstrip("/") + "/" + filename
    return (Path(base_url).expanduser().resolve() / filename).as_uri()


def fetch(url: str, dest: str | os.PathLike, sha256: str, size: int | None = None,
          progress: ProgressHook | None = None, timeout: float | None = None) -> Path:
    """Stream `url` to `dest` atomically, failing unless its size and sha256 are the expected ones.

    Every connect and read waits at most `timeout` seconds (default: `xadv.paths.network_timeout()`,
    $XADV_NET_TIMEOUT or 30), so a server that accepts and never answers fails in one line."""
    import urllib.error  # ~80 ms of http/email/ssl imports, paid only when downloading
    import urllib.request

    dest = Path(dest)
    label = dest.name
    request = urllib.request.Request(url, headers={"User-Agent": f"xadv/{__version__}"})
    digest, done = hashlib.sha256(), 0
    timeout = network_timeout() if timeout is None else timeout
    check_output_path(dest, size_hint=size)  # room for the file, before connecting
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp, atomic_open(dest, "wb", size_hint=size) as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else size
            if progress:
                progress(label, 0, total)
            while block := resp.read(1 << 20):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(label, done, total)
            _check_download(url, done, digest.hexdigest(), size, sha256)
    except TimeoutError:
        raise DataError(f"{url}: download failed: no answer within {timeout:g} s (XADV_NET_TIMEOUT)") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DataError(f"{url}: download failed: no answer within {timeout:g} s (XADV_NET_TIMEOUT)") from None
        raise DataError(f"{url}: download failed: {getattr(exc, 'reason', exc)}") from None
    except OSError as exc:
        raise DataError(f"{url}: download failed: {exc}") from None
    return dest


def _check_download(url: str, n_bytes: int, got_sha: str, size: int | None, sha256: str) -> None:
    if size is not None and n_bytes != size:
        raise DataError(f"{url}: got {n_bytes} bytes, expected {size} (truncated or changed upstream); "
                        "nothing was written")
    if got_sha != sha256:
        raise DataError(f"{url}: sha256 mismatch (got {got_sha}, expected {sha256}); corrupted or changed "
                        "upstream; nothing was written")


def split_by_language(obj: dict, source: str | os.PathLike) -> dict[str, dict]:
    """Split combined TyDi GoldP JSON into {lang: SQuAD JSON}, by each example's id prefix.

    Article and paragraph structure and order are kept; an article whose questions span languages
    (none in v1.1) is divided between them. Other top-level keys (e.g. `version`) are copied.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataError(f"{source}: not SQuAD v1.1 JSON (no top-level 'data' list)")
    out: dict[str, dict] = {}
    for article in obj["data"]:
        per_lang: dict[str, dict] = {}
        for para in article.get("paragraphs", []):
            by_lang: dict[str, list] = {}
            for qa in para.get("qas", []):
                qid = str(qa.get("id", ""))
                lang = lang_from_tydi_id(qid)
                if lang is None:
                    raise DataError(f"{source}: example {qid or '?'}: id has no TyDi language prefix "
                                    f"(expected one of {', '.join(TYDI_ID_PREFIX.values())})")
                by_lang.setdefault(lang, []).append(qa)
            for lang, qas in by_lang.items():
                art = per_lang.setdefault(lang, {**article, "paragraphs": []})
                art["paragraphs"].append({**para, "qas": qas})
        for lang, art in per_lang.items():
            dest = out.setdefault(lang, {**{k: v for k, v in obj.items() if k != "data"}, "data": []})
            dest["data"].append(art)
    return {lang: out[lang] for lang in TYDI_LANGS if lang in out}


def _target(root: Path, lang: str, split: str) -> Path:
    return SPECS["tydiqa"].candidates(root, lang, split)[0]


def _count_qas(path: Path) -> int:
    obj = load_json(path)
    return sum(len(p.get("qas", [])) for a in obj.get("data", []) for p in a.get("paragraphs", []))


def download_tydiqa(data_dir: str | os.PathLike | None = None, base_url: str = TYDIQA_GOLDP_BASE_URL,
                    splits: Iterable[str] = ("train", "dev"),
                    files: Iterable[RemoteFile] = TYDIQA_GOLDP_FILES, force: bool = False,
                    progress: ProgressHook | None = None) -> list[LanguageFile]:
    """Fetch, verify and split TyDi GoldP into `<data_dir>/tydiqa_goldp/`; returns what is there.

    A split whose nine per-language files all exist is left alone unless `force`. The combined
    download is kept under `tydiqa_goldp/.download/` only until it has been split, and is reused if
    an earlier run was interrupted after a verified download.
    """
    root = default_data_dir(data_dir)
    wanted = list(dict.fromkeys(splits))
    by_split = {f.split: f for f in files}
    unknown = [s for s in wanted if s not in by_split]
    if unknown:
        raise DataError(f"unknown TyDi QA GoldP split '{unknown[0]}'; known: {', '.join(by_split)}")
    result: list[LanguageFile] = []
    for split in wanted:
        targets = {lang: _target(root, lang, split) for lang in TYDI_LANGS}
        if not force and all(p.is_file() for p in targets.values()):
            result += [LanguageFile(lang, split, p, _count_qas(p), "present") for lang, p in targets.items()]
            continue
        remote = by_split[split]
        combined = root / "tydiqa_goldp" / ".download" / remote.filename
        try:
            if not (combined.is_file() and sha256_file(combined) == remote.sha256):
                fetch(file_url(base_url, remote.filename), combined, remote.sha256, remote.size, progress)
            result += _split_and_write(combined, root, split)
            combined.unlink()
        finally:
            with contextlib.suppress(OSError):
                combined.parent.rmdir()  # only if empty: a verified download is kept for a retry
    return result


def _split_and_write(combined: Path, root: Path, split: str) -> list[LanguageFile]:
    parts = split_by_language(load_json(combined), combined)
    written = []
    seen: set[str] = set()
    counts = {}
    for lang, obj in parts.items():  # validate every language before writing any
        counts[lang] = len(parse_squad(obj, f"{combined} [{lang}]", lang, seen_ids=seen)["id"])
    for lang, obj in parts.items():
        path = _target(root, lang, split)
        with atomic_open(path) as fh:
            json.dump(obj, fh, ensure_ascii=False)
        written.append(LanguageFile(lang, split, path, counts[lang], "written"))
    return written


DOWNLOADABLE: dict[str, str] = {
    "tydiqa": "TyDi QA GoldP v1.1, train and dev, all 9 languages (from storage.googleapis.com/tydiqa)",
}


def download_dataset(name: str, **kwargs) -> list[LanguageFile]:
    """Dispatch `xadv data download NAME`; only TyDi QA GoldP has a public per-file download we verify."""
    key = name.strip().lower()
    key = {"tydi": "tydiqa", "tydiqa_goldp": "tydiqa", "tydiqa-goldp": "tydiqa"}.get(key, key)
    if key not in DOWNLOADABLE:
        raise DataError(f"cannot download '{name}'; downloadable: {', '.join(DOWNLOADABLE)} "
                        "(SQuAD, XNLI and PAWS-X: place the files in the data directory by hand)")
    return download_tydiqa(**kwargs)
