"""The command-line layer: typer command groups behind `cli.app` (parsing, rich output, exit codes only).

`cli.py` builds the typer app and registers the commands defined here, one module per group:
`data`, `attacks` (attacks list, perturb), `attack`, `leaderboard` (leaderboard, regress, report),
`score`, `models`, `eval`, `train`. Shared option declarations live in `options`, shared rendering
and error handling in `common`.

Nothing in `xadv` outside this package imports it: the library never depends on its command line.
Heavy libraries (torch, transformers, textattack) are imported inside command bodies, so that
`xadv --help` starts fast.
"""
