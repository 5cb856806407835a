"""What every command shares: the error-to-exit-code group, the typer factory, JSON and rich output,
progress bars, output formats and number formatting."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Optional

import click
import typer
from typer.core import TyperGroup

from xadv.errors import XadvError, XadvWarning
from xadv.progress import track

# typer >= 0.24 vendors click as `typer._click`: its usage errors are not `click.UsageError`, so catch both.
_VENDORED = getattr(getattr(typer.core, "_click", None), "exceptions", None)
_USAGE_ERRORS = (click.UsageError, getattr(_VENDORED, "UsageError", click.UsageError))


class _Group(TyperGroup):
    """Turns `XadvError` anywhere below into one line on stderr and exit code 2, and an `XadvWarning`
    into one `warning: ...` line. Usage errors (unknown option, a value of the wrong type) are one line
    and exit 2 too, instead of click's usage banner and boxed message."""

    def invoke(self, ctx):  # noqa: D401
        show = warnings.showwarning

        def one_line(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, XadvWarning):
                typer.echo(f"warning: {message}", err=True)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = one_line
        try:
            return super().invoke(ctx)
        except XadvError as exc:
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except _USAGE_ERRORS as exc:
            _usage_error(exc, ctx)
        finally:
            warnings.showwarning = show

    def parse_args(self, ctx, args):  # the group's own options (`xadv --bogus`) are parsed here
        try:
            return super().parse_args(ctx, args)
        except _USAGE_ERRORS as exc:
            _usage_error(exc, ctx)


def _usage_error(exc, ctx) -> None:
    """One line for a usage error, naming the help to read; exit 2. A group called without a command has
    already printed its help: nothing more to say."""
    where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
    message = " ".join(exc.format_message().split())
    if not message:
        raise typer.Exit(exc.exit_code)
    typer.echo(f"error: {message} (see '{where} --help')", err=True)
    raise typer.Exit(2)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(cls=_Group, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_show_locals=False, rich_markup_mode="rich")


def print_json(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False))


def progress(items, total: int, label: str, quiet: bool = False):
    """Iterate with the one progress bar (`xadv.progress`): silent with --json or when not a terminal."""
    return track(items, total, label, enabled=not quiet)


def stdout_console():
    """Rich console for tables: the terminal's width, or a wide fixed one when piped to a file."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def langs_opt(lang: Optional[str]) -> Optional[list[str]]:
    """A comma-separated --lang filter as a list (None when not given)."""
    return [x.strip() for x in lang.split(",") if x.strip()] if lang else None


def format_for(fmt: Optional[str], out: Optional[Path], allowed: tuple[str, ...], default: Optional[str]):
    """--format, else the --out suffix (.md .csv .json .html), else `default`; bad values are exit 2."""
    if fmt is None and out is not None and out.suffix.lstrip(".").lower() in allowed:
        fmt = out.suffix.lstrip(".").lower()
    fmt = fmt or default
    if fmt is not None and fmt not in allowed:
        raise XadvError(f"unknown format {fmt!r} (choose one of: {', '.join(allowed)})")
    return fmt


def write_text(text: str, out: Path) -> None:
    from xadv.io import atomic_write_text

    atomic_write_text(out, text)


def check_out(out: Optional[Path], directory: bool = False) -> None:
    """Refuse a bad --out before any work: a directory (for a file), a device, FIFO, socket or link, an
    unwritable folder or a full disk (one line, exit 2)."""
    from xadv.io import check_output_dir, check_output_path

    if out is not None:
        (check_output_dir if directory else check_output_path)(out)


def fmt(x, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_share(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def fmt_asr(s: dict) -> str:
    if s.get("asr") is None:
        return "n/a (0/0)"
    return f"{s['asr']:.1f} ({s['asr_successes']}/{s['asr_denominator']})"
