"""The `xadv` command line: the typer app. Argument parsing, rich output and exit codes only.

Business logic lives in the library (`xadv.*`, `attacks.*`); the commands live in `xadv.commands`, one
module per group, each parsing its options, calling one library function and rendering the result
(a rich table, or JSON with `--json`). Shared option declarations are in `xadv.commands.options`.
Heavy libraries (torch, transformers, textattack) are imported inside commands, never at module
level, so that `xadv --help` starts fast.

Exit codes: 0 ok, 1 a gate failed (e.g. `regress`), 2 bad input (one-line message on stderr).
"""

from __future__ import annotations

from typing import Annotated

import typer

from xadv.commands.attack import attack_command
from xadv.commands.attacks import app as attacks_app
from xadv.commands.attacks import augment_command, perturb_command
from xadv.commands.common import _typer
from xadv.commands.data import app as data_app
from xadv.commands.eval import eval_command
from xadv.commands.experiment import experiment_app
from xadv.commands.leaderboard import leaderboard_command, regress_command, report_command
from xadv.commands.models import app as models_app
from xadv.commands.results import app as results_app
from xadv.commands.score import score_command
from xadv.commands.sweep import sweep_command
from xadv.commands.train import train_command
from xadv.version import __version__

app = _typer(
    "xadv: how robust is a multilingual extractive-QA model, per language, under attack?\n\n"
    "Evaluate clean and adversarial F1/EM on TyDi QA GoldP (ar bn en fi id ko ru sw te), "
    "perturb data with script-correct attacks, and score predictions exactly as the official "
    "SQuAD v1.1 evaluation does."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xadv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """xadv command line."""


# Commands, in the order `xadv --help` lists them; then the groups.
app.command("perturb")(perturb_command)
app.command("augment")(augment_command)
app.command("attack")(attack_command)
app.command("sweep")(sweep_command)
app.command("leaderboard")(leaderboard_command)
app.command("regress")(regress_command)
app.command("report")(report_command)
app.command("score")(score_command)
app.command("eval")(eval_command)
app.command("train")(train_command)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(attacks_app, name="attacks")
app.add_typer(results_app, name="results")
app.add_typer(experiment_app, name="experiment", help="The research experiment: en / multi / mixed intermediate tasks.")


def main() -> None:  # pragma: no cover - thin console-script shim
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
