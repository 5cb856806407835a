"""`xadv results merge DIR... --into DIR`: one results store from many machines (`xadv.runs.merge`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xadv.commands.common import _typer, print_json
from xadv.commands.options import JsonOpt

app = _typer("Results directories: merge the records of shards, Ray nodes or machines into one.")


@app.command("merge")
def merge_command(
    sources: Annotated[list[Path], typer.Argument(metavar="DIR...", show_default=False,
                                                  help="Results directories to merge.")],
    into: Annotated[Path, typer.Option("--into", show_default=False,
                                       help="The results directory to merge into (created if missing).")],
    json_out: JsonOpt = False,
) -> None:
    """Merge results directories: identical cells (same key, same outcomes) once, conflicting cells (same key,
    different outcomes) reported and never merged, corrupt, foreign or forged files reported and never copied.
    Exit 1 when anything conflicted or was rejected.

    Example: xadv results merge shard-1 shard-2 --into results
    """
    from xadv.runs.merge import merge_results
    from xadv.runs.seal import results_key

    report = merge_results(list(sources), into, key=results_key())
    if json_out:
        print_json(report.to_dict())
    else:
        for c in report.conflicts:
            typer.echo(c.line(), err=True)
        for p, why in report.rejected:
            typer.echo(f"rejected: {p}: {why}", err=True)
        typer.echo(f"merged into {report.into}/: {len(report.added)} record(s) added, {report.duplicates} "
                   f"duplicate(s) skipped, {report.already} already there, {len(report.conflicts)} conflict(s), "
                   f"{len(report.rejected)} rejected" + (f", {len(report.partial)} partial file(s) (.*.part) "
                                                          f"ignored" if report.partial else ""))
    if not report.ok:
        raise typer.Exit(1)
