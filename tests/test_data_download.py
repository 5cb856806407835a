"""`download_tydiqa` on local files only: checksum, per-language split, atomic writes, resume.

A "mirror" folder holds combined files built from the reference per-language files (articles
interleaved across languages, as in the official combined files). Splitting them must give back
files byte-identical to the reference ones, i.e. with the sha256 that MANIFEST.tsv records.
"""

from __future__ import annotations

import csv
import hashlib
import json
from itertools import zip_longest
from pathlib import Path

import pytest

from xadv.data import load_qa, resolve
from xadv.data.download import (
    TYDIQA_GOLDP_BASE_URL,
    TYDIQA_GOLDP_FILES,
    RemoteFile,
    download_dataset,
    download_tydiqa,
    file_url,
    split_by_language,
)
from xadv.errors import DataError
from xadv.langs import TYDI_LANGS

SPLIT_LANGS = {"dev": TYDI_LANGS, "train": ("en", "ko", "sw")}


def _manifest(data_dir: Path) -> dict[str, dict]:
    with open(data_dir / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, data_dir) -> tuple[Path, list[RemoteFile]]:
    folder = tmp_path_factory.mktemp("mirror")
    remotes = []
    for split, langs in SPLIT_LANGS.items():
        per_lang = [json.loads((data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lg}.{split}.json")
                               .read_text(encoding="utf-8"))["data"] for lg in langs]
        interleaved = [a for group in zip_longest(*per_lang) for a in group if a is not None]
        raw = json.dumps({"data": interleaved}, ensure_ascii=False).encode("utf-8")
        name = f"combined-{split}.json"
        (folder / name).write_bytes(raw)
        remotes.append(RemoteFile(name, split, len(raw), hashlib.sha256(raw).hexdigest()))
    return folder, remotes


@pytest.mark.needs_data
def test_split_reproduces_the_reference_files_exactly(mirror, data_dir, tmp_path):
    folder, remotes = mirror
    seen: list[tuple[str, int, int | None]] = []
    out = download_tydiqa(tmp_path, base_url=str(folder), files=remotes,
                          progress=lambda label, done, total: seen.append((label, done, total)))
    manifest = _manifest(data_dir)
    assert [(f.lang, f.split) for f in out] == [(lg, sp) for sp in ("train", "dev") for lg in SPLIT_LANGS[sp]]
    for f in out:
        rel = f"tydiqa_goldp/tydiqa.goldp.{f.lang}.{f.split}.json"
        assert f.path == tmp_path / rel and f.status == "written"
        assert f.examples == int(manifest[rel]["examples"])
        assert hashlib.sha256(f.path.read_bytes()).hexdigest() == manifest[rel]["sha256"]
    assert not (tmp_path / "tydiqa_goldp" / ".download").exists()
    assert {s[0] for s in seen} == {r.filename for r in remotes}
    dev_size = next(r.size for r in remotes if r.split == "dev")
    assert seen[-1] == ("combined-dev.json", dev_size, dev_size)  # dev comes last; its bar reached the end
    # and the result is usable by name
    assert [r.name for r in resolve("tydiqa:all:dev", tmp_path)] == [f"tydiqa:{lg}:dev" for lg in TYDI_LANGS]


@pytest.mark.needs_data
def test_second_run_leaves_present_files_alone(mirror, tmp_path):
    folder, remotes = mirror
    download_tydiqa(tmp_path, base_url=folder.as_uri(), splits=["dev"], files=remotes)
    again = download_tydiqa(tmp_path, base_url="file:///nonexistent/", splits=["dev"], files=remotes)
    assert {f.status for f in again} == {"present"} and sum(f.examples for f in again) == 5077
    with pytest.raises(DataError, match="download failed"):
        download_tydiqa(tmp_path, base_url="file:///nonexistent/", splits=["dev"], files=remotes, force=True)


