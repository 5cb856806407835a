"""Chinese slips: pinyin-IME homophones (`keyboard` on zh) and visually similar characters (`homoglyph` on zh).

Chinese is typed through a pinyin IME: the typist types a syllable's pinyin and picks a character from a
candidate list, most frequent first, in pages of `IME_PAGE`. A typo is a wrong pick: another character of the
same toneless reading from the same page as the intended one. The reading of the intended character is its
reading in its word (`pypinyin`, which reads 银行 as yin hang). Candidates are the characters of
`zh_chars.txt` (the 3,500 most frequent GB2312 characters by jieba's dictionary counts, with their common
toneless readings from pypinyin, built by `scripts/build_zh_chars.py`), in that order, each listed under each
of its readings, as IMEs list them; a character outside it still gets the first page of its reading.

Visually similar characters (形近字) come from `LOOKALIKE_GROUPS`, the team's own table of character
groups a reader (or an OCR pass) confuses, all common simplified characters; a character in several groups may
become any member of any of them.

Both work on Han characters in Chinese text only (lang "zh"): other languages' outputs do not change. Tables
and lists are tuples in a fixed order and choices index them, so output does not depend on hash order.

Examples (XQuAD zh test questions, target question, strength 0.3, seed 0): `keyboard` "黑豹队的防守丢了多少分？" ->
"黑孢队得防守丢了多少分？" (豹 -> 孢 bao, 的 -> 得 de); `homoglyph` "本赛季哪个球员拦截次数最多？" ->
"术赛季哪个球员拦载次数最多？" (本 -> 术, 截 -> 载).
"""

from __future__ import annotations

import importlib.util
import random
from functools import lru_cache
from pathlib import Path

from .text import Edit, Span, char_script

IME_PAGE = 5  # candidates per page of the IME's candidate list (a typical default page size)
_CHARS_FILE = Path(__file__).with_name("zh_chars.txt")

# The team's table of visually similar (形近字) groups: each member may be misread / mistyped as another.
LOOKALIKE_GROUPS: tuple[str, ...] = (
    "己已巳", "未末", "土士", "人入八", "日曰", "戊戌戍戎", "折拆析", "候侯", "王玉主", "大太犬",
    "天夫夭", "千干于", "午牛", "刀力", "田由甲申", "木本术", "白自百", "贝见", "免兔", "鸟乌",
    "令今", "问间", "辨辩辫瓣", "壁璧", "崇祟", "拔拨", "暮幕慕墓募", "特持待侍", "冶治", "即既",
    "炙灸", "茶荼", "汩汨", "徒徙", "洒酒", "喝渴", "怒恕", "历厉", "乒乓", "仑仓",
    "狠狼很", "晴睛", "请清情", "栽裁载截", "密蜜", "贷货", "辛幸", "冒胃", "氏民", "哀衰衷",
    "买卖", "刺剌", "亨享", "宇字", "准淮", "苦若", "斤斥", "杨扬场汤肠", "住往注柱驻", "拦栏烂",
    "浅线钱践", "恨根跟", "坊访纺防妨", "休体", "代伐", "状壮", "蓝篮", "籍藉", "峰锋蜂逢缝", "撤撒",
    "赃脏", "竟竞", "卯卵", "师帅", "鸣呜", "徽微", "侧测厕", "晋普", "苟荀", "郎朗廊",
    "墨默", "狐孤弧", "暑署", "摘滴", "躁燥噪澡操", "糟遭槽", "抵低底", "编遍篇骗偏", "模摸膜漠",
    "陪赔培倍", "泡跑炮饱抱袍", "洋样详", "输偷愉", "峡狭侠挟", "稍梢哨消", "滑猾", "检脸捡险验",
    "慢馒漫", "挂娃蛙", "厂广", "儿几", "又叉", "工土", "刃刀", "目日", "巨臣",
)


def pinyin_missing() -> str | None:
    """Why Chinese IME slips cannot be made here (pypinyin is not installed), or None."""
    if importlib.util.find_spec("pypinyin") is not None:
        return None
    return "its IME typos need the pinyin readings of pypinyin, which is not installed (pip install 'xadv[zh]')"


