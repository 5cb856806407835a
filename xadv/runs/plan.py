"""A sweep's plan: an `EvalSuite` expanded into its cells, grouped into tasks, sliced into shards.

The unit a worker runs is a *task*: the cells of one (model, language), so that a worker loads the model
once and runs the language's clean pass once for all of that language's attacks, targets and seeds. When
there are fewer tasks than workers (or shards) the largest task is halved until there are enough (each half
then repeats its language's clean pass, which costs one cell). Everything here is a pure function of the
suite and its rows: the plan, its tasks and shard `I/N` are the same on every machine that reads the same
suite and data, which is what lets a scheduler array job run shard I on node I without talking to the others.

Cells an attack cannot serve (language, target) are in the plan as `refused`, with the attack's one-line
reason, and never dispatched. The cost estimate uses throughput measured in the results directory
(seconds per example of the records already there), else this machine type's benchmark figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attacks.spec import AttackSpec
from xadv.errors import XadvError
from xadv.runs.attack import cell_refusal, resolve_attack
from xadv.runs.suite import EvalSuite

#: Seconds per example on a 2-core CPU with the default model (benchmarks/results/bench_static_cell.json:
#: a clean pass of 200 sw questions 10.6 s, static cells 10.1-13.4 s). A search's cost per example is at
#: most its budget of queries, each a forward pass.
DEFAULT_CLEAN_S = 0.053
DEFAULT_STATIC_S = 0.058


@dataclass(frozen=True)
class SweepCell:
    """One cell of a sweep before it runs: which model (index into the suite's models), seed, language
    (the context's; `question_lang` only for a cross-lingual pair), attack and concrete target; `refused` is
    the attack's reason when it cannot serve the cell."""

    model: int
    seed: int
    lang: str
    attack: AttackSpec
    target: str
    refused: str = ""
    question_lang: str = ""

    @property
    def pair(self) -> str:
        return pair_label(self.lang, self.question_lang)

    def label(self) -> str:
        return f"{self.pair}/{self.attack.name}/{self.target}/s{self.seed}"


@dataclass(frozen=True)
class SweepTask:
    """Cells of one model and one language (pair), run in one worker with one clean pass."""

    index: int
    model: int
    lang: str
    cells: tuple[SweepCell, ...]
    question_lang: str = ""

    @property
    def pair(self) -> str:
        return pair_label(self.lang, self.question_lang)


@dataclass(frozen=True)
class Throughput:
    """Seconds per example of a clean pass, a static cell and one search query, and where they came from."""

    clean_s: float = DEFAULT_CLEAN_S
    static_s: float = DEFAULT_STATIC_S
    source: str = "benchmark defaults (2-core CPU, default model)"

    def cell_seconds(self, n: int, budget: int | None) -> float:
        per = self.static_s if budget is None else self.static_s * budget
        return per * n

    @classmethod
    def measured(cls, records: Sequence[Mapping[str, Any]]) -> Throughput:
        """From records already computed (their `env.seconds` / examples), static cells only; the defaults
        when there are none."""
        rates = []
        for r in records:
            env, data, cell = r.get("env") or {}, r.get("data") or {}, r.get("cell") or {}
            n, s = data.get("n"), env.get("seconds")
            if cell.get("search") is None and isinstance(n, int) and n > 0 and isinstance(s, (int, float)) and s > 0:
                rates.append(s / n)
        if not rates:
            return cls()
        per = statistics.median(rates)
        return cls(clean_s=per, static_s=per, source=f"measured: median of {len(rates)} static record(s) here")


@dataclass(frozen=True)
class SweepPlan:
    """Every cell of a suite, in suite order (model, seed, language, attack, target), and the examples per
    language they run on."""

    cells: tuple[SweepCell, ...]
    n_per_lang: Mapping[str, int]

    @property
    def runnable(self) -> tuple[SweepCell, ...]:
        return tuple(c for c in self.cells if not c.refused)

    @property
    def refused(self) -> tuple[SweepCell, ...]:
        return tuple(c for c in self.cells if c.refused)

    def tasks(self, at_least: int = 1) -> list[SweepTask]:
        """The runnable cells grouped per (model, language), in plan order; the largest group halved
        (stable, by plan order) until there are `at_least` tasks or every task is one cell."""
        groups: dict[tuple[int, str, str], list[SweepCell]] = {}
        for c in self.runnable:
            groups.setdefault((c.model, c.lang, c.question_lang), []).append(c)
        parts = [list(g) for g in groups.values()]
        while len(parts) < at_least:
            i = max(range(len(parts)), key=lambda k: (len(parts[k]), -k), default=None)
            if i is None or len(parts[i]) < 2:
                break
            half = (len(parts[i]) + 1) // 2
            parts[i:i + 1] = [parts[i][:half], parts[i][half:]]
        return [SweepTask(k, p[0].model, p[0].lang, tuple(p), p[0].question_lang) for k, p in enumerate(parts)]

    def shard(self, index: int, count: int) -> list[SweepTask]:
        """Shard `index` (1-based) of `count`: tasks dealt out largest first, each to the shard with the
        fewest cells so far (ties: the lower shard). Deterministic: it reads only the plan."""
        check_shard(index, count)
        tasks = self.tasks(at_least=count)
        load = [0] * count
        mine: list[SweepTask] = []
        for t in sorted(tasks, key=lambda t: (-len(t.cells), t.index)):
            s = min(range(count), key=lambda k: (load[k], k))
            load[s] += len(t.cells)
            if s == index - 1:
                mine.append(t)
        return sorted(mine, key=lambda t: t.index)

    def estimate(self, throughput: Throughput, budget: int | None) -> list[tuple[SweepCell, float]]:
        """(cell, estimated seconds) for every runnable cell, plus one clean pass per (model, language)
        charged to its first cell."""
        seen: set[tuple[int, str]] = set()
        out = []
        for c in self.runnable:
            n = self.n_per_lang.get(c.pair, 0)
            s = throughput.cell_seconds(n, budget)
            if (c.model, c.pair) not in seen:
                seen.add((c.model, c.pair))
                s += throughput.clean_s * n
            out.append((c, s))
        return out


def check_shard(index: int, count: int) -> None:
    if count < 1 or not 1 <= index <= count:
        raise XadvError(f"--shard {index}/{count}: expected I/N with 1 <= I <= N (e.g. 1/4)")


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1-based, as `$SLURM_ARRAY_TASK_ID/N` with --array=1-N) -> (I, N); one line otherwise."""
    a, sep, b = text.strip().partition("/")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
        raise XadvError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    check_shard(int(a), int(b))
    return int(a), int(b)


def build_plan(suite: EvalSuite, rows: Sequence[Mapping], data_dir: str | Path | None = None) -> SweepPlan:
    """The cells of `suite` on `rows`: what `run_suite` would run, in its
    order, each with the concrete target `run_attacks` would give it, and refusals decided now."""
    params = {"data_dir": str(data_dir)} if data_dir is not None else {}
    pairs = list(dict.fromkeys(row_pair(r) for r in rows))
    counts = {pair_label(*p): sum(1 for r in rows if row_pair(r) == p) for p in pairs}
    resolved = [resolve_attack(a, params, suite.search) for a in suite.attacks]
    strength = suite.search.max_share if suite.search is not None else suite.strength
    cells = []
    for m in range(len(suite.models)):
        for seed in suite.seeds:
            for lang, qlang in pairs:
                for res in resolved:
                    for target in res.cell_targets(suite.targets):
                        cells.append(SweepCell(m, int(seed), lang, res.spec, target,
                                               cell_refusal(res.families, lang, target, float(strength),
                                                            suite.mode, qlang), qlang))
    if not cells:
        raise XadvError("the suite has no cells")
    return SweepPlan(tuple(cells), counts)


def row_pair(row: Mapping) -> tuple[str, str]:
    """(context language, question language or "" when it is the same): how `run_attacks` groups rows."""
    q = row.get("question_lang") or row["lang"]
    return row["lang"], "" if q == row["lang"] else q


def pair_label(lang: str, question_lang: str = "") -> str:
    return f"{lang}-{question_lang}" if question_lang else lang

