"""The research experiment: do English-only, multilingual-only or mixed intermediate tasks make TyDi QA
transfer more robust?

The grid (`benchmarks/experiment.toml`): mix {en, multi, mixed} x intermediate task {qa, nli (XNLI),
paraphrase (PAWS-X), all three}, plus one baseline without an intermediate phase (target fine-tuning
only; it does not depend on the mix, so it is trained once per seed): 13 models per seed. Every model
then gets the same target fine-tuning on English TyDi QA GoldP train (`xadv.train`) and is evaluated on
the same TyDi GoldP dev questions in all 9 languages, clean and under the budget's attack cells
(`xadv.runs.run_suite`: keyboard typos and character noise on the question, code-mixing, keyboard
typos in the context, distractor sentences; more under `full`). One `xadv.attack-record/2` record per
model x language x attack cell.

Not zero-shot: the `qa` intermediate data of the `multi` and `mixed` mixes includes TyDi QA train ko/sw,
so ko and sw are NOT zero-shot for those models (and en never is: it is the target language). The
model cards record the seen languages, every record carries the zero-shot flag per language, and the
table marks seen cells with * and compares models on the languages zero-shot for both as well.

    xadv experiment plan --budget small                # the grid, seen languages, what is done
    xadv experiment run --budget small                 # the whole grid on 2 CPU cores
    xadv experiment run --budget full                  # a GPU: gpu preset, full dev, 3 seeds
    xadv experiment render --results benchmarks/results/experiment/small
    python benchmarks/experiment.py --budget small     # the same, through the script (`run` implied)
    # your own encoder, on a GPU cluster (training runs in every process, evaluation in process 0):
    accelerate launch benchmarks/experiment.py --budget full --base xlm-roberta-large

Modules: `spec` (the TOML: settings, budgets, the grid, each cell's training config), `runner` (train and
evaluate with resume; `plan`), `analysis` (groups, paired comparisons), `report` (results.md; `render`),
`plots`, `store` (records.json.gz, models.json, run.json), `machine` (device, threads, timings), `parts`
(each invocation of a resumed run), `registration` (the plan's commit), `pilot` (v2's pilot rules).

The config file: the package has no default of its own. `read_settings` / `RunOptions.config` take a path,
and the command line (`xadv.commands.experiment`) passes the repository's `benchmarks/experiment.toml`
unless `--config` names another; the default directories (`runs/experiment/<budget>/`,
`benchmarks/results/experiment/<budget>/`) are likewise relative to the `root` the caller passes.

Cost of `--budget small` (this 2-core Xeon with AMX bf16, torch 2.13 CPU; `run.json` of a real run holds
the exact figures per cell). One grid cell is 80 intermediate steps + 90 target steps of 16 windows of at
most 256 tokens, then 30 questions x 9 languages clean and under 5 attack cells. On the idle machine with
2 torch threads a TyDi target step takes about 2.7 s and an intermediate step 0.7-2 s (XNLI / PAWS-X pairs
are short), so a cell is about 6 minutes of training plus its evaluation, and the 13-model grid about
1.5 hours (87.6 min in the committed run). On a machine other jobs keep busy, two torch threads are much
slower than one (7.8 s instead of 2.8 s per target step measured here): run with XADV_NUM_THREADS=1 then.
The thread count changes the trained weights slightly (bf16 reductions), so it is recorded in run.json.
Budget `full` is for a GPU (3 x 13 models of the gpu preset, all 5,077 dev questions, 10 attack cells).

Resume: running the same command again skips every model in the run's ledger (`<outputs>/ledger/<cell>.json.gz`:
card, config digest, time and records, written when the model's evaluation ends; commit it after each part,
since it is what survives a lost machine), then every model whose directory holds a finished run (its model card)
and every attack cell already in the results store (by cell key); an interrupted training continues from its
last save. One process trains and evaluates each model in turn; several train all, then process 0 evaluates.
Under a registered plan the models of the registered contrasts run first (`runner.run_order`).
Models go to `runs/experiment/<budget>/<cell>/` (git-ignored), records to `runs/experiment/<budget>/records/`;
the outputs to keep go to `benchmarks/results/experiment/<budget>/`: `records.json.gz` (every record of the
grid: gunzipped, an `xadv attack --out` run file that `xadv leaderboard --results` reads), `models.json` (the
cards' essentials), `run.json` (command, machine, device, wall time, versions, the reading), `results.md` and
`plots/`. `render` rebuilds the last two from the first three alone.

A registered design (`plan = "<file>"` in the TOML, as `benchmarks/experiment-v2.toml` has): the run refuses a
plan file that is uncommitted or edited, run.json records its commit, and the rendered results check that every
record and model card was created after it (`registration`). Every invocation is a part of the run
(`ledger/parts.json`, `parts` in run.json). `stand_ins = true` (v2's amendment 5): a training whose
target loss does not fall is kept and reported, and the same arm with seed + 10 stands in for it in the
registered analysis (`pilot.diverged`).
"""

from xadv.experiments.analysis import analyse
from xadv.experiments.report import render, to_markdown
from xadv.experiments.runner import RunOptions, plan, resolve_paths, run
from xadv.experiments.spec import (
                                   AttackCell,
                                   Budget,
                                   ExperimentError,
                                   GridCell,
                                   Settings,
                                   expand_grid,
                                   get_budget,
                                   parse_cell_id,
                                   read_settings,
                                   seen_qa_languages,
                                   train_config,
)
from xadv.experiments.store import (
                                   MODELS_FILE,
                                   PLOTS_DIR,
                                   RECORDS_FILE,
                                   RUN_FILE,
                                   TABLE_FILE,
                                   load_record_entries,
                                   write_records,
)

__all__ = ["MODELS_FILE", "PLOTS_DIR", "RECORDS_FILE", "RUN_FILE", "TABLE_FILE", "AttackCell", "Budget",
           "ExperimentError", "GridCell", "RunOptions", "Settings", "analyse", "expand_grid", "get_budget",
           "load_record_entries", "parse_cell_id", "plan", "read_settings", "render", "resolve_paths", "run",
           "seen_qa_languages", "to_markdown", "train_config", "write_records"]
