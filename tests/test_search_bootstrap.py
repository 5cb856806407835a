"""TextAttack starts offline through xadv's own start-up, in a fresh HOME, without touching other caches;
`import attacks` and `import attacks.search` never load it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, os, sys
import attacks, attacks.search
from attacks.search import parse_goal, run_search  # the public entry points stay light
light = "textattack" not in sys.modules
from attacks.search.bootstrap import ensure_textattack, nltk_dir, textattack_cache_dir
ta = ensure_textattack()
again = ensure_textattack() is ta
from attacks.search.qatext import QAText  # a module that subclasses TextAttack classes
print(json.dumps({
    "light": light, "again": again, "has_attack": hasattr(ta, "Attack"),
    "marker": (textattack_cache_dir() / "post_install_check_3").is_file(),
    "ta_cache": str(textattack_cache_dir()), "nltk_dir": str(nltk_dir()),
    "env": {k: os.environ.get(k) for k in ("HF_HOME", "TA_CACHE_DIR", "XDG_CACHE_HOME", "TOKENIZERS_PARALLELISM")},
}))
"""


def _fresh_env(tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TA_CACHE_DIR", "NLTK_DATA", "HF_HOME", "TOKENIZERS_PARALLELISM")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"),
               XADV_CACHE_DIR=str(tmp_path / "xadv-cache"), PYTHONPATH=str(REPO))
    return env


def test_textattack_starts_offline_in_a_fresh_home(tmp_path):
    env = _fresh_env(tmp_path)
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["light"], "importing attacks / attacks.search must not load TextAttack"
    assert out["again"] and out["has_attack"] and out["marker"]
    assert out["ta_cache"] == str(tmp_path / "home" / ".cache" / "textattack")
    # no download was attempted (NLTK prints "[nltk_data] Error loading ..." for each failed one)
    assert "nltk_data" not in proc.stderr and "Error loading" not in proc.stderr, proc.stderr[-2000:]
    # the stopword list xadv wrote lives in xadv's cache, and no other cache variable was set
    assert (Path(out["nltk_dir"]) / "corpora" / "stopwords" / "english").is_file()
    assert Path(out["nltk_dir"]).is_relative_to(tmp_path / "xadv-cache")
    assert out["env"] == {"HF_HOME": None, "TA_CACHE_DIR": None, "XDG_CACHE_HOME": str(tmp_path / "home" / ".cache"),
                          "TOKENIZERS_PARALLELISM": None}


def test_import_attacks_does_not_load_textattack():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import attacks, attacks.search"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "attacks.search" in imported
    assert not any(m.split(".")[0] in ("textattack", "flair", "nltk", "torch") for m in imported)
