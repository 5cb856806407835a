"""`xadv data list / verify / download` (library: xadv.data)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from xadv.commands.common import _typer, print_json
from xadv.commands.options import DataDirOpt, JsonOpt

app = _typer("Find, download, list and verify datasets (TyDi QA GoldP, XQuAD, MLQA, SQuAD, XNLI, PAWS-X).")

SplitOpt = Annotated[Optional[list[str]], typer.Option(
    "--split", help="Split(s) to fetch (repeatable): tydiqa train, dev; mlqa dev, test (default: all).")]
BaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--base-url", help="Mirror to fetch from: https://..., file://... or a local folder (default: the "
                       "official storage.googleapis.com/tydiqa/v1.1/ or dl.fbaipublicfiles.com/MLQA/).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Download again even if all files exist.")]


@app.command("list")
def data_list(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """List the datasets in the data directory with their example counts per language.

    The NAME column is what data arguments accept: [bold]tydiqa:sw:dev[/], or [bold]tydiqa:all:dev[/] for all nine.
    """
    from dataclasses import asdict

    from rich.console import Console
    from rich.markup import escape

    from xadv.data.inventory import list_data
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    files = list_data(root)
    if json_out:
        print_json({"data_dir": str(root),
                    "files": [{"name": f"{f.dataset}:{f.lang}:{f.split}", **asdict(f)} for f in files]})
        return
    console = Console(emoji=False)
    if not files:
        state = "" if root.is_dir() else " (it does not exist yet)"
        console.print(f"No datasets in {escape(str(root))}{state}. "
                      "Run [bold]xadv data download tydiqa[/] or pass --data-dir.", soft_wrap=True)
        return
    console.print(_list_table(root, files))


def _list_table(root, files):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Datasets in {root}", title_justify="left")
    table.add_column("name")
    table.add_column("examples", justify="right")
    table.add_column("file", overflow="fold")
    groups: dict[tuple[str, str], list] = {}
    for f in files:
        groups.setdefault((f.dataset, f.split), []).append(f)
    for (dataset, split), members in groups.items():
        for f in members:
            table.add_row(f"{f.dataset}:{f.lang}:{f.split}", f"{f.examples:,}", escape(f.file))
        if len(members) > 1:
            table.add_row(f"[bold]{dataset}:all:{split}[/]", f"[bold]{sum(m.examples for m in members):,}[/]",
                          f"{len(members)} languages", end_section=True)
        else:
            table.rows[-1].end_section = True
    return table


@app.command("verify")
def data_verify(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Check every dataset file: it parses, ids are unique, answer offsets point at the answers.

    Where the directory has a MANIFEST.tsv, sha256 and example counts must match it too.
    Exit code 0 when all is well, 1 when any file has a problem (each problem is listed).
    """
    from rich.console import Console

    from xadv.data.inventory import verify_data
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    with Console(stderr=True, emoji=False).status("verifying…") as status:
        checks = verify_data(root, on_file=lambda rel: status.update(f"verifying {rel}"))
    bad = [c for c in checks if not c.ok]
    if json_out:
        print_json({"data_dir": str(root), "ok": not bad,
                    "files": [{"file": c.file, "dataset": c.dataset, "lang": c.lang, "split": c.split,
                               "examples": c.examples, "expected_examples": c.expected_examples,
                               "sha256_ok": c.sha256_ok, "ok": c.ok, "problems": c.problems}
                              for c in checks]})
    else:
        _print_verify(root, checks, bad)
    if bad:
        raise typer.Exit(1)


def _print_verify(root, checks, bad) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(emoji=False)
    table = Table(title=f"Verify {root}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, justify in (("file", "left"), ("examples", "right"), ("expected", "right"),
                         ("sha256", "left"), ("ok", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for c in checks:
        sha = {True: "ok", False: "[red]differs[/]", None: "-"}[c.sha256_ok]
        table.add_row(escape(c.file), "-" if c.examples is None else f"{c.examples:,}",
                      "-" if c.expected_examples is None else f"{c.expected_examples:,}",
                      sha, "[green]yes[/]" if c.ok else "[red]NO[/]")
    console.print(table)
    for c in bad:
        for problem in c.problems:
            console.print(f"[red]problem:[/] {escape(problem)}", soft_wrap=True, highlight=False)
    console.print(f"{len(checks) - len(bad)} of {len(checks)} files ok" if bad
                  else f"all {len(checks)} files ok")


@app.command("download")
def data_download(
    dataset: Annotated[str, typer.Argument(help="What to download: tydiqa (TyDi QA GoldP v1.1) or mlqa (MLQA v1).")],
    data_dir: DataDirOpt = None,
    split: SplitOpt = None,
    base_url: BaseUrlOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Download a dataset into the data directory, verify it and write it in the per-language layout.

    TyDi QA GoldP comes as one train and one dev file for all languages, checked against the published sha256,
    and is written as tydiqa_goldp/tydiqa.goldp.<lang>.<split>.json ([bold]tydiqa:<lang>:<split>[/]).
    MLQA comes as one zip (no published sha256: every pair file is checked to parse, with answer offsets
    that point at the answers) and is written as MLQA_V1/<split>/... ([bold]mlqa:<c>-<q>:<split>[/]).
    Example: [bold]xadv data download tydiqa[/]
    """
    from rich.console import Console
    from rich.table import Table

    from xadv.data.download import download_dataset, downloadable
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    key = downloadable(dataset)
    progress, hook = _download_progress()
    with progress:
        files = download_dataset(key, data_dir=root, base_url=base_url, splits=split or None, force=force,
                                 progress=hook)
    if json_out:
        print_json({"data_dir": str(root),
                    "files": [{"name": f.name, "lang": f.lang, "split": f.split, "path": str(f.path),
                               "examples": f.examples, "status": f.status,
                               **({"download_sha256": f.sha256} if f.sha256 else {})}
                              for f in files]})
        return
    folder = root / ("MLQA_V1" if key == "mlqa" else "tydiqa_goldp")
    table = Table(title=f"{DOWNLOAD_TITLES[key]} in {folder}", title_justify="left")
    for col, justify in (("name", "left"), ("examples", "right"), ("status", "left")):
        table.add_column(col, justify=justify)
    for f in files:
        table.add_row(f.name, f"{f.examples:,}", f.status)
    console = Console(emoji=False)
    console.print(table)
    digests = {f.sha256 for f in files if f.sha256}
    if digests:
        console.print(f"downloaded archive sha256: {', '.join(sorted(digests))}", style="dim", soft_wrap=True)


DOWNLOAD_TITLES = {"tydiqa": "TyDi QA GoldP", "mlqa": "MLQA v1"}


def _download_progress():
    """A rich progress display on stderr and the hook `download_dataset` reports each file's bytes to."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    err = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True,
                        disable=not err.is_terminal)  # no bar residue in logs and pipes
    tasks: dict[str, int] = {}

    def hook(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    return progress, hook
