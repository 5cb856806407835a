"""XNLI and PAWS-X TSV loaders on the real files, and malformed-line errors."""

from __future__ import annotations

from collections import Counter

import pytest

from xadv.data import LABEL_NAMES, read_pairs
from xadv.errors import DataError


def raw_rows(path) -> list[list[str]]:
    """Split on "\n" only: PAWS-X ends lines with CRLF, and ko has a \x1c inside a sentence."""
    text = path.read_bytes().decode("utf-8")
    return [line.rstrip("\r").split("\t") for line in text.split("\n") if line]


@pytest.mark.needs_data
def test_xnli_labels_map_to_0_1_2(data_dir):
    path = data_dir / "xnli" / "dev-ar.tsv"
    ds = read_pairs(path)
    raw = raw_rows(path)
    assert ds.column_names == ["sentence1", "sentence2", "label", "lang"]
    assert len(ds) == len(raw) == 2490
    assert set(ds["lang"]) == {"ar"}
    assert ds.features["label"].names == ["entailment", "neutral", "contradiction"]
    mapping = {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert list(ds["label"]) == [mapping[r[2]] for r in raw]
    assert list(ds["sentence1"]) == [r[0] for r in raw] and list(ds["sentence2"]) == [r[1] for r in raw]
    assert Counter(ds["label"]) == {0: 830, 1: 830, 2: 830}  # XNLI dev is balanced


@pytest.mark.needs_data
def test_pawsx_labels_are_0_1(data_dir):
    path = data_dir / "pawsx" / "dev-ko.tsv"
    ds = read_pairs(path)
    raw = raw_rows(path)
    assert len(ds) == 2000 and set(ds["lang"]) == {"ko"}
    assert ds.features["label"].names == list(LABEL_NAMES["pawsx"])
    assert list(ds["label"]) == [int(r[2]) for r in raw]
    assert list(ds["sentence2"]) == [r[1] for r in raw]
    assert sum("\x1c" in s for s in [*ds["sentence1"], *ds["sentence2"]]) == 1  # not a line break


def test_quotes_are_kept_verbatim(tmp_path):
    path = tmp_path / "dev-en.tsv"
    path.write_text('He said "hi\tShe said \'no\'\tneutral\n', encoding="utf-8")
    row = read_pairs(path, task="xnli")[0]
    assert row == {"sentence1": 'He said "hi', "sentence2": "She said 'no'", "label": 1, "lang": "en"}


@pytest.mark.needs_data
def test_malformed_line_names_file_and_line(data_dir, tmp_path):
    lines = (data_dir / "xnli" / "dev-sw.tsv").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace("\t", " ", 1)  # line 7 loses a field
    path = tmp_path / "xnli" / "dev-sw.tsv"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_pairs(path)
    assert str(info.value) == (f"{path}:7: expected 3 tab-separated fields (sentence1, sentence2, label), got 2")


@pytest.mark.needs_data
def test_unknown_label_names_file_and_line(data_dir, tmp_path):
    lines = (data_dir / "pawsx" / "dev-de.tsv").read_text(encoding="utf-8").splitlines()
    s1, s2, _ = lines[3].split("\t")
    lines[3] = f"{s1}\t{s2}\tmaybe"
    path = tmp_path / "pawsx" / "dev-de.tsv"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev-de\.tsv:4: unknown pawsx label 'maybe'; expected one of 0, 1$"):
        read_pairs(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match=r"dev-xx\.tsv: file not found"):
        read_pairs(tmp_path / "dev-xx.tsv")
    (tmp_path / "empty.tsv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.tsv: empty file"):
        read_pairs(tmp_path / "empty.tsv")
    with pytest.raises(DataError, match="unknown pair task 'mnli'"):
        read_pairs(tmp_path / "empty.tsv", task="mnli")
