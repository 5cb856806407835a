"""The registered plan a run answers to (issue #21: "the plan file's commit precedes every record").

A pre-registered analysis is only worth its name if the plan was fixed before the numbers existed. The
runner therefore refuses to run a grid whose plan file is uncommitted or edited, records the plan's last
commit (hash, commit time, content hash) in run.json, and `render` checks from the records alone that every
record and model card was created after that commit, saying so (or what broke it) in results.md.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xadv.experiments.spec import ExperimentError
from xadv.io import git


@dataclass(frozen=True)
class PlanCommit:
    """The plan file as the run saw it: path (relative to its repository), last commit and its time, sha256."""

    path: str
    commit: str
    committed: str  # ISO 8601 committer time of `commit` (the last amendment)
    sha256: str
    registered: str = ""  # ISO 8601 committer time of the file's first commit (the registration)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> PlanCommit | None:
        if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in
                                              ("path", "commit", "committed", "sha256")):
            return None
        return cls(d["path"], d["commit"], d["committed"], d["sha256"], str(d.get("registered") or ""))


def plan_commit(path: str | Path) -> PlanCommit:
    """The last commit of the plan file at `path`; ExperimentError (one line) unless the file is tracked by
    git and unchanged since that commit: a run may only answer to a plan that was fixed before it."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ExperimentError(f"{path}: the registered plan file does not exist")
    try:
        top = Path(git(path.parent, "rev-parse", "--show-toplevel")).resolve()
        rel = path.relative_to(top).as_posix()
    except (OSError, ValueError, subprocess.SubprocessError):
        raise ExperimentError(f"{path}: the registered plan is not in a git checkout, so its commit cannot "
                              f"be shown to precede the run") from None
    try:
        history = git(top, "log", "--format=%H %cI", "--", rel).splitlines()
        dirty = git(top, "status", "--porcelain", "--", rel)
    except (OSError, subprocess.SubprocessError):  # a repository without any commit yet
        history, dirty = [], ""
    last = history[0] if history else ""
    if not last:
        raise ExperimentError(f"{rel}: the registered plan is not committed: commit it before the run")
    if dirty:
        raise ExperimentError(f"{rel} has uncommitted changes: a registered plan changes only by a commit "
                              f"(with an amendment entry) before the first record")
    commit, committed = last.split(" ", 1)
    return PlanCommit(rel, commit, committed, hashlib.sha256(path.read_bytes()).hexdigest(),
                      registered=history[-1].split(" ", 1)[1])


def _when(text: Any) -> _dt.datetime | None:
    try:
        t = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


@dataclass(frozen=True)
class PlanCheck:
    """How many records and model cards follow the plan, and which do not.

    A record (an evaluation) must follow the plan's last commit: the analysis is fixed before any number
    exists. A model card must follow the plan's registration (its first commit): a model trained under an
    earlier version of the plan is still the plan's model when the config digest matches (the runner checks
    that), and such cards are named, not flagged."""

    plan: PlanCommit
    records: int
    models: int
    early: tuple[str, ...]  # "record <model>/<lang>/<attack>" or "model <id>": created before its bound
    undated: tuple[str, ...]  # no readable creation time
    amended_after: tuple[str, ...] = ()  # model cards made between the registration and the last amendment

    @property
    def ok(self) -> bool:
        return not self.early and not self.undated

    def line(self) -> str:
        head = (f"registered plan: `{self.plan.path}` at commit {self.plan.commit[:12]} ({self.plan.committed}, "
                f"sha256 {self.plan.sha256[:12]}"
                + (f"; registered {self.plan.registered}" if self.plan.registered not in ("", self.plan.committed)
                   else "") + ")")
        if self.ok:
            line = (f"{head}; every one of the {self.records} records was created after it, and every one of the "
                    f"{self.models} model cards after the plan's registration")
            if self.amended_after:
                line += (f" ({len(self.amended_after)} trained before its last amendment, with the config the "
                         f"plan still gives them: {', '.join(x.removeprefix('model ') for x in self.amended_after)})")
            return line
        bad = [*(f"{x} (created before the plan)" for x in self.early), *(f"{x} (no time)" for x in self.undated)]
        return (f"{head}; ⚠ {len(bad)} of {self.records + self.models} records and cards do not follow it: "
                f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}")


def check_after_plan(plan: PlanCommit, records: Iterable[dict], models: Iterable[dict]) -> PlanCheck:
    """Every record (its `env.created`) against the plan's last commit, every model card (`created`) against
    its registration."""
    start = _when(plan.committed)
    registered = _when(plan.registered) if plan.registered else start
    for text, when in ((plan.committed, start), (plan.registered or plan.committed, registered)):
        if when is None:
            raise ExperimentError(f"run.json: the plan's commit time {text!r} is not an ISO 8601 time")
    early: list[str] = []
    undated: list[str] = []
    amended_after: list[str] = []
    n_records = n_models = 0
    for r in records:
        n_records += 1
        name = f"record {r.get('model', {}).get('name')}/{r.get('cell', {}).get('lang')}/" \
               f"{r.get('cell', {}).get('attack')}"
        t = _when((r.get("env") or {}).get("created"))
        (undated if t is None else early if t < start else []).append(name)
    for m in models:
        n_models += 1
        t = _when(m.get("created"))
        (undated if t is None else early if t < registered else amended_after if t < start else []).append(
            f"model {m.get('id')}")
    return PlanCheck(plan, n_records, n_models, tuple(early), tuple(undated), tuple(amended_after))
