"""Nothing in xadv depends on Python's hash order: every attack, on every target it edits, gives byte-identical
output in processes with different PYTHONHASHSEED (a set iterated in hash order once made the distractor pick
different month names per process, and `xadv regress` failed an unchanged model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hashseed import outputs_per_hash_seed

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, json, sys
from attacks import list_attacks
from attacks.registry import get_attack
from xadv.data import load_qa
from xadv.errors import XadvError

data_dir, n = sys.argv[1], int(sys.argv[2])
rows = [r for lang in ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")
        for r in list(load_qa(f"tydiqa:{lang}:dev", data_dir))[:n]]
out = hashlib.sha256()
for attack in list_attacks():
    atk = get_attack(attack.name, data_dir=data_dir) if "data_dir" in attack.describe()["params"] else attack
    for target in atk.targets:
        for seed in (0, 1):
            for r in rows:
                try:
                    p = atk.perturb(dict(r), target, 0.5, seed)
                    blob = [p.example["question"], p.example["context"], p.example["answers"],
                            [e.to_dict() if hasattr(e, "to_dict") else str(e) for e in p.edits]]
                except XadvError as exc:
                    blob = ["refused", str(exc)]
                out.update(json.dumps([attack.name, target, seed, r["id"], blob], ensure_ascii=False,
                                      sort_keys=True, default=str).encode("utf-8"))
print(out.hexdigest())
"""




@pytest.mark.needs_data
@pytest.mark.slow
def test_every_attack_is_byte_identical_across_hash_seeds(data_dir):
    digests = outputs_per_hash_seed(SCRIPT, [str(data_dir), "12"], ("0", "12345"), cwd=REPO, timeout=600)
    assert len(set(digests.values())) == 1, digests
