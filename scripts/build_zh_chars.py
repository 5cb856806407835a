"""Rebuild `attacks/zh_chars.txt`: the 3,500 most frequent GB2312 characters, most frequent first, with
their toneless pinyin readings.

The frequency of a character is the sum of the counts of the words of jieba's dictionary (`jieba/dict.txt`,
jieba 0.42.1, MIT licence) that contain it, once per occurrence; only GB2312 characters (the simplified
standard's 6,763) are kept, which drops the mis-encoded entries of that dictionary; ties break by code
point.

A character's readings: its default reading (pypinyin, the character alone), then every other reading it
takes in at least 3 and 5 % of the phrases of pypinyin's phrase dictionary that hold it (pypinyin, MIT
licence), most frequent first: 行 xing hang, 长 zhang chang, 以 yi only (not the obscure readings pypinyin's
single-character table also lists, which no IME user meets). `attacks.chinese` reads the file as the IME
candidate inventory (`keyboard` on zh).

    python scripts/build_zh_chars.py > attacks/zh_chars.txt
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

N = 3500


def main() -> None:
    import jieba

    counts: collections.Counter[str] = collections.Counter()
    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            word, count, *_ = line.split()
            for ch in word:
                if "\u4e00" <= ch <= "\u9fff":
                    counts[ch] += int(count)

    def gb2312(ch: str) -> bool:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True

    import pypinyin
    from pypinyin import Style, lazy_pinyin
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.phrases_dict import phrases_dict

    in_phrases: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for phrase, pys in sorted(phrases_dict.items()):
        if len(phrase) == len(pys):
            for ch, py in zip(phrase, pys):
                in_phrases[ch][to_normal(py[0])] += 1

    def readings(ch: str) -> list[str]:
        seen = in_phrases[ch]
        total = sum(seen.values())
        out = [lazy_pinyin(ch, style=Style.NORMAL)[0]]
        out += [r for r, n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 3 and n >= 0.05 * total]
        return [r for r in dict.fromkeys(out) if r.isascii() and r.isalpha()]

    chars = sorted((ch for ch in counts if gb2312(ch)), key=lambda ch: (-counts[ch], ch))[:N]
    out = sys.stdout
    out.write(f"# The {len(chars)} most frequent GB2312 characters, most frequent first, one a line: the character,\n"
              "# a tab, its toneless pinyin readings (space-separated, the default first).\n"
              f"# Counts: jieba {jieba.__version__} dict.txt (MIT licence), summed over the words holding each.\n"
              f"# Readings: pypinyin {pypinyin.__version__} (MIT licence), default + those common in its phrases.\n"
              "# Built by scripts/build_zh_chars.py; read by attacks/chinese.py.\n")
    out.writelines(f"{ch}\t{' '.join(readings(ch))}\n" for ch in chars)


if __name__ == "__main__":
    main()
