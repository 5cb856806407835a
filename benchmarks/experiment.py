"""The research experiment, as a script: forwards to `xadv experiment` (code in `xadv/experiments/`,
command line in `xadv/commands/experiment.py`). `run` is implied when no command is given.

    python benchmarks/experiment.py --budget small             # the whole grid on 2 CPU cores (= xadv experiment run)
    python benchmarks/experiment.py --budget small --dry-run   # the grid and what is done (= xadv experiment plan)
    python benchmarks/experiment.py render --results benchmarks/results/experiment/small
    accelerate launch benchmarks/experiment.py --budget full --base xlm-roberta-large   # a GPU cluster

run.json records the command as `python benchmarks/experiment.py ARGS`.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from xadv.commands.experiment import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/experiment.py"))