def is_han(ch: str) -> bool:
    return len(ch) == 1 and char_script(ch) == "Han"


@lru_cache(maxsize=None)
def common_chars() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The candidate inventory, most frequent first: (character, its toneless readings) (`zh_chars.txt`)."""
    out = []
    with _CHARS_FILE.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                ch, _, rs = line.rstrip("\n").partition("\t")
                out.append((ch, tuple(rs.split())))
    return tuple(out)


@lru_cache(maxsize=None)
def _candidate_lists() -> dict[str, tuple[str, ...]]:
    """Toneless reading -> the inventory's characters with that reading, most frequent first."""
    lists: dict[str, list[str]] = {}
    for ch, rs in common_chars():
        for r in rs:
            lists.setdefault(r, []).append(ch)
    return {r: tuple(chars) for r, chars in lists.items()}


def ime_candidates(reading: str) -> tuple[str, ...]:
    """The IME's candidate list for a toneless reading (`shi` -> 是 时 事 ...)."""
    return _candidate_lists().get(reading, ())


def ime_page(ch: str, reading: str) -> tuple[str, ...]:
    """The other candidates on the page of `reading`'s list that shows `ch` (the first page when `ch` is not
    listed; the last full page when its page holds nothing else)."""
    cands = ime_candidates(reading)
    i = cands.index(ch) if ch in cands else 0
    start = (i // IME_PAGE) * IME_PAGE
    page = cands[start : start + IME_PAGE]
    if len(page) < 2:
        page = cands[max(0, len(cands) - IME_PAGE) :]
    return tuple(c for c in page if c != ch)


def word_readings(text: str) -> list[str | None]:
    """The toneless reading of each character of `text` in context (None for a non-Han character or one
    pypinyin cannot read): each run of Han characters is read as a whole, so 银行 reads yin hang."""
    from pypinyin import Style, lazy_pinyin

    out: list[str | None] = [None] * len(text)
    i = 0
    while i < len(text):
        if not is_han(text[i]):
            i += 1
            continue
        j = i
        while j < len(text) and is_han(text[j]):
            j += 1
        run = lazy_pinyin(text[i:j], style=Style.NORMAL, errors=lambda s: [None] * len(s))
        if len(run) != j - i:  # never expected: fall back to each character alone
            run = [(lazy_pinyin(c, style=Style.NORMAL, errors=lambda s: [None]) or [None])[0] for c in text[i:j]]
        for k, r in enumerate(run):
            out[i + k] = r if isinstance(r, str) and r.isascii() and r.isalpha() else None
        i = j
    return out


def ime_slip_in_word(word: Span, rng: random.Random) -> list[Edit] | None:
    """One pinyin-IME slip in a Chinese word: a Han character replaced by another candidate of its reading on
    the same page (absolute offsets), or None when no character of the word has one."""
    options = [(i, page) for i, (ch, r) in enumerate(zip(word.text, word_readings(word.text)))
               if r is not None and (page := ime_page(ch, r))]
    if not options:
        return None
    i, page = options[rng.randrange(len(options))]
    return [Edit(word.start + i, word.start + i + 1, page[rng.randrange(len(page))], "keyboard:ime")]


@lru_cache(maxsize=None)
def lookalike_table() -> dict[str, tuple[str, ...]]:
    """Character -> its visually similar characters, in table order (from `LOOKALIKE_GROUPS`)."""
    table: dict[str, list[str]] = {}
    for group in LOOKALIKE_GROUPS:
        for ch in group:
            alts = table.setdefault(ch, [])
            for c in group:
                if c != ch and c not in alts:
                    alts.append(c)
    return {ch: tuple(alts) for ch, alts in table.items()}


def lookalike_options(word: Span) -> list[tuple[int, str]]:
    """(absolute offset, replacement) for every visually similar swap of a Han character in `word`."""
    table = lookalike_table()
    return [(word.start + i, alt) for i, ch in enumerate(word.text) for alt in table.get(ch, ())]
