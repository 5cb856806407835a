"""`render(board, fmt)`: the leaderboard in any of its file formats (one dispatcher over the renderers)."""

from __future__ import annotations

from xadv.errors import XadvError
from xadv.leaderboard.aggregate import Leaderboard
from xadv.leaderboard.html import to_html
from xadv.leaderboard.render import to_csv, to_json, to_markdown

FORMATS = ("md", "csv", "json", "html")
_RENDERERS = {"md": to_markdown, "csv": to_csv, "json": to_json, "html": to_html}


def render(board: Leaderboard, fmt_name: str) -> str:
    """The leaderboard in one of FORMATS."""
    if fmt_name not in _RENDERERS:
        raise XadvError(f"unknown format {fmt_name!r} (choose one of: {', '.join(FORMATS)})")
    return _RENDERERS[fmt_name](board)
