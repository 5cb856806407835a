"""`xadv data download tydiqa|mlqa`: fetch official QA data into the reference layout, verified.

MLQA (Lewis et al. 2020) is one zip, `MLQA_V1.zip`, already in per-pair files
(`MLQA_V1/<split>/<split>-context-<c>-question-<q>.json`). No sha256 of it is published by its
authors, so the zip's structure is verified instead: every expected pair file of every requested
split is present, parses and has answer offsets that point at the answers; each is then written
byte-for-byte as published. The sha256 of what was downloaded is reported with the files.

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

from xadv.data.names import SPECS, row_langs
from xadv.data.squad import load_json, parse_squad
from xadv.errors import DataError
from xadv.io import atomic_open, atomic_write_bytes, check_output_path, parse_json, sha256_file
from xadv.langs import TYDI_ID_PREFIX, TYDI_LANGS, lang_from_tydi_id
from xadv.paths import data_dir as default_data_dir
from xadv.paths import network_timeout
from xadv.version import __version__

TYDIQA_GOLDP_BASE_URL = "https://storage.googleapis.com/tydiqa/v1.1/"
MLQA_BASE_URL = "https://dl.fbaipublicfiles.com/MLQA/"
MAX_MEMBER_BYTES = 256 << 20  # one MLQA file is < 20 MB; a larger member is not MLQA (or a zip bomb)


@dataclass(frozen=True)
class RemoteFile:
    """A published file and its expected size and sha256."""

    filename: str
    split: str
    size: int | None
    sha256: str | None  # None: not published; the content is verified by its structure instead


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
    dataset: str = "tydiqa"
    sha256: str | None = None  # of the download it came from, when one was made

    @property
    def name(self) -> str:
        return f"{self.dataset}:{self.lang}:{self.split}"


def file_url(base_url: str, filename: str) -> str:
    """`base_url` + filename; a plain folder path becomes a file:// URL."""
    if "://" in base_url:
        return base_url.rstrip("/") + "/" + filename
    return (Path(base_url).expanduser().resolve() / filename).as_uri()


