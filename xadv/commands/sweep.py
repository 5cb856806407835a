"""`xadv sweep SUITE.toml`: an evaluation suite as tasks on an engine (local processes, Ray, or a shard of a
scheduler array job). Parsing and rendering only: the plan is `xadv.runs.plan`, the engines `xadv.runs.sweep`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import print_json, stdout_console
from xadv.commands.options import DataDirOpt, JsonOpt


def _opt(*names: str, help: str, **kw) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, show_default=False, **kw)


SuiteArg = Annotated[Path, typer.Argument(metavar="SUITE.toml", show_default=False,
                                          help="The evaluation suite (see docs/suite-example.toml).")]
EngineOpt = Annotated[str, _opt("--engine", help="local (default: this machine, --workers processes) or ray "
                                                 "(Ray tasks; pip install -e '.\\[ray]').")]
WorkersOpt = Annotated[int, _opt("--workers", min=1, help="Processes (local) or, with --engine ray and no "
                                                          "--address, the CPUs of a new local Ray instance. "
                                                          "Default 1.")]
AddressOpt = Annotated[Optional[str], _opt("--address", help="Ray cluster to join: auto, or HOST:PORT (default: "
                                                             "start a local Ray instance).")]
ShardOpt = Annotated[Optional[str], _opt("--shard", metavar="I/N", help="Run only shard I of N (1-based; e.g. "
                                                                        "$SLURM_ARRAY_TASK_ID/N); each shard "
                                                                        "writes its own --results directory.")]
DryOpt = Annotated[bool, _opt("--dry-run", help="List the plan (cells, tasks, refusals, estimated cost) and exit.")]
ResultsOpt = Annotated[Optional[Path], _opt("--results", help="Results directory (overrides the suite's).")]
NOpt = Annotated[Optional[int], _opt("--n", min=1, help="First N questions per language (overrides the suite's).")]


def sweep_command(
    suite: SuiteArg, engine: EngineOpt = "local", workers: WorkersOpt = 1, address: AddressOpt = None,
    shard: ShardOpt = None, dry_run: DryOpt = False, results: ResultsOpt = None, n: NOpt = None,
    data_dir: DataDirOpt = None, json_out: JsonOpt = False,
) -> None:
    """Run an evaluation suite as a sweep: one task per model and language (the model loaded once per worker,
    the clean pass once per language), cells whose record exists skipped, records checked as they come back.

    Examples: xadv sweep suite.toml --workers 2 | xadv sweep suite.toml --engine ray --address auto |
    xadv sweep suite.toml --shard 3/8 --results shard-3, then xadv results merge shard-* --into all
    """
    from xadv.errors import XadvError
    from xadv.qa.cache import default_cache_path
    from xadv.runs.plan import Throughput, build_plan, parse_shard
    from xadv.runs.store import ResultsStore
    from xadv.runs.suite import EvalSuite, suite_rows
    from xadv.runs.sweep import ENGINES, run_sweep

    if engine not in ENGINES:
        raise XadvError(f"unknown engine {engine!r} (use {' or '.join(ENGINES)})")
    if address is not None and engine != "ray":
        raise XadvError("--address only applies to --engine ray")
    spec = EvalSuite.build(EvalSuite.from_toml(suite), {"results": results, "n": n}, where=str(suite))
    rows = suite_rows(spec, data_dir)
    plan = build_plan(spec, rows, data_dir)
    index, count = parse_shard(shard) if shard else (1, 1)
    tasks = plan.shard(index, count) if shard else plan.tasks(at_least=workers)
    if dry_run:
        measured: list = []
        if spec.results is not None and spec.results.is_dir():
            try:
                measured = [rec for _, rec in ResultsStore(spec.results).records()]
            except XadvError:
                measured = []
        budget = spec.search.budget if spec.search is not None else None
        _print_plan(spec, plan, tasks, Throughput.measured(measured), budget, shard, json_out)
        return
    show = not json_out and sys.stderr.isatty()
    run = run_sweep(spec, plan, tasks, engine=engine, workers=workers, address=address, data_dir=data_dir,
                    cache_path=default_cache_path(), progress=show)
    counts = run.counts()
    if json_out:
        print_json({"engine": engine, "workers": workers, "shard": shard, "seconds": run.seconds,
                    "results": str(spec.results), "tasks": len(run.tasks), **counts,
                    "refused": [{"cell": c.label(), "reason": c.refused} for c in plan.refused],
                    "partial_files": [str(p) for p in run.partial_files],
                    "cells": [o.to_dict() for o in run.outcomes]})
        return
    where = f" (shard {shard})" if shard else ""
    typer.echo(f"sweep{where}: {len(run.tasks)} task(s) on {engine} x{workers}, {counts['computed']} cell(s) computed, "
               f"{counts['cached']} already there, {len(plan.refused)} refused, in {run.seconds:.1f} s; records "
               f"in {spec.results}/")
    for c in plan.refused:
        typer.echo(f"  refused {c.label()}: {c.refused}", err=True)
    if run.partial_files:
        typer.echo(f"note: {len(run.partial_files)} partial file(s) (.*.part) left by interrupted writers in "
                   f"{spec.results}/: never read as records; delete them when no sweep writes there.", err=True)


def _print_plan(spec, plan, tasks, throughput, budget, shard, json_out: bool) -> None:
    from rich.table import Table

    est = dict((c, s) for c, s in plan.estimate(throughput, budget))
    mine = [c for t in tasks for c in t.cells]
    total = sum(est[c] for c in mine)
    if json_out:
        print_json({"cells": len(plan.cells), "runnable": len(plan.runnable), "shard": shard,
                    "tasks": [{"index": t.index, "model": spec.models[t.model].name or spec.models[t.model].path,
                               "lang": t.pair, "cells": [{"cell": c.label(), "seconds": round(est[c], 1)} for c in t.cells],
                               "seconds": round(sum(est[c] for c in t.cells), 1)} for t in tasks],
                    "refused": [{"cell": c.label(), "reason": c.refused} for c in plan.refused],
                    "estimate": {"seconds": round(total, 1), "source": throughput.source}})
        return
    table = Table(title=f"xadv sweep plan{f' (shard {shard})' if shard else ''}: {len(mine)} of {len(plan.cells)} "
                        f"cells, {len(tasks)} task(s)")
    for col in ("task", "model", "lang", "cells", "est. s"):
        table.add_column(col, justify="right" if col in ("task", "cells", "est. s") else "left")
    for t in tasks:
        ref = spec.models[t.model]
        table.add_row(str(t.index), ref.name or ref.path, t.pair,
                      ", ".join(f"{c.attack.name}/{c.target}/s{c.seed} {est[c]:.0f}s" for c in t.cells),
                      f"{sum(est[c] for c in t.cells):.0f}")
    stdout_console().print(table)
    typer.echo(f"estimated {total:.0f} s of compute in all ({throughput.source}); cells whose record exists are "
               f"skipped when the sweep runs.")
    for c in plan.refused:
        typer.echo(f"  refused {c.label()}: {c.refused}")
