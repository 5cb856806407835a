#!/usr/bin/env bash
# The main job, on the embedded default model (me5-small + the QA adapter shipped with xadv):
# check the data, import the offline encoder, then attack the model on Swahili TyDi QA.
set -euo pipefail
cd "$(dirname "$0")/.."
X=${XADV:-.venv/bin/xadv}
"$X" data verify
"$X" models import me5-small
"$X" attack --lang sw --n 100 --attack typo,codemix,distractor --results xadv-results/main