def _mirror_of(tmp_path, filename: str, content: bytes):
    """A one-file mirror folder serving `content` under `filename`."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / filename).write_bytes(content)
    return folder


@pytest.mark.needs_data
def test_corrupted_download_fails_the_checksum_and_writes_nothing(mirror, tmp_path):
    folder, remotes = mirror
    dev = next(r for r in remotes if r.split == "dev")
    raw = bytearray((folder / dev.filename).read_bytes())
    raw[1000] ^= 0x01
    bad = _mirror_of(tmp_path, dev.filename, bytes(raw))
    out = tmp_path / "data"
    with pytest.raises(DataError) as info:
        download_tydiqa(out, base_url=bad.as_uri(), splits=["dev"], files=remotes)
    msg = str(info.value)
    assert msg.startswith(f"{bad.as_uri()}/{dev.filename}: sha256 mismatch (got ")
    assert f"expected {dev.sha256}); corrupted or changed upstream; nothing was written" in msg
    assert [p for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.needs_data
def test_truncated_download_fails_the_size_check(mirror, tmp_path):
    folder, remotes = mirror
    dev = next(r for r in remotes if r.split == "dev")
    short = _mirror_of(tmp_path, dev.filename, (folder / dev.filename).read_bytes()[:5000])
    with pytest.raises(DataError, match=rf"got 5000 bytes, expected {dev.size} \(truncated"):
        download_tydiqa(tmp_path / "data", base_url=str(short), splits=["dev"], files=remotes)


@pytest.mark.needs_data
def test_a_verified_download_is_reused_after_an_interruption(mirror, tmp_path):
    folder, remotes = mirror
    dev = next(r for r in remotes if r.split == "dev")
    cached = tmp_path / "tydiqa_goldp" / ".download" / dev.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes((folder / dev.filename).read_bytes())
    out = download_tydiqa(tmp_path, base_url="file:///nonexistent/", splits=["dev"], files=remotes)
    assert sum(f.examples for f in out) == 5077 and not cached.exists()


def test_ids_without_a_tydi_prefix_are_rejected(tmp_path):
    obj = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "klingon-1"}]}]}]}
    with pytest.raises(DataError, match=r"x\.json: example klingon-1: id has no TyDi language prefix"):
        split_by_language(obj, "x.json")


def test_split_divides_a_mixed_article():
    para = {"context": "abc", "qas": [{"id": "finnish-1", "question": "q", "answers": []},
                                      {"id": "korean-2", "question": "q", "answers": []}]}
    parts = split_by_language({"data": [{"title": "t", "paragraphs": [para]}], "version": "1.1"}, "x")
    assert list(parts) == ["fi", "ko"]
    assert parts["ko"]["data"][0]["paragraphs"][0]["qas"] == [para["qas"][1]]
    assert parts["fi"]["version"] == "1.1"


def test_official_locations_and_checksums():
    assert TYDIQA_GOLDP_BASE_URL == "https://storage.googleapis.com/tydiqa/v1.1/"
    assert {r.split: file_url(TYDIQA_GOLDP_BASE_URL, r.filename) for r in TYDIQA_GOLDP_FILES} == {
        "train": "https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-train.json",
        "dev": "https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-dev.json",
    }
    assert all(len(r.sha256) == 64 and int(r.sha256, 16) for r in TYDIQA_GOLDP_FILES)
    assert file_url("/srv/mirror", "a.json") == "file:///srv/mirror/a.json"


def test_unknown_dataset_or_split(tmp_path):
    with pytest.raises(DataError, match="cannot download 'xnli'; downloadable: tydiqa"):
        download_dataset("xnli", data_dir=tmp_path)
    with pytest.raises(DataError, match="unknown TyDi QA GoldP split 'test'; known: train, dev"):
        download_tydiqa(tmp_path, splits=["test"])


# --- MLQA: one zip in the published layout (MLQA_V1/<split>/<split>-context-C-question-Q.json) ---------------

def _mlqa_zip(folder: Path, splits=("dev", "test"), drop: str | None = None, broken: str | None = None) -> bytes:
    """A small zip in MLQA's layout: every context-question pair of every split, two questions each."""
    import zipfile

    from xadv.langs import dataset_langs

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "MLQA_V1.zip"
    langs = dataset_langs("mlqa")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for split in splits:
            for c in langs:
                for q in langs:
                    name = f"MLQA_V1/{split}/{split}-context-{c}-question-{q}.json"
                    if name == drop:
                        continue
                    context = f"{c} text, Paris."
                    start = context.index("Paris") + (1 if name == broken else 0)
                    qas = [{"id": f"{split}{k}", "question": f"{q}?",
                            "answers": [{"text": "Paris", "answer_start": start}]} for k in range(2)]
                    obj = {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
                    zf.writestr(name, json.dumps(obj, ensure_ascii=False))
    return path.read_bytes()


def test_mlqa_download_writes_the_pair_files_as_published(tmp_path):
    import zipfile

    raw = _mlqa_zip(tmp_path / "mirror")
    out = download_dataset("mlqa", data_dir=tmp_path / "data", base_url=str(tmp_path / "mirror"))
    assert len(out) == 2 * 49 and {f.status for f in out} == {"written"} and {f.examples for f in out} == {2}
    assert {f.sha256 for f in out} == {hashlib.sha256(raw).hexdigest()}
    with zipfile.ZipFile(tmp_path / "mirror" / "MLQA_V1.zip") as zf:  # byte-for-byte as in the zip
        assert (tmp_path / "data" / "MLQA_V1" / "test" / "test-context-en-question-de.json").read_bytes() == \
            zf.read("MLQA_V1/test/test-context-en-question-de.json")
    assert not (tmp_path / "data" / "MLQA_V1" / ".download").exists()
    ds = load_qa("mlqa:en-de:test", tmp_path / "data")
    assert ds["lang"] == ["en", "en"] and ds["question_lang"] == ["de", "de"]
    again = download_dataset("mlqa", data_dir=tmp_path / "data", base_url="file:///nonexistent/", splits=["dev"])
    assert len(again) == 49 and {f.status for f in again} == {"present"}


@pytest.mark.parametrize(("drop", "broken", "message"), [
    ("MLQA_V1/dev/dev-context-zh-question-ar.json", None,
     r"not the MLQA v1 layout \(no MLQA_V1/dev/dev-context-zh-question-ar.json inside\)"),
    (None, "MLQA_V1/dev/dev-context-de-question-de.json", r"answer_start \d+ does not point at the answer"),
])
def test_mlqa_download_verifies_the_structure(tmp_path, drop, broken, message):
    _mlqa_zip(tmp_path / "mirror", splits=("dev",), drop=drop, broken=broken)
    with pytest.raises(DataError, match=message):
        download_dataset("mlqa", data_dir=tmp_path / "data", base_url=str(tmp_path / "mirror"), splits=["dev"])
    if drop:  # a wrong zip writes nothing
        assert not list((tmp_path / "data").rglob("*.json"))


def test_mlqa_download_checks_a_recorded_sha256_and_rejects_a_non_zip(tmp_path):
    from xadv.data.download import MLQA_FILE, download_mlqa

    _mlqa_zip(tmp_path / "mirror", splits=("dev",))
    with pytest.raises(DataError, match="sha256 mismatch"):
        download_mlqa(tmp_path / "data", base_url=str(tmp_path / "mirror"), splits=["dev"],
                      remote=RemoteFile(MLQA_FILE.filename, "dev", None, "0" * 64))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "MLQA_V1.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip file"):
        download_mlqa(tmp_path / "data2", base_url=str(tmp_path / "junk"), splits=["dev"])
    with pytest.raises(DataError, match="unknown MLQA split 'train'; known: dev, test"):
        download_mlqa(tmp_path / "data3", splits=["train"])


def test_mlqa_download_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    import cli

    raw = _mlqa_zip(tmp_path / "mirror", splits=("dev", "test"))
    result = CliRunner().invoke(cli.app, ["data", "download", "mlqa", "--split", "dev", "--base-url",
                                          str(tmp_path / "mirror"), "--data-dir", str(tmp_path / "data"), "--json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert len(files) == 49 and files[0]["name"] == "mlqa:ar-ar:dev" and files[0]["examples"] == 2
    assert {f["download_sha256"] for f in files} == {hashlib.sha256(raw).hexdigest()}
    bad = CliRunner().invoke(cli.app, ["data", "download", "xquad", "--data-dir", str(tmp_path / "data")])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: cannot download 'xquad'; downloadable: tydiqa, mlqa")