def fetch(url: str, dest: str | os.PathLike, sha256: str | None, size: int | None = None,
          progress: ProgressHook | None = None, timeout: float | None = None) -> Path:
    """Stream `url` to `dest` atomically, failing unless its size and sha256 are the expected ones
    (a None size or sha256 is not checked: the caller verifies the content).

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


def _check_download(url: str, n_bytes: int, got_sha: str, size: int | None, sha256: str | None) -> None:
    if size is not None and n_bytes != size:
        raise DataError(f"{url}: got {n_bytes} bytes, expected {size} (truncated or changed upstream); "
                        "nothing was written")
    if sha256 is not None and got_sha != sha256:
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


MLQA_FILE = RemoteFile("MLQA_V1.zip", "dev,test", None, None)


def download_mlqa(data_dir: str | os.PathLike | None = None, base_url: str = MLQA_BASE_URL,
                  splits: Iterable[str] = ("dev", "test"), remote: RemoteFile = MLQA_FILE,
                  force: bool = False, progress: ProgressHook | None = None) -> list[LanguageFile]:
    """Fetch `MLQA_V1.zip`, verify it and write its pair files under `<data_dir>/MLQA_V1/`.

    Splits whose 49 pair files all exist are left alone unless `force`. The zip is kept under
    `MLQA_V1/.download/` only until it has been extracted (and reused after an interruption).
    """
    root = default_data_dir(data_dir)
    spec = SPECS["mlqa"]
    wanted = list(dict.fromkeys(splits))
    unknown = [s for s in wanted if s not in spec.splits]
    if unknown:
        raise DataError(f"unknown MLQA split '{unknown[0]}'; known: {', '.join(spec.splits)}")
    targets = [(split, key, spec.candidates(root, key, split)[0]) for split in wanted for key in spec.keys]
    if not force and all(p.is_file() for _, _, p in targets):
        return [LanguageFile(key, split, p, _count_qas(p), "present", "mlqa") for split, key, p in targets]
    archive = root / "MLQA_V1" / ".download" / remote.filename
    try:
        if not (archive.is_file() and remote.sha256 in (None, sha256_file(archive))):
            fetch(file_url(base_url, remote.filename), archive, remote.sha256, remote.size, progress)
        digest = sha256_file(archive)
        result = _extract_mlqa(archive, targets, digest)
        archive.unlink()
    finally:
        with contextlib.suppress(OSError):
            archive.parent.rmdir()
    return result


def _extract_mlqa(archive: Path, targets: list[tuple[str, str, Path]], digest: str) -> list[LanguageFile]:
    """Check the zip has every target as `MLQA_V1/<split>/<file>`, validate each, write it as is."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zf:
            members = {info.filename: info for info in zf.infolist()}
            for split, _, path in targets:  # structure first: nothing is written from a wrong zip
                info = members.get(f"MLQA_V1/{split}/{path.name}")
                if info is None:
                    raise DataError(f"{archive}: not the MLQA v1 layout (no MLQA_V1/{split}/{path.name} inside)")
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DataError(f"{archive}: MLQA_V1/{split}/{path.name} is {info.file_size} bytes "
                                    f"unpacked (more than {MAX_MEMBER_BYTES}); not MLQA")
            out = []
            for split, key, path in targets:
                member = f"MLQA_V1/{split}/{path.name}"
                raw = zf.read(member)
                context_lang, question_lang = row_langs(key)
                where = f"{archive} [{member}]"
                n = len(parse_squad(parse_json(raw, where, "dataset", DataError), where, context_lang,
                                    question_lang=question_lang)["id"])
                atomic_write_bytes(path, raw)
                out.append(LanguageFile(key, split, path, n, "written", "mlqa", digest))
            return out
    except zipfile.BadZipFile:
        raise DataError(f"{archive}: not a valid zip file") from None


DOWNLOADABLE: dict[str, str] = {
    "tydiqa": "TyDi QA GoldP v1.1, train and dev, all 9 languages (from storage.googleapis.com/tydiqa)",
    "mlqa": "MLQA v1, dev and test, 7 languages and all 49 context-question pairs (from dl.fbaipublicfiles.com)",
}
DEFAULT_SPLITS: dict[str, tuple[str, ...]] = {"tydiqa": ("train", "dev"), "mlqa": ("dev", "test")}
BASE_URLS: dict[str, str] = {"tydiqa": TYDIQA_GOLDP_BASE_URL, "mlqa": MLQA_BASE_URL}


def downloadable(name: str) -> str:
    """The canonical name of a downloadable dataset, or a one-line DataError listing them."""
    key = name.strip().lower()
    key = {"tydi": "tydiqa", "tydiqa_goldp": "tydiqa", "tydiqa-goldp": "tydiqa", "mlqa_v1": "mlqa"}.get(key, key)
    if key not in DOWNLOADABLE:
        raise DataError(f"cannot download '{name}'; downloadable: {', '.join(DOWNLOADABLE)} "
                        "(SQuAD, XQuAD, XNLI and PAWS-X: place the files in the data directory by hand)")
    return key


def download_dataset(name: str, **kwargs) -> list[LanguageFile]:
    """Dispatch `xadv data download NAME` (TyDi QA GoldP, MLQA); kwargs as the dataset's function,
    with `splits` and `base_url` defaulting to the dataset's own when None."""
    key = downloadable(name)
    if kwargs.get("splits") is None:
        kwargs["splits"] = DEFAULT_SPLITS[key]
    if kwargs.get("base_url") is None:
        kwargs["base_url"] = BASE_URLS[key]
    return download_mlqa(**kwargs) if key == "mlqa" else download_tydiqa(**kwargs)
